import { spawn, type ChildProcess } from 'node:child_process'
import pg from 'pg'
import { rmSync } from 'node:fs'
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onFreePort, PortTaken, postgresOwner } from './daemon.js'
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

const leftovers = new Set<{ child: ChildProcess | undefined; dir: string }>()

// Only the processes started here are killed, by their own handle.
process.once('exit', () => {
  for (const { child, dir } of leftovers) {
    child?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

export async function startPgbouncer(options: PgbouncerOptions = {}): Promise<Pgbouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'pcr-pgbouncer-'))
  const state: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir }
  leftovers.add(state)
  const databasesFile = join(dir, 'databases.ini')
  const ini = join(dir, 'pgbouncer.ini')
  const lines: string[] = []
  let reloads = 0
  let port = 0
  const log = () => lines.join('\n')

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

  // In the foreground, logging to stderr: its lines say when it is up.
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(bin, [ini], { ...postgresOwner, stdio: ['ignore', 'ignore', 'pipe'] })
      state.child = child
      let ready = false
      let partial = ''
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        const complete = (partial + chunk).split('\n')
        partial = complete.pop() ?? ''
        lines.push(...complete)
        lines.splice(0, lines.length - 300)
        reloads += complete.filter((line) => line.includes('RELOAD command issued')).length
        if (!ready && complete.some((line) => line.includes('process up:'))) {
          ready = true
          resolve()
        }
      })
      child.once('error', reject)
      child.once('close', (code, signal) => {
        state.child = undefined
        if (ready) return
        const why = `PgBouncer exited before it was ready (${signal ?? `code ${code}`}):\n${log()}`
        reject(/Address already in use/.test(log()) ? new PortTaken(why) : new Error(why))
      })
    })

  try {
    if (postgresOwner.uid !== undefined) await chown(dir, postgresOwner.uid, postgresOwner.gid)
    const secret = options.password ?? ''
    await owned(join(dir, 'userlist.txt'), `"admin" "${secret}"\n"postgres" "${secret}"\n`, 0o600)
    await owned(databasesFile, options.databases ?? '[databases]\n', 0o644)
    await onFreePort(async (free) => {
      port = free
      await configure()
      await launch()
    })
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    leftovers.delete(state)
    throw err
  }

  const stop = async () => {
    const child = state.child
    if (child === undefined) return
    const closed = new Promise((resolve) => child.once('close', resolve))
    // SIGTERM: immediate shutdown, as a crash would leave it.
    child.kill('SIGTERM')
    await closed
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
    pid: () => state.child?.pid,
    reloads: () => reloads,
    stop,
    async start() {
      if (state.child === undefined) await launch()
    },
    async destroy() {
      await stop()
      await rm(dir, { recursive: true, force: true })
      leftovers.delete(state)
    },
    log
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
