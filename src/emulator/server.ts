import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { CONTROL_PREFIX, registerCloudRoutes } from './cloud-routes.js'
import { controlRoutes } from './control-routes.js'
import { createFaultRegistry, type FaultRegistry } from './faults.js'
import type { Role } from '../cloud/roles.js'
import { createRateLimiter, type RateLimit } from './rate-limit.js'
import { createRequestLog, type RequestLog } from './request-log.js'
import { DEFAULT_API_KEY } from './seed.js'
import { createEmulatorState, type EmulatorState, type StateOptions } from './state.js'

// The Cloud API emulator as an HTTP server: the API under /api/v1, the
// control API under /_emulator.

/** An API key and the roles of its service account. */
export interface ApiKeySpec {
  key: string
  roles: Role[]
}

export interface EmulatorOptions extends StateOptions {
  /**
   * A key holding CLUSTER_ADMIN, which may call every operation the emulator
   * serves (default DEFAULT_API_KEY).
   */
  apiKey?: string
  /** More keys with the roles they hold; one naming apiKey gives it these roles instead. */
  apiKeys?: ApiKeySpec[]
  /**
   * Default 10 requests per second per key, as the real API, on real time;
   * false turns it off. See rate-limit.ts.
   */
  rateLimit?: RateLimit | false
  /** Silent unless given. */
  logger?: FastifyBaseLogger
}

export interface StartEmulatorOptions extends EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
}

export interface Emulator {
  app: FastifyInstance
  state: EmulatorState
  faults: FaultRegistry
  requests: RequestLog
}

export interface RunningEmulator {
  /** Base URL, without /api/v1. */
  url: string
  port: number
  state: EmulatorState
  faults: FaultRegistry
  requests: RequestLog
  close(): Promise<void>
}

export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const state = createEmulatorState(options)
  const faults = createFaultRegistry(state.now)
  const requests = createRequestLog()
  const limiter = options.rateLimit === false ? null : createRateLimiter(options.rateLimit ?? { perSecond: 10 })
  const closing = new AbortController()

  const app = Fastify({
    loggerInstance: options.logger,
    // A hanging fault keeps its connection open; closing must not wait for it.
    forceCloseConnections: true,
    exposeHeadRoutes: false
  })
  // Bodies are kept as text: each route decides whether it needs JSON, and a
  // bad body becomes the API's own error instead of the framework's.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  app.addHook('onClose', async () => closing.abort())
  const seededKeys = apiKeys(options)
  const keys = new Map(seededKeys)

  registerCloudRoutes(app, {
    state,
    faults,
    requests,
    limiter,
    keys,
    closing: closing.signal
  })
  app.register(controlRoutes, {
    prefix: CONTROL_PREFIX,
    state,
    faults,
    requests,
    keys,
    reset() {
      keys.clear()
      for (const [key, held] of seededKeys) keys.set(key, held)
      state.reset()
      faults.clear()
      requests.clear()
      limiter?.reset()
    }
  })
  return { app, state, faults, requests }
}

/**
 * Every key the API accepts, with its roles: apiKey (or the default) holding
 * CLUSTER_ADMIN, then apiKeys, which may also give that key other roles.
 */
function apiKeys(options: EmulatorOptions): Map<string, readonly Role[]> {
  const keys = new Map<string, readonly Role[]>([[options.apiKey ?? DEFAULT_API_KEY, ['CLUSTER_ADMIN']]])
  const seen = new Set<string>()
  for (const { key, roles } of options.apiKeys ?? []) {
    if (seen.has(key)) throw new Error('each API key may be given once in apiKeys')
    seen.add(key)
    keys.set(key, [...roles])
  }
  if (keys.has('')) throw new Error('an API key must not be empty')
  return keys
}

/** The URL of a server listening on host:port; an IPv6 address goes in brackets. */
export function baseUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const { app, state, faults, requests } = createEmulator(options)
  const host = options.host ?? '127.0.0.1'
  await app.listen({ host, port: options.port ?? 0 })
  const { port } = app.server.address() as AddressInfo
  return {
    url: baseUrl(host, port),
    port,
    state,
    faults,
    requests,
    async close() {
      await app.close()
    }
  }
}
