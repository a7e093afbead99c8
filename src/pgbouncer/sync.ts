import type { Logger } from 'pino'
import type { Config, PgbouncerConfig } from '../config/index.js'
import type { EventInput } from '../engine/events.js'
import type { PoolerView } from '../engine/snapshot.js'
import { SqlError } from '../sql/connector.js'
import { hostPort } from '../sql/host-port.js'
import { createAdminConsole, supportsReconnect, type AdminSession, type PoolerDatabase } from './admin-console.js'
import { writeIfChanged } from './atomic-write.js'
import { checkAlias, renderDatabasesFile, type DatabaseTarget } from './databases-file.js'

// Keeps PgBouncer sending the alias to the active cluster: rewrites the file it
// includes, then has it RELOAD and checks that it took the change. Around a switch
// it also holds the alias (PAUSE: queries wait for a server instead of failing on
// the old one) and resumes it once the new target is in place, at the latest after
// PGBOUNCER_MAX_PAUSE. Only the latest target and hold matter; a failed attempt is
// retried, ever more slowly, until it succeeds, something newer is asked or the
// sync is closed. Nothing here throws into the caller: outcomes are events.

export interface PgbouncerSyncOptions {
  config: { sql: Pick<Config['sql'], 'databaseName'>; pgbouncer: PgbouncerConfig }
  log: Pick<Logger, 'error'>
  /** The engine's record: events reach /events, the log and the metrics. */
  record: (input: EventInput) => void
  /** Called with the pause state each time it changes. */
  onChange?: (view: PoolerView) => void
  /** Bounds one admin console session. */
  timeoutSeconds?: number
  /** The first retry waits this long, each next one twice as long, up to retryMaxMs. */
  retryBaseMs?: number
  retryMaxMs?: number
  now?: () => number
}

export interface PgbouncerSync {
  /** Sends the alias to target from now on; returns at once. */
  apply(target: DatabaseTarget): void
  /**
   * Holds the alias's queries until release(), for at most PGBOUNCER_MAX_PAUSE (0: never
   * holds); with keep, past that bound too (reported), where resuming would send writes
   * to a cluster that is being failed over from. Asked again while holding, it updates both.
   */
  hold(reason: string, keep?: boolean): void
  /** Resumes the alias, on the latest target once it is applied. */
  release(): void
  view(): PoolerView
  /** Resolves once the latest target and hold are applied (or the sync closed). */
  idle(): Promise<void>
  /** Stops retrying and cuts short the attempt in flight. */
  close(): Promise<void>
}

interface Outcome {
  written: boolean
  reloaded: boolean
  reconnected: boolean
  /** The pause as PgBouncer has it after the attempt; undefined while it has no such database. */
  paused: boolean | undefined
  /** PAUSE or RESUME was sent. */
  pauseChanged: boolean
  /** PgBouncer's query_wait_timeout in seconds, read when pausing. */
  queryWaitTimeout?: number
}

// PgBouncer reports a socket connection with no host.
const address = (host: string | null, port: number) => hostPort(String(host), port)

const sameTarget = (a: DatabaseTarget | undefined, b: DatabaseTarget | undefined) =>
  a?.clusterId === b?.clusterId && a?.host === b?.host && a?.port === b?.port

const oneLine = (err: unknown) => String((err as Error).message).replace(/\s+/g, ' ').trim()

