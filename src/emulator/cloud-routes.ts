import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import {
  API_VERSION,
  CreateStreamRequest,
  RegionalDisruptorSpecification,
  UpdateStreamSpec
} from '../cloud/schemas.js'
import { mayCall, operationAccess, type Role } from '../cloud/roles.js'
import { ApiError, errorBody, errorInfo, grpcCodeFor, grpcCodes, invalidArgument, statusBody, toApiError } from './cloud-error.js'
import type { CloudOperation, Fault, FaultRegistry } from './faults.js'
import { jsonValue, parseWith, protoNames, readJson, type JsonBody } from './json-body.js'
import { faultyStreamListing } from './listing-faults.js'
import { parsePageRequest, queryParam } from './pagination.js'
import type { RateLimiter } from './rate-limit.js'
import type { LoggedRequest, RequestLog } from './request-log.js'
import type { EmulatorState } from './state.js'
import { iso } from './proto-time.js'

// The Cloud API routes, and the path every request takes through them:
// request log, injected fault, authentication, rate limit, version, roles,
// handler.

export const API_PREFIX = '/api/v1'
export const CONTROL_PREFIX = '/_emulator'

export interface ApiDependencies {
  state: EmulatorState
  faults: FaultRegistry
  requests: RequestLog
  limiter: RateLimiter | null
  /** Every key the API accepts, and the roles of each. */
  keys: ReadonlyMap<string, readonly Role[]>
  /** Aborted when the emulator closes, to end injected latencies. */
  closing: AbortSignal
}

interface Input {
  params: Record<'cluster_id' | 'id', string>
  query: Record<string, unknown>
  body(): unknown
  /** The fault taken for this request, which a listing fault reshapes the answer by. */
  fault: Fault | undefined
}

interface Route {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH'
  url: string
  operation: CloudOperation
  serve(input: Input): unknown
}

interface Answer {
  status: number
  headers: Record<string, string>
  body: unknown
}

/** What a `malformed` fault answers: JSON that stops halfway. */
export const MALFORMED_BODY = '{"id": "5eed0000-0000-4000-8000-0000000'

const DisruptionBody = z
  .object({ regional_disruptor_specifications: z.array(RegionalDisruptorSpecification).optional() })
  .optional()
const operatingSystems = ['MAC', 'LINUX', 'WINDOWS']

function booleanParam(query: Record<string, unknown>, name: string): boolean {
  const value = queryParam(query, name) ?? 'false'
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw invalidArgument(`${name} must be true or false, got ${JSON.stringify(value)}`)
}

function routes(state: EmulatorState): Route[] {
  return [
    {
      method: 'GET',
      url: '/clusters/:cluster_id',
      operation: 'getCluster',
      serve: ({ params }) => state.getCluster(params.cluster_id)
    },
    {
      method: 'GET',
      url: '/clusters/:cluster_id/nodes',
      operation: 'listNodes',
      serve: ({ params, query }) =>
        state.listNodes(params.cluster_id, queryParam(query, 'region_name'), parsePageRequest(query))
    },
    {
      method: 'GET',
      url: '/clusters/:cluster_id/connection-string',
      operation: 'getConnectionString',
      serve: ({ params, query }) => {
        const os = queryParam(query, 'os')
        if (os !== undefined && !operatingSystems.includes(os)) {
          throw invalidArgument(`os must be one of ${operatingSystems.join(', ')}, got ${JSON.stringify(os)}`)
        }
        const database = queryParam(query, 'database') ?? 'defaultdb'
        return state.connectionString(params.cluster_id, database, queryParam(query, 'sql_user'))
      }
    },
    {
      method: 'GET',
      url: '/clusters/:cluster_id/disrupt',
      operation: 'getDisruption',
      serve: ({ params }) => state.getDisruption(params.cluster_id)
    },
    {
      method: 'PUT',
      url: '/clusters/:cluster_id/disrupt',
      operation: 'putDisruption',
      serve: ({ params, body }) => {
        // No body, or no list, ends every disruption.
        const specs = parseWith(DisruptionBody, body(), 'disruption')?.regional_disruptor_specifications
        return state.putDisruption(params.cluster_id, specs ?? [])
      }
    },
    {
      method: 'GET',
      url: '/physical-replication-streams',
      operation: 'listStreams',
      serve: ({ query, fault }) => {
        const filter = {
          primaryClusterId: queryParam(query, 'primary_cluster_id'),
          standbyClusterId: queryParam(query, 'standby_cluster_id'),
          clusterId: queryParam(query, 'cluster_id'),
          showCompleted: booleanParam(query, 'show_completed')
        }
        const page = parsePageRequest(query)
        if (fault?.kind === 'empty' || fault?.kind === 'truncated') return faultyStreamListing(state, fault.kind, filter, page)
        return state.listStreams(filter, page)
      }
    },
    {
      method: 'POST',
      url: '/physical-replication-streams',
      operation: 'createStream',
      serve: ({ body }) => state.createStream(parseWith(CreateStreamRequest, body(), 'replication stream'))
    },
    {
      method: 'GET',
      url: '/physical-replication-streams/:id',
      operation: 'getStream',
      serve: ({ params }) => state.getStream(params.id)
    },
    {
      method: 'PATCH',
      url: '/physical-replication-streams/:id',
      operation: 'patchStream',
      serve: ({ params, body }) => state.patchStream(params.id, parseWith(UpdateStreamSpec, body(), 'stream update'))
    }
  ]
}

