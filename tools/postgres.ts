import { execFile } from 'node:child_process'
import { chown, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { foregroundServer, onFreePort, postgresOwner, removeAtExit } from './daemon.js'

// A throwaway PostgreSQL 15 standing in for a cluster's SQL endpoint. Tests stop
// it to make the endpoint fail and start it again on the same port and data.

const bin = '/usr/lib/postgresql/15/bin'
const run = promisify(execFile)

export interface PostgresOptions {
  /** With a password the superuser `postgres` must log in with it (SCRAM); without, anyone is trusted. */
  password?: string
  /** More `-c name=value` settings, custom ones (`pcr.x`) included. */
  settings?: Record<string, string>
}

export interface Postgres {
  readonly host: '127.0.0.1'
  readonly port: number
  /** A postgresql:// URL; user defaults to postgres, password to the server's, database to postgres. */
  url(user?: string, password?: string, database?: string): string
  /** Kills the server at once, as a crash would (immediate shutdown). */
  stop(): Promise<void>
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>
  /** Stops it and removes its files; safe to call twice. */
  destroy(): Promise<void>
  /** The server's recent log lines, for failure messages. */
  log(): string
}

// initdb costs about a second, so each test process runs it once per password and
// copies the result for every further server.
const templates = new Map<string, Promise<string>>()

async function ownedTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  if (postgresOwner.uid !== undefined) await chown(dir, postgresOwner.uid, postgresOwner.gid)
  return dir
}

async function initdb(password: string | undefined): Promise<string> {
  const dir = await ownedTempDir('pcr-pg-template-')
  removeAtExit(dir)
  const args = ['-D', join(dir, 'data'), '-U', 'postgres', '--no-sync', '--no-instructions']
  args.push('--locale=C', '--encoding=UTF8', '--wal-segsize=1')
  if (password === undefined) {
    args.push('--auth=trust')
  } else {
    const pwfile = join(dir, 'pwfile')
    await writeFile(pwfile, password + '\n', { mode: 0o600 })
    if (postgresOwner.uid !== undefined) await chown(pwfile, postgresOwner.uid, postgresOwner.gid)
    args.push('--auth=scram-sha-256', `--pwfile=${pwfile}`)
  }
  await run(join(bin, 'initdb'), args, postgresOwner)
  return join(dir, 'data')
}

function template(password: string | undefined): Promise<string> {
  const key = JSON.stringify(password ?? null)
  let made = templates.get(key)
  if (made === undefined) {
    made = initdb(password)
    templates.set(key, made)
  }
  return made
}

export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const dir = await ownedTempDir('pcr-pg-')
  const data = join(dir, 'data')
  let port = 0
  // The postmaster in the foreground: its stderr says when it is ready, and SIGQUIT is
  // an immediate shutdown, as a crash would leave it.
  const server = foregroundServer({
    name: 'PostgreSQL',
    dir,
    command: join(bin, 'postgres'),
    args: () => {
      const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1']
      // Durability against power loss and background work are of no use to a test
      // server; commits still reach the WAL so data survives an immediate stop.
      for (const setting of [
        'fsync=off',
        'full_page_writes=off',
        'wal_level=minimal',
        'max_wal_senders=0',
        'shared_buffers=2MB',
        'max_connections=20',
        'autovacuum=off',
        ...Object.entries(options.settings ?? {}).map(([name, value]) => `${name}=${value}`)
      ]) {
        args.push('-c', setting)
      }
      return args
    },
    ready: 'ready to accept connections',
    stopSignal: 'SIGQUIT',
    keepLines: 200
  })

  try {
    await run('cp', ['-a', await template(options.password), data])
    await onFreePort(async (free) => {
      port = free
      await server.launch()
    })
  } catch (err) {
    await server.destroy()
    throw err
  }

  return {
    host: '127.0.0.1',
    port,
    url(user = 'postgres', password = options.password, database = 'postgres') {
      const login = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user)
      return `postgresql://${login}@127.0.0.1:${port}/${encodeURIComponent(database)}`
    },
    stop: server.stop,
    async start() {
      if (!server.running()) await server.launch()
    },
    destroy: server.destroy,
    log: server.log
  }
}