export function createPgbouncerSync(options: PgbouncerSyncOptions): PgbouncerSync {
  const { pgbouncer, sql } = options.config
  const { retryBaseMs = 1000, retryMaxMs = 30_000, now = Date.now } = options
  const maxPauseMs = pgbouncer.maxPauseSeconds * 1000
  const entry = { alias: checkAlias(pgbouncer.database), dbname: sql.databaseName, options: pgbouncer.options }
  const sessionSeconds = options.timeoutSeconds ?? 5
  const admin = createAdminConsole({ adminUrl: pgbouncer.adminUrl, timeoutSeconds: sessionSeconds })
  const closing = new AbortController()
  let wanted: DatabaseTarget | undefined
  let current: DatabaseTarget | undefined
  // The hold asked for, until release() or PGBOUNCER_MAX_PAUSE.
  let holding: { reason: string; since: number; keep: boolean; timer: NodeJS.Timeout } | undefined
  // PgBouncer's pause as last seen; undefined until a session has looked.
  let applied: boolean | undefined
  // The hold PgBouncer applied, reported with its duration when it resumes.
  let pausedFor: { reason: string; since: number } | undefined
  let draining = false
  let running: Promise<void> = Promise.resolve()
  let wake = () => {}
  let shown = ''

  // A listener of the engine's events could throw; this loop must survive it.
  function note(input: EventInput): void {
    try {
      options.record(input)
    } catch (err) {
      options.log.error({ err, event: input.type }, 'could not record a PgBouncer event')
    }
  }

  const wantPaused = () => holding !== undefined

  function view(): PoolerView {
    const want = wantPaused()
    const state = want ? (applied === true ? 'paused' : 'pausing') : applied === true ? 'resuming' : 'serving'
    const hold = holding ?? pausedFor
    return { database: entry.alias, state, reason: hold?.reason ?? null, since: hold === undefined ? null : new Date(hold.since).toISOString() }
  }

  function changed(): void {
    const next = view()
    const text = JSON.stringify(next)
    if (text === shown) return
    shown = text
    options.onChange?.(next)
  }

  const sends = (seen: PoolerDatabase | undefined, target: DatabaseTarget) =>
    seen?.host === target.host && seen.port === target.port && seen.dbname === entry.dbname

  async function retarget(session: AdminSession, target: DatabaseTarget, written: boolean) {
    const version = await session.version()
    // Asked even when the file was already right: the last run may have
    // written it and stopped before the RELOAD.
    if (!written) {
      const seen = await session.database(entry.alias)
      if (sends(seen, target)) return { seen, reloaded: false, reconnected: false }
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
    return { seen, reloaded: true, reconnected }
  }

  async function attempt(target: DatabaseTarget | undefined, pause: boolean): Promise<Outcome> {
    const written = target === undefined ? false : await writeIfChanged(pgbouncer.databasesFile, renderDatabasesFile(entry, target))
    return admin.session(async (session) => {
      const moved =
        target === undefined
          ? { seen: await session.database(entry.alias), reloaded: false, reconnected: false }
          : await retarget(session, target, written)
      const { seen, ...how } = moved
      if (seen === undefined) {
        if (pause) throw new Error(`PgBouncer has no database ${entry.alias} to pause`)
        return { written, ...how, paused: undefined, pauseChanged: false }
      }
      // PgBouncer flags the alias paused as soon as PAUSE is sent, before the transactions in
      // flight end: a PAUSE this sync has not seen return (cut by the session deadline, or
      // sent by an earlier run) is sent again, and returns once none is left.
      if (seen.paused === pause && (!pause || applied === true)) return { written, ...how, paused: pause, pauseChanged: false }
      if (!pause) {
        await session.resume(entry.alias)
        return { written, ...how, paused: false, pauseChanged: true }
      }
      const wait = Number(await session.setting('query_wait_timeout'))
      await session.pause(entry.alias)
      return { written, ...how, paused: true, pauseChanged: true, ...(Number.isFinite(wait) && { queryWaitTimeout: wait }) }
    }, closing.signal)
  }

  // A PAUSE cut by the session deadline: what it is waiting for, for the operator.
  async function pauseBlockedBy(err: unknown): Promise<string> {
    if (!(err instanceof SqlError) || err.kind !== 'timeout') return ''
    try {
      const busy = await admin.session((session) => session.busyServers(entry.alias), closing.signal)
      return `; PAUSE waits for ${busy} transaction${busy === 1 ? '' : 's'} in flight on ${entry.alias}`
    } catch {
      return ''
    }
  }

  function sleep(ms: number): Promise<void> {
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

  // Something is left to do: a target, or a pause PgBouncer does not have yet.
  const pending = () => wanted !== undefined || (applied === undefined ? wantPaused() : applied !== wantPaused())

  function reportPause(outcome: Outcome, where: string): void {
    if (!outcome.pauseChanged) return
    if (outcome.paused === true) {
      const wait = outcome.queryWaitTimeout
      const tooLong = wait !== undefined && wait > 0 && maxPauseMs >= wait * 1000
      note({
        type: 'pgbouncer_paused',
        severity: tooLong ? 'warn' : 'info',
        message:
          `PgBouncer holds ${entry.alias} (PAUSE: ${pausedFor?.reason}): queries wait for a server; resumed at the latest after PGBOUNCER_MAX_PAUSE=${maxPauseMs / 1000}s` +
          (tooLong ? `, but PgBouncer's query_wait_timeout=${wait}s drops waiting clients sooner: lower PGBOUNCER_MAX_PAUSE below it` : ''),
        data: { database: entry.alias, reason: pausedFor?.reason ?? null, maxPauseSeconds: maxPauseMs / 1000, queryWaitTimeoutSeconds: wait ?? null }
      })
      return
    }
    const pausedSeconds = pausedFor === undefined ? null : (now() - pausedFor.since) / 1000
    note({
      type: 'pgbouncer_resumed',
      message:
        pausedSeconds === null
          ? `PgBouncer had ${entry.alias} paused with no switch under way (left by an earlier run?): resumed, sending it to ${where}`
          : `PgBouncer resumed ${entry.alias} after ${pausedSeconds.toFixed(3)}s, sending it to ${where}`,
      data: { database: entry.alias, reason: pausedFor?.reason ?? null, pausedSeconds }
    })
  }

  async function drain(): Promise<void> {
    let attempts = 0
    let previous: { target: DatabaseTarget | undefined; pause: boolean } | undefined
    try {
      while (pending() && !closing.signal.aborted) {
        const target = wanted
        const pause = wantPaused()
        attempts = previous !== undefined && sameTarget(target, previous.target) && pause === previous.pause ? attempts + 1 : 1
        previous = { target, pause }
        const goal = target ?? current
        const where = goal === undefined ? 'its current server' : `cluster ${goal.clusterId} at ${address(goal.host, goal.port)}`
        const data = { clusterId: goal?.clusterId ?? null, host: goal?.host ?? null, port: goal?.port ?? null, database: entry.alias }
        try {
          const outcome = await attempt(target, pause)
          if (target !== undefined && wanted === target) wanted = undefined
          if (target !== undefined) current = target
          applied = outcome.paused ?? false
          previous = undefined
          if (target !== undefined) {
            const { written, reloaded, reconnected } = outcome
            const how = reloaded ? `reloaded${reconnected ? ', reconnected' : ''}` : 'it already did'
            note({
              type: 'pgbouncer_updated',
              message: `PgBouncer sends ${entry.alias} to ${where} (${how})`,
              data: { ...data, fileWritten: written, reloaded, reconnected }
            })
          }
          // A pause PgBouncer already had (a restart mid-switch) is this hold's from now on.
          if (outcome.paused === true && holding !== undefined && pausedFor === undefined) pausedFor = { reason: holding.reason, since: holding.since }
          reportPause(outcome, where)
          if (outcome.pauseChanged && outcome.paused === false) pausedFor = undefined
          changed()
        } catch (err) {
          if (closing.signal.aborted) return
          const delayMs = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1))
          // Every failure here is an Error whose message holds no password: the
          // connector redacts its own, the file system's name only paths.
          const reason = oneLine(err) + (pause && target === undefined ? await pauseBlockedBy(err) : '')
          const what = target !== undefined ? `sent to ${where}` : pause ? `paused (${entry.alias})` : `resumed (${entry.alias})`
          note({
            type: 'pgbouncer_failed',
            severity: 'warn',
            message: `PgBouncer not yet ${what} (attempt ${attempts}): ${reason}; retrying in ${delayMs / 1000}s`,
            data: { ...data, attempt: attempts, reason, retryInSeconds: delayMs / 1000, step: target !== undefined ? 'retarget' : pause ? 'pause' : 'resume' }
          })
          // Something newer goes at once; the same one waits its turn.
          if (sameTarget(wanted, target) && wantPaused() === pause) await sleep(delayMs)
        }
      }
    } finally {
      // In the same step as the loop's last look, so a change after it starts a new drain.
      draining = false
    }
  }

  function kick(): void {
    if (closing.signal.aborted) return
    wake()
    changed()
    if (draining) return
    draining = true
    running = drain()
  }

  function expire(): void {
    if (holding === undefined) return
    const { reason, keep } = holding
    const goal = wanted ?? current
    const where = goal === undefined ? 'its current server' : `cluster ${goal.clusterId}`
    if (keep) {
      note({
        type: 'pgbouncer_pause_expired',
        severity: 'error',
        message: `PgBouncer has held ${entry.alias} for PGBOUNCER_MAX_PAUSE=${maxPauseMs / 1000}s (${reason}): kept held, since resuming on ${where} would send writes after the failover point there, where they are lost; clients waiting longer than PgBouncer's query_wait_timeout get errors`,
        data: { database: entry.alias, reason, maxPauseSeconds: maxPauseMs / 1000, kept: true }
      })
      return
    }
    holding = undefined
    note({
      type: 'pgbouncer_pause_expired',
      severity: 'warn',
      message: `PgBouncer has held ${entry.alias} for PGBOUNCER_MAX_PAUSE=${maxPauseMs / 1000}s (${reason}): resuming on ${where} before its clients time out`,
      data: { database: entry.alias, reason, maxPauseSeconds: maxPauseMs / 1000, kept: false }
    })
    kick()
  }

  return {
    apply(target) {
      wanted = { ...target }
      kick()
    },
    hold(reason, keep = false) {
      if (maxPauseMs === 0 || closing.signal.aborted) return
      if (holding !== undefined) {
        holding.reason = reason
        holding.keep = keep
        return changed()
      }
      const timer = setTimeout(expire, maxPauseMs)
      holding = { reason, since: now(), keep, timer }
      kick()
    },
    release() {
      if (holding === undefined) return
      clearTimeout(holding.timer)
      holding = undefined
      kick()
    },
    view,
    async idle() {
      while (draining) await running
    },
    async close() {
      // A resume under way (a switch called off as the sidecar stops) gets one session's time:
      // nobody else would resume PgBouncer before its clients time out. A hold is left as it is.
      if (applied === true && !wantPaused() && draining) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, sessionSeconds * 1000)))])
        clearTimeout(timer)
      }
      closing.abort()
      if (holding !== undefined) clearTimeout(holding.timer)
      wake()
      await running
    }
  }
}
