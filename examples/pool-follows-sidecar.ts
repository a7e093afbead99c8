// A pg Pool that follows the sidecar's GET /connection.
//
// Choose this when the application may hand its database credentials to the
// sidecar (it runs next to the application) and wants a plain "pool.query()"
// that needs no change in the code that uses it. The sidecar is asked once at
// start, then only when the database says something is wrong with the
// connection (refused, reset, server shutting down: a dead primary) and, if
// you set recheckMs, every so often, which is what moves the pool off an old
// primary that still answers after a planned failover. When the answer names
// another cluster, a new Pool is built and the old one is ended gracefully
// (queries running on it finish there).
//
// A statement whose connection broke while it ran is not retried: it may have
// committed. The error is thrown after the sidecar has been asked again, so the
// next call goes to the active cluster; retry it yourself if it is idempotent.
// A connection that could not be opened sent nothing, so that is retried once
// on the new cluster.
//
// Run it: PCR_SIDECAR_URL=http://127.0.0.1:8080 PGUSER=app PGPASSWORD=... \
//   node --import tsx examples/pool-follows-sidecar.ts
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { Pool, type PoolClient, type PoolConfig, type QueryResult, type QueryResultRow } from 'pg'

/** Where the sidecar sends applications; /connection's answer without the connection string (it holds the password). */
export interface Target {
  cluster_id: string
  role: string
  host: string
  port: number
  database: string
  sslmode: string
}

export interface SidecarPoolOptions {
  sidecarUrl: string
  user: string
  password: string
  /** pg.Pool settings such as max or connectionTimeoutMillis; where to connect comes from the sidecar. */
  pool?: Omit<PoolConfig, 'connectionString' | 'host' | 'port' | 'user' | 'password' | 'database' | 'ssl'>
  /** Ask the sidecar this often too, to leave a cluster that still answers after a planned failover. */
  recheckMs?: number
  /** How long to wait out a failover (503 + Retry-After) before giving up; 2 minutes by default. */
  maxWaitMs?: number
  onChange?: (target: Target, previous: Target | undefined) => void
  /** Asking the sidecar failed outside a first connect; the current pool stays. */
  onError?: (err: Error) => void
}

// Node socket errors, SQLSTATE class 08 (connection exception) and 57P01-57P03
// (the server is shutting down, has crashed or is starting up).
const connectionCodes =
  /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|08[0-9A-Z]{3}|57P0[123])$/

export function isConnectionError(err: unknown): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown }
  // pg reports a socket closed under it, a connect timeout, or a client already
  // broken, without a code.
  return connectionCodes.test(String(code)) || /^(Connection terminated|Client has encountered a connection error)/.test(String(message))
}

// Header values travel as bytes: send UTF-8, as the sidecar reads it.
function header(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1')
}

export class SidecarPool {
  readonly #options: SidecarPoolOptions
  #pool: Pool | undefined
  #target: Target | undefined
  #asking: Promise<void> | undefined
  readonly #retired: Promise<void>[] = []
  readonly #timer: NodeJS.Timeout | undefined
  #ending: Promise<unknown> | undefined
  // A connection that breaks, idle or in use, is a sign the cluster went away.
  // Without a listener its error would crash the process.
  readonly #broken = () => void this.#recheck()

  constructor(options: SidecarPoolOptions) {
    this.#options = options
    if (options.recheckMs !== undefined) {
      // unref: the re-check alone never keeps the process alive.
      this.#timer = setInterval(() => void this.#recheck(), options.recheckMs).unref()
    }
  }

  /** The cluster the pool connects to; undefined before the first query. */
  get target(): Target | undefined {
    return this.#target
  }