export function registerCloudRoutes(app: FastifyInstance, deps: ApiDependencies): void {
  const { state, faults, requests, limiter, keys, closing } = deps
  // Entries are created when a request arrives, so that requests refused
  // before reaching a handler (unknown path, oversized body) are logged too.
  const logged = new WeakMap<FastifyRequest, LoggedRequest>()
  const note = (request: FastifyRequest, change: Partial<LoggedRequest>) =>
    Object.assign(logged.get(request) ?? {}, change)

  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith(CONTROL_PREFIX)) return
    const config = request.routeOptions.config as { operation?: CloudOperation }
    const entry = requests.add({
      method: request.method,
      path: request.url.replace(/\?.*$/s, ''),
      operation: config.operation ?? null,
      query: { ...(request.query as Record<string, unknown>) },
      body: null,
      status: null,
      at: iso(state.now()),
      fault: null,
      from: request.socket.remoteAddress ?? ''
    })
    logged.set(request, entry)
  })
  app.addHook('onSend', async (request, reply) => {
    note(request, { status: reply.statusCode })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(statusBody(grpcCodes.notFound, `no such path: ${request.method} ${request.url}`))
  })
  app.setErrorHandler((error, _request, reply) => {
    const apiError = toApiError(error)
    reply.code(apiError.httpStatus).send(errorBody(apiError))
  })

  function authorize(route: Route, request: FastifyRequest): void {
    const key = /^Bearer (.+)$/s.exec(request.headers.authorization ?? '')?.[1]
    const held = key === undefined ? undefined : keys.get(key)
    if (key === undefined || held === undefined) {
      throw new ApiError(401, grpcCodes.unauthenticated, 'the request does not carry a valid API key')
    }
    const limit = limiter?.take(key) ?? { ok: true }
    if (!limit.ok) {
      const wait = String(limit.retryAfterSeconds)
      const code = limit.status === 503 ? grpcCodes.unavailable : grpcCodes.resourceExhausted
      throw new ApiError(limit.status, code, `rate limit exceeded; retry in ${wait} s`, {
        headers: { 'retry-after': wait },
        details: [errorInfo('RATE_LIMIT_EXCEEDED', { retry_after_seconds: wait })]
      })
    }
    const version = request.headers['cc-version']
    if (version !== undefined && version !== API_VERSION) {
      throw invalidArgument(`Cc-Version ${JSON.stringify(version)} is not supported; use ${API_VERSION}`)
    }
    if (!mayCall(route.operation, held)) {
      const { operationId, roles } = operationAccess[route.operation]
      throw new ApiError(
        403,
        grpcCodes.permissionDenied,
        `permission denied: ${operationId} needs one of the roles ${roles.join(', ')}; the API key has ${held.join(', ') || 'none'}`,
        { details: [errorInfo('PERMISSION_DENIED', { operation: operationId, required_roles: roles.join(',') })] }
      )
    }
  }

  function answer(route: Route, request: FastifyRequest, body: JsonBody, fault: Fault | undefined): Answer {
    try {
      authorize(route, request)
      const input: Input = {
        params: request.params as Input['params'],
        query: request.query as Record<string, unknown>,
        body: () => protoNames(jsonValue(body)),
        fault
      }
      return { status: 200, headers: {}, body: route.serve(input) }
    } catch (error) {
      const apiError = toApiError(error)
      return { status: apiError.httpStatus, headers: apiError.headers, body: errorBody(apiError) }
    }
  }

  /** Applies a fault; true when it took the place of the answer. */
  async function inject(fault: Fault, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    switch (fault.kind) {
      case 'latency':
        await sleep(fault.latency_ms, undefined, { signal: closing }).catch(() => undefined)
        return false
      case 'status': {
        const status = fault.status ?? 503
        const retryAfter = fault.retry_after_seconds
        reply
          .code(status)
          .headers(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) })
          .send(statusBody(fault.code ?? grpcCodeFor(status), fault.message ?? `injected fault: HTTP ${status}`))
        return true
      }
      case 'malformed':
        reply.code(200).type('application/json').send(MALFORMED_BODY)
        return true
      case 'hang':
        // Never answered; the connection stays open until either side gives up.
        reply.hijack()
        return true
      case 'reset':
        reply.hijack()
        request.raw.socket.destroy()
        return true
      case 'empty':
      case 'truncated':
        // The route serves the listing they reshape.
        return false
    }
  }

  for (const route of routes(state)) {
    app.route({
      method: route.method,
      url: API_PREFIX + route.url,
      config: { operation: route.operation },
      handler: async (request, reply) => {
        const raw = request.body as string | undefined
        const body = readJson(raw)
        const fault = faults.take(route.operation)
        note(request, { body: body.ok ? (body.value ?? null) : raw, fault: fault?.id ?? null })
        const after = fault !== undefined && 'after' in fault && fault.after === true
        if (fault !== undefined && !after && (await inject(fault, request, reply))) return reply
        const result = answer(route, request, body, fault)
        if (fault !== undefined && after && (await inject(fault, request, reply))) return reply
        return reply.code(result.status).headers(result.headers).send(result.body)
      }
    })
  }
}
