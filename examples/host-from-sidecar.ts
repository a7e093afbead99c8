// node-postgres with the host and port from the sidecar's GET /active.
//
// Choose this when the database credentials must not leave the application:
// /active needs none and answers only where the active cluster is. The
// credentials stay in the application's own settings (PGUSER/PGPASSWORD, or a
// `password` function that reads a rotating secret).
//
// pg takes the host as a fixed setting of a Pool (there is no per-connection
// host lookup), so the design is one Pool per active cluster: every unit of
// work (a request, a job, a transaction) starts with `await db.pool()`, which
// asks /active and hands back the Pool for the cluster named there, building it
// when the cluster changed and ending the previous one gracefully. The sidecar
// answers from memory next to the application, so that is one local HTTP round
// trip per unit of work; concurrent callers share one request, so the answers
// are applied in order and a unit of work never goes back to a cluster the
// sidecar has already left. No error classification and no timer are needed:
// the next unit of work after a failover goes to the new cluster.
//
// Run it: PCR_SIDECAR_URL=http://127.0.0.1:8080 PGUSER=app PGPASSWORD=... \
//   node --import tsx examples/host-from-sidecar.ts
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { Pool, type PoolConfig } from 'pg'

/** What /active answers. */
export interface Active {
  cluster_id: string
  role: string
  host: string
  port: number
  database: string
  sslmode: string
  phase: string
}

export interface ActivePools {
  /** The Pool for the cluster that is active now; call it at the start of each unit of work. */
  pool(): Promise<Pool>
  /** The last answer of /active; undefined before the first pool(). */
  readonly active: Active | undefined
  /** Ends every pool once its queries are done. */
  end(): Promise<void>
}

/** Waits out a failover (503 + Retry-After) for at most maxWaitMs. */
export async function askActive(sidecarUrl: string, maxWaitMs: number): Promise<Active> {
  const deadline = Date.now() + maxWaitMs
  for (;;) {
    const res = await fetch(new URL('/active', sidecarUrl), { signal: AbortSignal.timeout(10_000) })
    if (res.ok) return (await res.json()) as Active
    const { message } = (await res.json()) as { message: string }
    const waitMs = Math.max(1, Number(res.headers.get('retry-after'))) * 1000
    if (res.status !== 503 || Date.now() + waitMs > deadline) throw new Error(`sidecar answered ${res.status}: ${message}`)
    await sleep(waitMs)
  }
}

/** `config` holds everything but where to connect (user, password, max, timeouts); pool() waits out a failover for at most maxWaitMs. */
export function activePools(sidecarUrl: string, config: PoolConfig = {}, maxWaitMs = 120_000): ActivePools {
  let active: Active | undefined
  let current: Pool | undefined
  let asking: Promise<Pool> | undefined
  const retired: Promise<void>[] = []

  async function ask(): Promise<Pool> {
    const next = await askActive(sidecarUrl, maxWaitMs)
    if (current === undefined || next.cluster_id !== active?.cluster_id || next.host !== active.host || next.port !== active.port) {
      if (current !== undefined) retired.push(current.end())
      current = new Pool({
        ...config,
        host: next.host,
        port: next.port,
        database: next.database,
        // verify-full and verify-ca: Node checks the certificate chain and the host name.
        ssl: next.sslmode === 'disable' ? false : { rejectUnauthorized: next.sslmode !== 'require' }
      })
      // pg drops an idle connection that breaks; the listener only keeps that
      // from crashing the process, and the next pool() asks the sidecar anyway.
      current.on('error', () => {})
    }
    active = next
    return current
  }

  return {
    pool() {
      asking ??= ask().finally(() => {
        asking = undefined
      })
      return asking
    },
    get active() {
      return active
    },
    async end() {
      await Promise.all([current?.end(), ...retired])
    }
  }
}

/** Queries once a second and prints where each query went; resolves to a stop function. */
export async function main(env: NodeJS.ProcessEnv, log: (line: string) => void = console.log): Promise<() => Promise<void>> {
  if (env.PCR_SIDECAR_URL === undefined) throw new Error('set PCR_SIDECAR_URL (and PGUSER, PGPASSWORD as for any pg application)')
  // Explicit rather than pg's own reading of process.env, so that env can be any object.
  const db = activePools(env.PCR_SIDECAR_URL, { user: env.PGUSER, password: env.PGPASSWORD, connectionTimeoutMillis: 5_000 })
  const timer = setInterval(async () => {
    try {
      const pool = await db.pool()
      const { rows } = await pool.query<{ now: Date }>('select now() as now')
      log(`${rows[0]?.now.toISOString()} answered by ${db.active?.cluster_id} (${db.active?.role}) at ${db.active?.host}:${db.active?.port}`)
    } catch (err) {
      log(`query failed: ${(err as Error).message}`)
    }
  }, 1_000)
  return async () => {
    clearInterval(timer)
    await db.end()
  }
}

// Runs only when executed directly, not when imported.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stop = await main(process.env)
  process.once('SIGINT', stop).once('SIGTERM', stop)
}
