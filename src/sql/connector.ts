import type { Client } from 'pg'
import type { SslMode } from '../config/index.js'

// One short-lived connection per use: opened, used, closed, all under a single
// deadline. A health check must see the endpoint as it is now, so nothing is
// pooled: a pooled socket can outlive the server it was opened to.

export type SqlErrorKind = 'refused' | 'timeout' | 'auth' | 'other'

/** A failure described in one line that never holds the password or connection string. */
export class SqlError extends Error {
  override name = 'SqlError'
  readonly kind: SqlErrorKind

  constructor(kind: SqlErrorKind, message: string) {
    super(message)
    this.kind = kind
  }
}

export interface SqlTarget {
  /** postgresql://user:password@host:port/database?options */
  connectionString: string
  /** Bounds everything: connecting, authenticating, every statement and the goodbye. */
  timeoutSeconds: number
  /** Replaces any sslmode in the connection string. */
  sslmode?: SslMode
  /**
   * false for a server that refuses a statement_timeout startup parameter
   * (PgBouncer's admin console); the deadline above still holds.
   */
  serverTimeout?: boolean
}

export interface SqlConnector {
  /** Connects, runs work, disconnects. Rejects only with SqlError. */
  run<T>(work: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T>
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

// Replaces every secret, longest first so a secret inside another goes with it,
// and folds the text onto one line.
function redactor(secrets: Array<string | null>): (text: string) => string {
  const sorted = secrets.filter((secret): secret is string => Boolean(secret)).sort((a, b) => b.length - a.length)
  return (text) =>
    sorted
      .reduce((redacted, secret) => redacted.replaceAll(secret, '***'), text)
      .replace(/\s+/g, ' ')
      .trim()
}

function authOrTimeout(sqlState: string): SqlErrorKind {
  if (sqlState.startsWith('28')) return 'auth'
  return sqlState === '57014' ? 'timeout' : 'other'
}

// pg is loaded with the first connection: a sidecar without SQL endpoints never needs it.
let pg: Promise<typeof import('pg')> | undefined
const loadPg = () => (pg ??= import('pg'))

export function createSqlConnector(target: SqlTarget): SqlConnector {
  const { timeoutSeconds, sslmode } = target
  if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new Error(`timeoutSeconds must be a number of seconds greater than 0, not ${timeoutSeconds}`)
  }
  // Never echo the string itself: it holds the password.
  const url = URL.canParse(target.connectionString) ? new URL(target.connectionString) : undefined
  if (url === undefined || !/^postgres(ql)?:$/.test(url.protocol)) {
    throw new Error('the connection string must be a postgresql:// URL')
  }
  if (sslmode !== undefined) {
    // libpq semantics for require and verify-ca, which pg only follows in its
    // libpq-compatible mode. pg cannot fall back between plain and TLS: allow
    // starts plain in libpq, so it is plain here; prefer is TLS without verification.
    url.searchParams.set('sslmode', sslmode === 'allow' ? 'disable' : sslmode)
    url.searchParams.set('uselibpqcompat', 'true')
  }
  const connectionString = sslmode === undefined ? target.connectionString : url.href
  const timeoutMs = timeoutSeconds * 1000
  const redact = redactor([
    target.connectionString,
    connectionString,
    url.password,
    safeDecode(url.password),
    url.searchParams.get('password')
  ])

  async function run<T>(work: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new SqlError('other', 'cancelled')
    const { Client, DatabaseError } = await loadPg()
    // Cancelled while pg loaded: the listener below would never hear it.
    if (signal?.aborted) throw new SqlError('other', 'cancelled')
    let client: Client
    try {
      client = new Client({
        connectionString,
        application_name: 'pcr-sidecar',
        // The server gives up too, rather than finish a statement nobody waits for.
        statement_timeout: target.serverTimeout === false ? undefined : Math.ceil(timeoutMs)
      })
    } catch (err) {
      throw new SqlError('other', redact(String((err as Error).message)))
    }
    const where = `${client.host}:${client.port}`
    let connected = false
    let interruption: 'timeout' | 'cancelled' | undefined

    // Destroying the socket ends whatever is pending, in any phase: DNS, TLS,
    // authentication, a statement or the goodbye.
    const interrupt = (why: 'timeout' | 'cancelled') => {
      interruption ??= why
      client.connection.stream.destroy()
    }
    const deadline = setTimeout(interrupt, timeoutMs, 'timeout')
    const cancel = () => interrupt('cancelled')
    signal?.addEventListener('abort', cancel)
    // A dropped connection is also emitted as an 'error' event, which would crash
    // the process unheard; the pending call reports it anyway.
    client.on('error', () => {})

    const describe = (err: unknown): SqlError => {
      if (interruption === 'timeout') {
        const doing = connected ? 'waiting for an answer from' : 'connecting to'
        return new SqlError('timeout', `timed out after ${timeoutSeconds}s ${doing} ${where}`)
      }
      if (interruption === 'cancelled') return new SqlError('other', 'cancelled')
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        return new SqlError('refused', `connection refused by ${where}`)
      }
      if (err instanceof DatabaseError) {
        const sqlState = String(err.code)
        const parts = [`${err.message} (SQLSTATE ${sqlState})`]
        if (err.detail) parts.push(`detail: ${err.detail}`)
        if (err.hint) parts.push(`hint: ${err.hint}`)
        return new SqlError(authOrTimeout(sqlState), redact(parts.join('; ')))
      }
      // pg's own SCRAM errors, e.g. when the server asks for a password none was given for.
      const message = String((err as Error).message)
      return new SqlError(/SASL|password/.test(message) ? 'auth' : 'other', redact(message))
    }

    try {
      await client.connect()
      connected = true
      return await work(client)
    } catch (err) {
      throw describe(err)
    } finally {
      // A graceful goodbye, or a forced close when the socket is dead or busy;
      // either way it resolves once the socket is closed, still under the deadline.
      await client.end()
      clearTimeout(deadline)
      signal?.removeEventListener('abort', cancel)
    }
  }

  return { run }
}
