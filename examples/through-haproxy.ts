// An application that reaches CockroachDB through HAProxy (proxy/haproxy/haproxy.cfg)
// instead of asking the sidecar where to connect. HAProxy always points at the
// active cluster, but a failover cuts every session and refuses new ones until
// the standby is writable, so the application retries on connection errors.
//
// Run it (pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE):
//
//   PGHOST=haproxy.internal PGPORT=26257 PGUSER=app PGPASSWORD=... PGDATABASE=defaultdb \
//     node --import tsx examples/through-haproxy.ts
//
// It runs a query every second and prints each answer and each retry until Ctrl-C.
//
// TLS passes through HAProxy untouched: the certificate is the active cluster's,
// the name dialed is HAProxy's. Verify it against both clusters' names (pg's
// `ssl: { ca, checkServerIdentity }`) rather than sslmode=verify-full.

import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import pg from 'pg'

export interface RetryOptions {
  /** Give up once retrying would end later than this; a failover takes minutes. Default 10 minutes. */
  giveUpAfterMs?: number
  /** Default 100 ms, doubling on each attempt up to maxDelayMs (default 5 s). */
  firstDelayMs?: number
  maxDelayMs?: number
  /** Stops waiting between attempts. */
  signal?: AbortSignal
  /** Told about each retry. */
  log?: (line: string) => void
}

// SQLSTATE class 08 (connection exception) and a server going away or not
// accepting connections yet.
const retryableStates = new Set(['57P01', '57P02', '57P03'])
const retryableSocketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * Whether a fresh connection may succeed where this one failed: the session was
 * cut, or nothing accepted it. CockroachDB's transaction retry errors (40001)
 * are another matter, retried around each transaction on the same connection.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && (code.startsWith('08') || retryableStates.has(code) || retryableSocketErrors.has(code))) {
    return true
  }
  // How pg reports a session closed under it (HAProxy cutting it, or refusing it
  // while no cluster is active) and a connection attempt that timed out; not
  // the same errors after the application closed the client itself.
  return /^(Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout expired|Client has encountered a connection error)/.test(
    err.message
  )
}

/**
 * A pool for the HAProxy frontend. A failover also cuts idle pooled sessions;
 * pg reports those on the pool, which must listen or the process dies.
 */
export function createPool(config: pg.PoolConfig = {}, log: (line: string) => void = console.error): pg.Pool {
  const pool = new pg.Pool({ keepAlive: true, connectionTimeoutMillis: 5000, ...config })
  pool.on('error', (err) => log(`idle connection dropped: ${err.message}`))
  return pool
}

function ignore(): void {}

// One attempt on a pooled client.
async function onClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  // The pool stops listening while a client is out, and pg also reports a cut
  // session as an event, which would kill the process unheard. The failing
  // query reports it anyway.
  client.on('error', ignore)
  let failed = true
  try {
    const result = await work(client)
    failed = false
    return result
  } finally {
    client.off('error', ignore)
    // A client that failed is not trusted back into the pool.
    client.release(failed)
  }
}

/**
 * Runs `work` on a pooled connection, again on a fresh one after a connection
 * error, with capped exponential backoff and jitter (every application instance
 * retries at once after a failover). Only give it work that is safe to run
 * twice: a session cut during COMMIT may have committed.
 */
export async function withRetry<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { giveUpAfterMs = 600_000, firstDelayMs = 100, maxDelayMs = 5000, signal, log } = options
  const deadline = Date.now() + giveUpAfterMs
  const attempt = async (n: number): Promise<T> => {
    try {
      return await onClient(pool, work)
    } catch (err) {
      const delay = Math.round(Math.min(maxDelayMs, firstDelayMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2))
      if (!isConnectionError(err) || Date.now() + delay > deadline) throw err
      log?.(`retry ${n} in ${delay} ms: ${(err as Error).message}`)
      await sleep(delay, undefined, { signal })
      return attempt(n + 1)
    }
  }
  return attempt(1)
}

export interface MainOptions {
  /** Default: a pool from the PG* environment variables. Ended when stopped. */
  pool?: pg.Pool
  query?: string
  intervalMs?: number
  log?: (line: string) => void
  retry?: Omit<RetryOptions, 'signal' | 'log'>
}

async function heartbeat(pool: pg.Pool, options: MainOptions, signal: AbortSignal): Promise<void> {
  const { log = console.log, query = 'SELECT now() AS now', intervalMs = 1000 } = options
  try {
    while (!signal.aborted) {
      const { rows } = await withRetry(pool, (client) => client.query(query), { ...options.retry, signal, log })
      log(JSON.stringify(rows[0]))
      await sleep(intervalMs, undefined, { signal })
    }
  } catch (err) {
    if (!signal.aborted) throw err
  } finally {
    await pool.end()
  }
}

/** Runs `query` every intervalMs, logging its first row as JSON and each retry; returns what stops it. */
export function main(options: MainOptions = {}): () => Promise<void> {
  const pool = options.pool ?? createPool({}, options.log)
  const stop = new AbortController()
  const running = heartbeat(pool, options, stop.signal)
  return async () => {
    stop.abort()
    await running
  }
}

// Runs only when executed directly, not when imported.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stop = main()
  process.once('SIGINT', stop).once('SIGTERM', stop)
}