  async query<R extends QueryResultRow = any>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    if (this.#ending !== undefined) throw new Error('the SidecarPool has ended')
    const client = await this.#connect()
    // While checked out, a connection that breaks reports it on the client, not the pool.
    client.on('error', this.#broken)
    try {
      const result = await client.query<R>(text, values)
      client.off('error', this.#broken).release()
      return result
    } catch (err) {
      const lost = isConnectionError(err)
      client.off('error', this.#broken).release(lost) // true: a broken connection is destroyed, not pooled
      if (lost) await this.#recheck()
      throw err
    }
  }

  /** Asks the sidecar now and switches pools if the active cluster moved; concurrent callers share one request. */
  refresh(): Promise<void> {
    this.#asking ??= this.#ask().finally(() => {
      this.#asking = undefined
    })
    return this.#asking
  }

  /** Stops the re-check and ends every pool once its queries are done; calling it again waits for the same end. */
  async end(): Promise<void> {
    clearInterval(this.#timer)
    this.#ending ??= Promise.all([this.#pool?.end(), ...this.#retired])
    await this.#ending
  }

  async #connect(): Promise<PoolClient> {
    if (this.#pool === undefined) await this.refresh()
    const pool = this.#pool as Pool
    try {
      return await pool.connect()
    } catch (err) {
      if (!isConnectionError(err)) throw err
      await this.#recheck()
      if (this.#pool === pool) throw err
      // Nothing was sent on a connection that never opened: safe to try the new cluster.
      return (this.#pool as Pool).connect()
    }
  }

  // The caller has a better error to throw than the sidecar's, if any.
  async #recheck(): Promise<void> {
    try {
      await this.refresh()
    } catch (err) {
      this.#options.onError?.(err as Error)
    }
  }

  async #ask(): Promise<void> {
    const { sidecarUrl, user, password, maxWaitMs = 120_000 } = this.#options
    const deadline = Date.now() + maxWaitMs
    for (;;) {
      const res = await fetch(new URL('/connection', sidecarUrl), {
        headers: { 'x-db-username': header(user), 'x-db-password': header(password) },
        signal: AbortSignal.timeout(10_000)
      })
      if (res.ok) return this.#use((await res.json()) as Target & { connection_string: string })
      const { message } = (await res.json()) as { message: string }
      const waitMs = Math.max(1, Number(res.headers.get('retry-after'))) * 1000
      if (res.status !== 503 || Date.now() + waitMs > deadline) throw new Error(`sidecar answered ${res.status}: ${message}`)
      await sleep(waitMs)
    }
  }

  #use({ connection_string, ...target }: Target & { connection_string: string }): void {
    const previous = this.#target
    if (previous?.cluster_id === target.cluster_id && previous.host === target.host && previous.port === target.port) return
    const old = this.#pool
    this.#pool = new Pool({ ...this.#options.pool, connectionString: connection_string })
    this.#pool.on('error', this.#broken)
    this.#target = target
    if (old !== undefined) this.#retired.push(old.end())
    this.#options.onChange?.(target, previous)
  }
}

/** Queries once a second and prints where each query went; resolves to a stop function. */
export async function main(env: NodeJS.ProcessEnv, log: (line: string) => void = console.log): Promise<() => Promise<void>> {
  const { PCR_SIDECAR_URL, PGUSER, PGPASSWORD } = env
  if (PCR_SIDECAR_URL === undefined || PGUSER === undefined || PGPASSWORD === undefined) {
    throw new Error('set PCR_SIDECAR_URL, PGUSER and PGPASSWORD')
  }
  const pool = new SidecarPool({
    sidecarUrl: PCR_SIDECAR_URL,
    user: PGUSER,
    password: PGPASSWORD,
    pool: { connectionTimeoutMillis: 5_000 },
    recheckMs: 30_000,
    // Names and addresses only: the password never reaches a log.
    onChange: (to) => log(`using ${to.cluster_id} (${to.role}) at ${to.host}:${to.port}`),
    onError: (err) => log(`asking the sidecar failed: ${err.message}`)
  })
  const timer = setInterval(async () => {
    try {
      const { rows } = await pool.query<{ now: Date }>('select now() as now')
      log(`${rows[0]?.now.toISOString()} answered by ${pool.target?.cluster_id}`)
    } catch (err) {
      log(`query failed: ${(err as Error).message}`)
    }
  }, 1_000)
  return async () => {
    clearInterval(timer)
    await pool.end()
  }
}

// Runs only when executed directly, not when imported.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stop = await main(process.env)
  process.once('SIGINT', stop).once('SIGTERM', stop)
}
