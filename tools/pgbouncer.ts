import pg from 'pg'
import { chown, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { foregroundServer, onFreePort, postgresOwner } from './daemon.js'
import { ENDPOINT_PORT_QUERY } from './sql-gate.js'

// A throwaway PgBouncer 1.18 on a loopback port, with a generated pgbouncer.ini
// that includes a `[databases]` file the tests (or the sidecar) write. Tests
// stop it to make the admin console fail and start it again on the same port.

const bin = '/usr/sbin/pgbouncer'

export interface PgbouncerOptions {
  /** The file's first content; PgBouncer will not start without it. */
  databases?: string
  /** With a password, everyone logs in with it (SCRAM); without, anyone is trusted. */
  password?: string
  poolMode?: 'session' | 'transaction'
}

export interface Pgbouncer {
  readonly port: number
  /** The `[databases]` file PgBouncer includes. */
  readonly databasesFile: string
  /** The admin console: user admin, database pgbouncer. */
  adminUrl(password?: string): string
  /** A database through PgBouncer, as user postgres. */
  url(database: string): string
  /** The running process id, undefined while stopped. */
  pid(): number | undefined
  /** How many RELOAD commands it has logged, over all its runs. */
  reloads(): number
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
  log(): string
}

export async function startPgbouncer(options: PgbouncerOptions = {}): Promise<Pgbouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'pcr-pgbouncer-'))
  const databasesFile = join(dir, 'databases.ini')
  const ini = join(dir, 'pgbouncer.ini')
  let reloads = 0
  let port = 0
  // In the foreground, logging to stderr: its lines say when it is up. SIGTERM is
  // an immediate shutdown, as a crash would leave it.
  const server = foregroundServer({
    name: 'PgBouncer',
    dir,
    command: bin,
    args: () => [ini],
    ready: 'process up:',
    stopSignal: 'SIGTERM',
    keepLines: 300,
    onLines: (lines) => (reloads += lines.filter((line) => line.includes('RELOAD command issued')).length)
  })

  const owned = async (path: string, content: string, mode: number) => {
    await writeFile(path, content, { mode })
    if (postgresOwner.uid !== undefined) await chown(path, postgresOwner.uid, postgresOwner.gid)
  }

  const configure = async () => {
    await owned(
      ini,
      [
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        `auth_type = ${options.password === undefined ? 'trust' : 'scram-sha-256'}`,
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'admin_users = admin',
        `pool_mode = ${options.poolMode ?? 'transaction'}`,
        'logfile =',
        'pidfile =',
        // Quick to notice a server that went away, so tests wait less.
        'server_login_retry = 1',
        `%include ${databasesFile}`,
        ''
      ].join('\n'),
      0o644
    )
  }

  try {
    if (postgresOwner.uid !== undefined) await chown(dir, postgresOwner.uid, postgresOwner.gid)
    const secret = options.password ?? ''
    await owned(join(dir, 'userlist.txt'), `"admin" "${secret}"\n"postgres" "${secret}"\n`, 0o600)
    await owned(databasesFile, options.databases ?? '[databases]\n', 0o644)
    await onFreePort(async (free) => {
      port = free
      await configure()
      await server.launch()
    })
  } catch (err) {
    await server.destroy()
    throw err
  }

  return {
    port,
    databasesFile,
    adminUrl(password = options.password) {
      const login = password === undefined ? 'admin' : `admin:${encodeURIComponent(password)}`
      return `postgresql://${login}@127.0.0.1:${port}/pgbouncer`
    },
    url(database) {
      const login = options.password === undefined ? 'postgres' : `postgres:${encodeURIComponent(options.password)}`
      return `postgresql://${login}@127.0.0.1:${port}/${encodeURIComponent(database)}`
    },
    pid: server.pid,
    reloads: () => reloads,
    stop: server.stop,
    async start() {
      if (!server.running()) await server.launch()
    },
    destroy: server.destroy,
    log: server.log
  }
}

/** The port of the PostgreSQL a new connection through `connectionString` reaches; undefined when none does. */
export async function portVia(connectionString: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 })
  client.on('error', () => {})
  try {
    await client.connect()
    // The endpoint's port: the gate's when the server stands behind one (sql-gate.ts), else its own.
    return Number((await client.query(ENDPOINT_PORT_QUERY)).rows[0].port)
  } catch {
    return undefined
  } finally {
    await client.end().catch(() => undefined)
  }
}
