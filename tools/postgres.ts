import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { onFreePort, PortTaken, postgresOwner } from './daemon.js'

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
const leftovers = new Set<{ child: ChildProcess | undefined; dir: string }>()

// Servers a test forgot, or could not, destroy must not outlive the test process.
process.once('exit', () => {
  for (const { child, dir } of leftovers) {
    child?.kill('SIGQUIT')
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      // A server still shutting down can race the removal; tmpdir is cleaned eventually.
    }
  }
})

async function ownedTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  if (postgresOwner.uid !== undefined) await chown(dir, postgresOwner.uid, postgresOwner.gid)
  return dir
}

async function initdb(password: string | undefined): Promise<string> {
  const dir = await ownedTempDir('pcr-pg-template-')
  leftovers.add({ child: undefined, dir })
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
  const state: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir }
  leftovers.add(state)
  const lines: string[] = []
  let port = 0

  const log = () => lines.join('\n')

  // Runs the postmaster in the foreground so its stderr says when it is ready
  // and a signal stops it without pg_ctl's polling.
  const launch = () =>
    new Promise<void>((resolve, reject) => {
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
      const child = spawn(join(bin, 'postgres'), args, { ...postgresOwner, stdio: ['ignore', 'ignore', 'pipe'] })
      state.child = child
      let ready = false
      let partial = ''
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        const complete = (partial + chunk).split('\n')
        partial = complete.pop() ?? ''
        lines.push(...complete)
        lines.splice(0, lines.length - 200)
        if (!ready && complete.some((line) => line.includes('ready to accept connections'))) {
          ready = true
          resolve()
        }
      })
      child.once('error', reject)
      child.once('close', (code, signal) => {
        state.child = undefined
        if (ready) return
        const why = `PostgreSQL exited before it was ready (${signal ?? `code ${code}`}):\n${log()}`
        reject(/Address already in use/.test(log()) ? new PortTaken(why) : new Error(why))
      })
    })

  try {
    await run('cp', ['-a', await template(options.password), data])
    await onFreePort(async (free) => {
      port = free
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
    child.kill('SIGQUIT')
    await closed
  }

  return {
    host: '127.0.0.1',
    port,
    url(user = 'postgres', password = options.password, database = 'postgres') {
      const login = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user)
      return `postgresql://${login}@127.0.0.1:${port}/${encodeURIComponent(database)}`
    },
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
