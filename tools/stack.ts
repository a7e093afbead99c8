import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { request } from 'undici'
import app, { serverOptionsFor, type AppOptions } from '../src/app.js'
import { parseConfig, type Config } from '../src/config/index.js'
import type { EngineEvent } from '../src/engine/events.js'
import { createLogger, secretsOf } from '../src/logger.js'
import { DEFAULT_API_KEY, DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID, DEFAULT_STREAM_ID } from '../src/emulator/seed.js'
import type { LoggedRequest } from '../src/emulator/request-log.js'
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../src/emulator/server.js'

// The service and the Cloud API emulator, both on real sockets, on a timeline
// scaled down to fractions of a second.

export const PRIMARY = DEFAULT_PRIMARY_ID
export const STANDBY = DEFAULT_STANDBY_ID
export const STREAM = DEFAULT_STREAM_ID
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789'

export interface Teardown {
  teardown(fn: () => unknown): void
}

export const fastEnv = {
  HEALTH_CHECK_INTERVAL: '0.05',
  HEALTH_CHECK_TIMEOUT: '1',
  FAILURE_THRESHOLD: '3',
  FAILOVER_DELAY: '0.1',
  // The emulator's limit below, scaled with the timeline (20 times faster than the API's).
  CLOUD_API_RATE_LIMIT: '160',
  ADMIN_TOKEN,
  LOG_LEVEL: 'debug'
}

export async function startFakeCloud(t: Teardown, options: StartEmulatorOptions = {}): Promise<Cloud> {
  const emulator = await startEmulator({
    // The real limit is 10 requests a second per key; this timeline runs about 20 times
    // faster (checks every 0.05 s instead of 1 s), so the budget is scaled by the same factor.
    rateLimit: { perSecond: 200 },
    ...options,
    timings: {
      failoverSeconds: 0.3,
      lagSeconds: 2,
      disruptionApplySeconds: 0,
      // Scaled down like the rest, not switched off: a scan, 0.1 s steps, a catch-up after outages.
      initialScanSeconds: 0.3,
      replicationStepSeconds: 0.1,
      catchUpRate: 20,
      ...options.timings
    }
  })
  t.teardown(() => emulator.close())
  return cloudControl(emulator)
}

/** The environment of a service against this emulator, on the short timeline. */
export function serviceEnv(cloud: Cloud, env: Record<string, string> = {}): Record<string, string> {
  return {
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    COCKROACH_API_URL: cloud.url,
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    PORT: '0',
    HOST: '127.0.0.1',
    ...fastEnv,
    ...env
  }
}

export function configFor(cloud: Cloud, env: Record<string, string> = {}): Config {
  return parseConfig(serviceEnv(cloud, env)).config
}

export interface Service {
  fastify: FastifyInstance
  url: string
  config: Config
  lines: string[]
  events(): EngineEvent[]
  waitForEvent(type: string, predicate?: (e: EngineEvent) => boolean, timeoutMs?: number): Promise<EngineEvent>
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: any }>
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: any }>
  close(): Promise<void>
}

export async function startService(
  t: Teardown,
  cloud: Cloud,
  env: Record<string, string> = {},
  overrides: Omit<AppOptions, 'config'> = {}
): Promise<Service> {
  const config = configFor(cloud, env)
  const lines: string[] = []
  const logger = createLogger({ level: config.server.logLevel, secrets: secretsOf(config) }, { write: (l: string) => lines.push(l) })
  const fastify = Fastify({ ...serverOptionsFor(config), loggerInstance: logger as FastifyBaseLogger })
  await fastify.register(app, { config, ...overrides })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const address = fastify.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await fastify.close()
  }
  t.teardown(close)
  const call = async (method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string>) => {
    const res = await request(`${url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.body.text()
    const type = String(res.headers['content-type'] ?? '')
    return { status: res.statusCode, headers: res.headers, body: type.includes('json') ? JSON.parse(text) : text }
  }
  return {
    fastify,
    url,
    config,
    lines,
    events: () => fastify.engine.events(500),
    waitForEvent(type, predicate = () => true, timeoutMs = 10_000) {
      const found = fastify.engine.events(500).find((e) => e.type === type && predicate(e))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off()
          reject(new Error(`no ${type} event within ${timeoutMs} ms; saw ${fastify.engine.events(500).map((e) => e.type).reverse().join(', ')}`))
        }, timeoutMs)
        const off = fastify.engine.onEvent((e) => {
          if (e.type !== type || !predicate(e)) return
          clearTimeout(timer)
          off()
          resolve(e)
        })
      })
    },
    get: (path, headers = {}) => call('GET', path, undefined, headers),
    post: (path, body, headers = {}) => call('POST', path, body, headers),
    close
  }
}

export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

export interface Cloud {
  url: string
  emulator: RunningEmulator
  control(method: string, path: string, body?: unknown): Promise<any>
  // Every node of the cluster NOT_READY (or LIVE again), or only those named.
  setNodes(clusterId: string, status: 'LIVE' | 'NOT_READY', names?: string[]): Promise<void>
  patches(): Promise<number>
  requests(): Promise<LoggedRequest[]>
}

function cloudControl(emulator: RunningEmulator): Cloud {
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${emulator.url}/_emulator${path}`, {
      method: method as 'GET',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.body.text()
    if (res.statusCode >= 400) throw new Error(`control ${method} ${path}: ${res.statusCode} ${text}`)
    return text === '' ? undefined : JSON.parse(text)
  }
  const requests = async () => (await control('GET', '/requests')).requests
  return {
    url: emulator.url,
    emulator,
    control,
    async setNodes(clusterId, status, names) {
      await control('PUT', `/clusters/${clusterId}/nodes`, names === undefined ? { status } : { status, names })
    },
    requests,
    async patches() {
      return (await requests()).filter((r: { method: string }) => r.method === 'PATCH').length
    }
  }
}
