import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { roles, type Role } from '../cloud/roles.js'
import { ClusterState, NodeStatus } from '../cloud/schemas.js'
import { toApiError } from './cloud-error.js'
import { clusterOperationStatuses } from './clusters.js'
import { FaultSpec, type FaultRegistry } from './faults.js'
import { jsonValue, parseWith, readJson } from './json-body.js'
import type { RequestLog } from './request-log.js'
import type { EmulatorState } from './state.js'

// The control API (under /_emulator): lets tests and demos look inside the
// emulator and steer it. No authentication, no rate limit, not logged.

export interface ControlDependencies {
  state: EmulatorState
  faults: FaultRegistry
  requests: RequestLog
  /** The keys the API accepts now, with their roles: keys are created and revoked as in the console. */
  keys: Map<string, readonly Role[]>
  /** Back to the seed, without faults, logged requests or rate-limit history. */
  reset(): void
}

const NodesChange = z.strictObject({
  status: NodeStatus,
  names: z.array(z.string()).min(1).optional()
})

const ClusterChange = z
  .strictObject({
    state: ClusterState.optional(),
    operation_status: z.enum(clusterOperationStatuses).optional()
  })
  .refine((change) => change.state !== undefined || change.operation_status !== undefined, {
    message: 'give state, operation_status or both'
  })

const FailingPods = z.strictObject({ names: z.array(z.string()) })

const ClockChange = z.strictObject({ advance_seconds: z.number().positive() })

const NewKey = z.strictObject({ key: z.string().min(1), roles: z.array(z.enum(roles)).min(1).default(['CLUSTER_ADMIN']) })
const RevokedKey = z.strictObject({ key: z.string().min(1) })

function body<T>(schema: z.ZodType<T>, request: FastifyRequest, what: string): T {
  return parseWith(schema, jsonValue(readJson(request.body as string | undefined)), what)
}

export async function controlRoutes(app: FastifyInstance, deps: ControlDependencies): Promise<void> {
  const { state, faults, requests } = deps

  app.setErrorHandler((error, _request, reply) => {
    const apiError = toApiError(error)
    reply.code(apiError.httpStatus).send({ error: apiError.message })
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `no control route ${request.method} ${request.url}` })
  })

  app.get('/state', async () => ({ ...state.snapshot(), faults: faults.list() }))

  app.post('/reset', async (_request, reply) => {
    deps.reset()
    return reply.code(204).send()
  })

  app.put<{ Params: { id: string } }>('/clusters/:id/nodes', async (request) => {
    const change = body(NodesChange, request, 'node change')
    state.setNodeStatus(request.params.id, change.status, change.names)
    return state.describeCluster(request.params.id)
  })

  // A disruption that needs to move one of these pods leaves it as it is and
  // ends CRDB_CLUSTER_DISRUPTION_FAILED; an empty list makes every pod movable.
  app.put<{ Params: { id: string } }>('/clusters/:id/failing-pods', async (request) => {
    state.setFailingPods(request.params.id, body(FailingPods, request, 'failing pods').names)
    return state.describeCluster(request.params.id)
  })

  app.patch<{ Params: { id: string } }>('/clusters/:id', async (request) => {
    const change = body(ClusterChange, request, 'cluster change')
    state.patchCluster(request.params.id, change)
    return state.describeCluster(request.params.id)
  })

  app.post('/clock', async (request) => {
    return state.advanceClock(body(ClockChange, request, 'clock change').advance_seconds)
  })

  app.post('/faults', async (request, reply) => {
    const fault = faults.add(body(FaultSpec, request, 'fault'))
    return reply.code(201).send({ id: fault.id })
  })

  app.delete('/faults', async (_request, reply) => {
    faults.clear()
    return reply.code(204).send()
  })

  // A key rotated: the new one is created, then the old one revoked (both under /keys).
  app.post('/keys', async (request, reply) => {
    const { key, roles: held } = body(NewKey, request, 'API key')
    deps.keys.set(key, held)
    return reply.code(204).send()
  })

  app.post('/keys/revoke', async (request, reply) => {
    const { key } = body(RevokedKey, request, 'API key')
    if (!deps.keys.delete(key)) return reply.code(404).send({ error: 'no such API key' })
    return reply.code(204).send()
  })

  app.get('/requests', async () => ({ requests: requests.list() }))

  app.delete('/requests', async (_request, reply) => {
    requests.clear()
    return reply.code(204).send()
  })
}
