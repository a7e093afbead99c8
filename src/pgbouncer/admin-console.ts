import type { Client } from 'pg'
import { createSqlConnector } from '../sql/connector.js'

// PgBouncer's admin console (the virtual database `pgbouncer`): simple queries
// only, no parameters, on a short-lived connection under one deadline. Its
// failures are the connector's SqlError, one line without the password.

export interface AdminConsoleOptions {
  /** postgresql://user:password@host:port/pgbouncer */
  adminUrl: string
  /** Bounds a whole session: connecting, every command and the goodbye. */
  timeoutSeconds: number
}

/** Where PgBouncer sends a database, as SHOW DATABASES reports it. */
export interface PoolerDatabase {
  host: string | null
  port: number
  dbname: string
  /** PAUSE in effect: clients wait for a server instead of getting one. */
  paused: boolean
}

export interface AdminSession {
  version(): Promise<string>
  database(alias: string): Promise<PoolerDatabase | undefined>
  reload(): Promise<void>
  reconnect(alias: string): Promise<void>
  /** Returns once no transaction of the alias is in flight on a server. */
  pause(alias: string): Promise<void>
  resume(alias: string): Promise<void>
  /** Server connections of the alias in a transaction (SHOW POOLS' sv_active): what PAUSE waits for. */
  busyServers(alias: string): Promise<number>
  /** A setting of SHOW CONFIG, undefined when this version has none by that name. */
  setting(key: string): Promise<string | undefined>
}

export interface AdminConsole {
  session<T>(work: (session: AdminSession) => Promise<T>, signal?: AbortSignal): Promise<T>
}

// RECONNECT arrived in PgBouncer 1.9.
export function supportsReconnect(version: string): boolean {
  const m = /PgBouncer (\d+)\.(\d+)/.exec(version)
  if (m === null) return false
  const [major, minor] = [Number(m[1]), Number(m[2])]
  return major > 1 || (major === 1 && minor >= 9)
}

function sessionOf(client: Client): AdminSession {
  return {
    async version() {
      const { rows } = await client.query<{ version: string }>('SHOW VERSION')
      return String(rows[0]?.version ?? '')
    },
    async database(alias) {
      const { rows } = await client.query<{ name: string; host: string | null; port: number | string; database: string; paused: number | string }>(
        'SHOW DATABASES'
      )
      const row = rows.find((r) => r.name === alias)
      return row === undefined ? undefined : { host: row.host, port: Number(row.port), dbname: row.database, paused: Number(row.paused) === 1 }
    },
    async reload() {
      await client.query('RELOAD')
    },
    async reconnect(alias) {
      // Bare, the console reads only letters, digits and _; the alias (checked
      // to hold no quote) may also have dots and dashes.
      await client.query(`RECONNECT "${alias}"`)
    },
    async pause(alias) {
      await client.query(`PAUSE "${alias}"`)
    },
    async resume(alias) {
      try {
        await client.query(`RESUME "${alias}"`)
      } catch (err) {
        // Resumed already (by hand, or a run that stopped before it could say so).
        if (!/is not paused/.test((err as Error).message)) throw err
      }
    },
    async busyServers(alias) {
      const { rows } = await client.query<{ database: string; sv_active: number | string }>('SHOW POOLS')
      return rows.filter((r) => r.database === alias).reduce((sum, r) => sum + Number(r.sv_active), 0)
    },
    async setting(key) {
      const { rows } = await client.query<{ key: string; value: string }>('SHOW CONFIG')
      return rows.find((r) => r.key === key)?.value
    }
  }
}

export function createAdminConsole(options: AdminConsoleOptions): AdminConsole {
  // The console refuses a statement_timeout startup parameter; the deadline
  // cuts the socket instead.
  const connector = createSqlConnector({
    connectionString: options.adminUrl,
    timeoutSeconds: options.timeoutSeconds,
    serverTimeout: false
  })
  return {
    session: (work, signal) => connector.run((client) => work(sessionOf(client)), signal)
  }
}
