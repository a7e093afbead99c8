import pg from 'pg'
import type { StartEmulatorOptions } from '../src/emulator/server.js'
import { startHaproxy, type Haproxy } from './haproxy.js'
import { ENDPOINT_PORT_QUERY, startGatedPostgres, type GatedPostgres } from './sql-gate.js'
import { PRIMARY, STANDBY, startFakeCloud, startService, type Cloud, type Service, type Teardown } from './stack.js'
import { waitFor, type Truthy } from './wait-for.js'

// The whole traffic path on real programs: two PostgreSQL servers standing for
// the clusters' SQL endpoints (each gated by the emulator: it serves while its
// cluster does, so the standby's refuses while its stream replicates), the
// emulator and the service deciding which one is active, and HAProxy in front
// asking the service.

export interface ProxiedPair {
  primary: GatedPostgres
  standby: GatedPostgres
  cloud: Cloud
  svc: Service
  proxy: Haproxy
  /** waitFor, 60 s unless told; on timeout the error carries the sidecar's phase and HAProxy's output. */
  until<T>(what: string, attempt: () => Promise<T>, timeoutMs?: number): Promise<Truthy<T>>
}

// Short checks so a test sees a switch within a second; the committed defaults are for production.
const testChecks = {
  HAPROXY_CHECK_INTER: '100ms',
  HAPROXY_CHECK_FALL: '3',
  HAPROXY_CHECK_RISE: '2',
  HAPROXY_CHECK_TIMEOUT: '2s'
}

export interface ProxiedPairEnv {
  /** Added to the service's environment. */
  service?: Record<string, string>
  /** Replaces the tests' short HAProxy timings, key by key. */
  haproxy?: Record<string, string>
}

export async function startProxiedPair(t: Teardown, cloudOptions: StartEmulatorOptions = {}, env: ProxiedPairEnv = {}): Promise<ProxiedPair> {
  // The emulator is started next; until then no endpoint serves.
  const serving = { cloud: undefined as Cloud | undefined }
  const serves = (id: string) => () => serving.cloud?.emulator.state.isSqlAvailable(id) ?? false
  const [primary, standby] = await Promise.all([startGatedPostgres(serves(PRIMARY)), startGatedPostgres(serves(STANDBY))])
  t.teardown(() => Promise.all([primary.destroy(), standby.destroy()]))
  const cloud = await startFakeCloud(t, cloudOptions)
  serving.cloud = cloud
  const svc = await startService(t, cloud, {
    PRIMARY_SQL_DNS: `127.0.0.1:${primary.port}`,
    STANDBY_SQL_DNS: `127.0.0.1:${standby.port}`,
    ...env.service
  })
  const proxy = await startHaproxy(t, {
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    PRIMARY_SQL_ADDR: `127.0.0.1:${primary.port}`,
    STANDBY_SQL_ADDR: `127.0.0.1:${standby.port}`,
    SIDECAR_ADDR: '127.0.0.1',
    SIDECAR_PORT: new URL(svc.url).port,
    ...testChecks,
    ...env.haproxy
  })
  return {
    primary,
    standby,
    cloud,
    svc,
    proxy,
    async until(what, attempt, timeoutMs = 60_000) {
      try {
        return await waitFor(what, attempt, { timeoutMs, intervalMs: 50 })
      } catch (err) {
        const phase = svc.fastify.engine.snapshot().phase
        throw new Error(`${(err as Error).message}\nsidecar phase: ${phase}\nHAProxy:\n${proxy.output()}`)
      }
    }
  }
}

export interface ProxiedSession {
  client: pg.Client
  /** The port of the endpoint (gate) this session reached: primary.port or standby.port. */
  port: number
  /** Settles when the session ends, with the error that cut it, if any. */
  ended: Promise<Error | undefined>
}

/** A session through HAProxy; rejects when no server takes it. */
export async function openVia(proxy: Haproxy): Promise<ProxiedSession> {
  const client = new pg.Client({ host: proxy.host, port: proxy.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 })
  let cut: Error | undefined
  // pg reports a session cut after connecting here; without a listener it would throw.
  client.on('error', (err) => {
    cut = err
  })
  const ended = new Promise<Error | undefined>((resolve) => client.once('end', () => resolve(cut)))
  try {
    await client.connect()
    const { rows } = await client.query<{ port: number }>(ENDPOINT_PORT_QUERY)
    return { client, port: rows[0]!.port, ended }
  } catch (err) {
    await client.end()
    throw err
  }
}

/** The port of the endpoint a new connection through HAProxy reaches; rejects when none does. */
export async function landsOn(proxy: Haproxy): Promise<number> {
  const session = await openVia(proxy)
  await session.client.end()
  return session.port
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}
