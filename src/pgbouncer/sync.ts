import type { Logger } from 'pino'
import type { Config, PgbouncerConfig } from '../config/index.js'
import type { EventInput } from '../engine/events.js'
import { hostPort } from '../sql/host-port.js'
import { createAdminConsole, supportsReconnect, type PoolerDatabase } from './admin-console.js'
import { writeIfChanged } from './atomic-write.js'
import { checkAlias, renderDatabasesFile, type DatabaseTarget } from './databases-file.js'

// Keeps PgBouncer sending the alias to the active cluster: rewrites the file it
// includes, then has it RELOAD and checks that it took the change. Only the
// latest target matters; a failed attempt is retried, ever more slowly, until
// it succeeds, a newer target arrives or the sync is closed. Nothing here
// throws into the caller: outcomes are events.

export interface PgbouncerSyncOptions {
  config: { sql: Pick<Config['sql'], 'databaseName'>; pgbouncer: PgbouncerConfig }
  log: Pick<Logger, 'error'>
  /** The engine's record: events reach /events, the log and the metrics. */
  record: (input: EventInput) => void
  /** Bounds one admin console session. */
  timeoutSeconds?: number
  /** The first retry waits this long, each next one twice as long, up to retryMaxMs. */
  retryBaseMs?: number
  retryMaxMs?: number
}

export interface PgbouncerSync {
  /** Sends the alias to target from now on; returns at once. */
  apply(target: DatabaseTarget): void
  /** Resolves once the latest target is applied (or the sync closed). */
  idle(): Promise<void>
  /** Stops retrying and cuts short the attempt in flight. */
  close(): Promise<void>
}

interface Outcome {
  written: boolean
  reloaded: boolean
  reconnected: boolean
}

// PgBouncer reports a socket connection with no host.
const address = (host: string | null, port: number) => hostPort(String(host), port)

const sameTarget = (a: DatabaseTarget, b: DatabaseTarget | undefined) =>
  a.clusterId === b?.clusterId && a.host === b.host && a.port === b.port

export function createPgbouncerSync(options: PgbouncerSyncOptions): PgbouncerSync {
  const { pgbouncer, sql } = options.config
  const { retryBaseMs = 1000, retryMaxMs = 30_000 } = options
  const entry = { alias: checkAlias(pgbouncer.database), dbname: sql.databaseName, options: pgbouncer.options }
  const admin = createAdminConsole({ adminUrl: pgbouncer.adminUrl, timeoutSeconds: options.timeoutSeconds ?? 5 })
  const closing = new AbortController()
  let wanted: DatabaseTarget | undefined
  let draining = false
  let running: Promise<void> = Promise.resolve()
  let wake = () => {}

  // A listener of the engine's events could throw; this loop must survive it.
  function note(input: EventInput): void {
    try {
      options.record(input)
    } catch (err) {
      options.log.error({ err, event: input.type }, 'could not record a PgBouncer event')
    }
  }

  const sends = (seen: PoolerDatabase | undefined, target: DatabaseTarget) =>
    seen?.host === target.host && seen.port === target.port && seen.dbname === entry.dbname

  async function attempt(target: DatabaseTarget): Promise<Outcome> {
    const written = await writeIfChanged(pgbouncer.databasesFile, renderDatabasesFile(entry, target))
    return admin.session(async (session) => {
      const version = await session.version()
      // Asked even when the file was already right: the last run may have
      // written it and stopped before the RELOAD.
      if (!written && sends(await session.database(entry.alias), target)) {
        return { written, reloaded: false, reconnected: false }
      }
      await session.reload()
      // RELOAD answers OK even when PgBouncer rejects the file, so look.
      const seen = await session.database(entry.alias)
      if (!sends(seen, target)) {
        const now = seen === undefined ? 'has no such database' : `sends it to ${address(seen.host, seen.port)}/${seen.dbname}`
        throw new Error(`PgBouncer kept its old settings after RELOAD: ${entry.alias} ${now} (see its log)`)
      }
      // RELOAD already drops connections to the old host as they are released;
      // RECONNECT says so explicitly where it exists.
      const reconnected = supportsReconnect(version)
      if (reconnected) await session.reconnect(entry.alias)
      return { written, reloaded: true, reconnected }
    }, closing.signal)
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        wake = () => {}
        resolve()
      }
      const timer = setTimeout(done, ms)
      wake = done
    })
  }

  async function drain(): Promise<void> {
    let attempts = 0
    let previous: DatabaseTarget | undefined
    try {
      while (wanted !== undefined && !closing.signal.aborted) {
        const target: DatabaseTarget = wanted
        attempts = sameTarget(target, previous) ? attempts + 1 : 1
        previous = target
        const where = `cluster ${target.clusterId} at ${address(target.host, target.port)}`
        const data = { clusterId: target.clusterId, host: target.host, port: target.port, database: entry.alias }
        try {
          const { written, reloaded, reconnected } = await attempt(target)
          if (wanted === target) wanted = undefined
          previous = undefined
          const how = reloaded ? `reloaded${reconnected ? ', reconnected' : ''}` : 'it already did'
          note({
            type: 'pgbouncer_updated',
            message: `PgBouncer sends ${entry.alias} to ${where} (${how})`,
            data: { ...data, fileWritten: written, reloaded, reconnected }
          })
        } catch (err) {
          if (closing.signal.aborted) return
          const delayMs = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1))
          // Every failure here is an Error whose message holds no password: the
          // connector redacts its own, the file system's name only paths.
          const reason = String((err as Error).message).replace(/\s+/g, ' ').trim()
          note({
            type: 'pgbouncer_failed',
            severity: 'warn',
            message: `PgBouncer not yet sent to ${where} (attempt ${attempts}): ${reason}; retrying in ${delayMs / 1000}s`,
            data: { ...data, attempt: attempts, reason, retryInSeconds: delayMs / 1000 }
          })
          // A newer target goes at once; the same one waits its turn.
          if (wanted === target) await pause(delayMs)
        }
      }
    } finally {
      // In the same step as the loop's last look at `wanted`, so an apply()
      // after it starts a new drain.
      draining = false
    }
  }

  return {
    apply(target) {
      if (closing.signal.aborted) return
      wanted = { ...target }
      wake()
      if (draining) return
      draining = true
      running = drain()
    },
    async idle() {
      while (draining) await running
    },
    async close() {
      closing.abort()
      wake()
      await running
    }
  }
}
