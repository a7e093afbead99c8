import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { API_RATE_LIMIT, DEFAULT_RATE_LIMIT } from '../../src/cloud/rate-budget.js'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import type { Postgres } from '../postgres.js'
import { PRIMARY, STANDBY, STREAM, type Cloud } from '../stack.js'
import { primaryPlan, type FaultBurst, type PrimaryState, type Schedule } from './schedule.js'
import { startSidecar, type UnexpectedExit } from './sidecar.js'
import { waitFor } from '../wait-for.js'

// Plays a schedule against the emulator, a real PostgreSQL and the real service
// process, and records what really happened and when (wall clock, the same
// clock as the emulator's request log): the ground truth, and every answer of
// /connection and /health.

export const policy = { intervalMs: 100, timeoutMs: 300, threshold: 3, delayMs: 200 }
// The policy checks ten times as often as the operator (every second): the API's
// limit per key, and the service's default share of it, are ten times theirs too.
const speedup = 1000 / policy.intervalMs
export const apiRateLimit = API_RATE_LIMIT * speedup
export const serviceRateLimit = DEFAULT_RATE_LIMIT * speedup
const pollMs = 20

/** A change of the world: `begin` before it was asked for, `end` once it had surely happened. */
export interface Change<T> {
  value: T
  begin: number
  end: number
}

export interface Answer {
  /** When the answer arrived; `sent`: when the request was sent (the service answered in between). */
  at: number
  sent?: number
  path: '/connection' | '/health'
  status: number
  clusterId?: string
  code?: string
}

/** A PATCH the emulator received; `reached` when it changed the stream (served, even if its answer was then lost). */
export interface Patch {
  at: number
  status: number | null
  reached: boolean
  /** Answered, unserved, 429 or 503 with Retry-After: the API said to ask again later, so it was not asked. */
  refused: boolean
}

export interface Trace {
  schedule: Schedule
  start: number
  end: number
  nodes: Array<Change<PrimaryState>>
  sqlUp: Array<Change<boolean>>
  /** Each burst with the span in which it may have touched a request (a hang lingers until the client's timeout). */
  faults: Array<{ burst: FaultBurst; id: string; from: number; until: number }>
  /** Each SIGKILL, and when the next process listened (Infinity when it never did). */
  kills: Array<{ at: number; readyAt: number }>
  patches: Patch[]
  /** When each API request arrived, refused or not: what the service processes sent. */
  requests: number[]
  /** The newest stream's status, sampled at every poll. */
  streams: Array<{ at: number; status: string }>
  answers: Answer[]
  maxRssKb: number
  /** Open file descriptors of each process, sampled while it listened; `sinceReady`: ms since it began listening. */
  fdSamples: Array<{ at: number; pid: number; count: number; sinceReady: number }>
  eventCounts: number[]
  /** The last process's events at the end, for a closer look at a failing schedule. */
  events?: unknown[]
  unexpectedExits: UnexpectedExit[]
}

/** A schedule's trace before anything was recorded. */
export function emptyTrace(schedule: Schedule, unexpectedExits: UnexpectedExit[] = []): Trace {
  return {
    schedule,
    start: 0,
    end: 0,
    nodes: [],
    sqlUp: [],
    faults: [],
    kills: [],
    patches: [],
    requests: [],
    streams: [],
    answers: [],
    maxRssKb: 0,
    fdSamples: [],
    eventCounts: [],
    unexpectedExits
  }
}

export interface ChaosContext {
  cloud: Cloud
  postgres: Postgres
}

function sidecarEnv(ctx: ChaosContext): Record<string, string> {
  return {
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    COCKROACH_API_URL: ctx.cloud.url,
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    HEALTH_CHECK_INTERVAL: String(policy.intervalMs / 1000),
    HEALTH_CHECK_TIMEOUT: String(policy.timeoutMs / 1000),
    FAILURE_THRESHOLD: String(policy.threshold),
    FAILOVER_DELAY: String(policy.delayMs / 1000),
    PRIMARY_CLUSTER_ENDPOINT: ctx.postgres.url(),
    UNHEALTHY_EVIDENCE: 'both',
    CLOUD_API_RATE_LIMIT: String(serviceRateLimit),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info'
  }
}

// Each schedule's service runs in a directory of its own (no .env there).
const tempDirs = new Set<string>()

function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** Removes the service directories of schedules still being played (for a runner interrupted by a signal). */
export function removeTempDirs(): string[] {
  const dirs = [...tempDirs]
  for (const dir of dirs) removeTempDir(dir)
  return dirs
}

type Action = { at: number; run: () => Promise<void> }

async function get(url: string, path: string): Promise<{ status: number; body: any } | undefined> {
  try {
    const res = await fetch(url + path, {
      headers: { 'x-db-username': 'app', 'x-db-password': 'secret' },
      signal: AbortSignal.timeout(2000)
    })
    const text = await res.text()
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text }
  } catch {
    // Refused or cut: the process is being killed or restarted.
    return undefined
  }
}

export async function runSchedule(ctx: ChaosContext, schedule: Schedule): Promise<Trace> {
  const { cloud, postgres } = ctx
  await cloud.control('POST', '/reset')
  await postgres.start()
  const primary = (await cloud.control('GET', '/state')).clusters.find((c: { id: string }) => c.id === PRIMARY)
  const firstNode: string = primary.nodes[0].name

  const cwd = mkdtempSync(join(tmpdir(), 'pcr-chaos-'))
  tempDirs.add(cwd)
  let sidecar: Awaited<ReturnType<typeof startSidecar>>
  try {
    sidecar = await startSidecar(sidecarEnv(ctx), cwd)
  } catch (err) {
    removeTempDir(cwd)
    throw err
  }
  const trace = emptyTrace(schedule, sidecar.unexpectedExits)
  const restarts: Array<Promise<void>> = []
  let playing = true
  const sampleFds = () => {
    const fds = sidecar.fds()
    const at = Date.now()
    if (fds !== undefined) trace.fdSamples.push({ at, pid: fds.pid, count: fds.count, sinceReady: at - fds.readyAt })
  }
  const kill = () => {
    if (!playing) return
    trace.kills.push({ at: Date.now(), readyAt: Infinity })
    // An unexpected exit is recorded by the sidecar itself.
    restarts.push(sidecar.restart().catch(() => undefined))
  }

  try {
    // The timeline starts once the service knows the active cluster.
    const knowsActive = async () => (await get(sidecar.url() ?? '', '/connection'))?.status === 200
    await waitFor('the service to know the active cluster', knowsActive, { timeoutMs: 60_000, intervalMs: pollMs })
    trace.start = Date.now()

    let killedAfterPatch = false
    const poller = (async () => {
      for (let tick = 0; playing; tick++) {
        const stream = cloud.emulator.state.snapshot().streams.find((s) => s.id === STREAM)
        trace.streams.push({ at: Date.now(), status: stream?.status ?? 'NONE' })
        if (!killedAfterPatch && schedule.killAfterPatchMs !== null && cloud.emulator.requests.list().some((r) => r.method === 'PATCH')) {
          killedAfterPatch = true
          setTimeout(kill, schedule.killAfterPatchMs)
        }
        if (tick % 10 === 0) trace.maxRssKb = Math.max(trace.maxRssKb, sidecar.rssKb() ?? 0)
        if (tick % 5 === 0) sampleFds()
        const url = sidecar.url()
        if (url !== undefined) {
          const sent = Date.now()
          const [connection, health] = await Promise.all([get(url, '/connection'), get(url, '/health')])
          const at = Date.now()
          if (connection !== undefined) {
            trace.answers.push({ at, sent, path: '/connection', status: connection.status, clusterId: connection.body.cluster_id, code: connection.body.code })
          }
          if (health !== undefined) trace.answers.push({ at, sent, path: '/health', status: health.status, code: health.body.status })
        }
        await sleep(pollMs)
      }
    })()

    for (const action of compile(schedule, { cloud, postgres, firstNode, trace, kill })) {
      const wait = trace.start + action.at - Date.now()
      if (wait > 0) await sleep(wait)
      await action.run()
    }
    const endAt = trace.start + schedule.totalMs
    if (endAt > Date.now()) await sleep(endAt - Date.now())
    trace.end = Date.now()
    playing = false
    await poller

    // Events are capped whatever happened before. A process still starting at the
    // end (restarted late) is not waited for: it has nothing to show yet, and a
    // start takes seconds on a loaded machine.
    const url = sidecar.url()
    const events = url === undefined ? undefined : await get(url, '/events?limit=500')
    if (events?.status === 200) {
      trace.eventCounts.push(events.body.events.length)
      trace.events = events.body.events
    }
    trace.maxRssKb = Math.max(trace.maxRssKb, sidecar.rssKb() ?? 0)
    sampleFds()
    await sidecar.stop()
    await Promise.all(restarts)
    for (const k of trace.kills) k.readyAt = sidecar.readyTimes.find((r) => r >= k.at) ?? Infinity
    const servedFirst = new Set(trace.faults.filter((f) => f.burst.after).map((f) => f.id))
    const saidRetryAfter = new Set(trace.faults.filter((f) => 'retry_after_seconds' in f.burst).map((f) => f.id))
    trace.requests = cloud.emulator.requests.list().map((r) => Date.parse(r.at))
    trace.patches = cloud.emulator.requests
      .list()
      .filter((r) => r.method === 'PATCH')
      .map((r) => {
        const reached = r.fault === null ? r.status !== null && r.status < 300 : servedFirst.has(r.fault)
        // The emulator's own rate limit answers 429 with Retry-After.
        const refused = !reached && (r.fault === null ? r.status === 429 : saidRetryAfter.has(r.fault))
        return { at: Date.parse(r.at), status: r.status, reached, refused }
      })
    return trace
  } finally {
    await sidecar.stop()
    removeTempDir(cwd)
    await cloud.control('DELETE', '/faults')
  }
}

/** The emulator's fault for a burst; `after` only when set, as the listing faults refuse it. */
export function faultSpec(burst: FaultBurst): Record<string, unknown> {
  const { at: _at, ms, after, ...spec } = burst
  return { ...spec, ...(after && { after }), duration_seconds: ms / 1000 }
}

interface CompileDeps {
  cloud: Cloud
  postgres: Postgres
  firstNode: string
  trace: Trace
  kill: () => void
}

// The schedule as timed actions, each recording when it began and ended.
function compile(schedule: Schedule, deps: CompileDeps): Action[] {
  const { cloud, postgres, firstNode, trace } = deps
  const actions: Action[] = []
  const timed = async <T>(list: Array<Change<T>>, value: T, fn: () => Promise<void>) => {
    const begin = Date.now()
    await fn()
    list.push({ value, begin, end: Date.now() })
  }

  const plan = primaryPlan(schedule)
  let previous: PrimaryState = 'healthy'
  for (const step of plan) {
    if (step.state === previous) continue
    previous = step.state
    const state = step.state
    actions.push({
      at: step.at,
      run: () =>
        timed(trace.nodes, state, async () => {
          await cloud.setNodes(PRIMARY, state === 'down' ? 'NOT_READY' : 'LIVE')
          if (state === 'one-node-down') await cloud.setNodes(PRIMARY, 'NOT_READY', [firstNode])
        })
    })
  }

  // PostgreSQL is down while the primary is, and during the SQL outages.
  const stateAt = (at: number) => [...plan].reverse().find((p) => p.at <= at)?.state ?? 'healthy'
  const points = [...new Set([...plan.map((p) => p.at), ...schedule.sqlOutages.flatMap((o) => [o.at, o.at + o.ms])])]
    .filter((at) => at < schedule.totalMs)
    .sort((a, b) => a - b)
  let sqlUp = true
  for (const at of points) {
    const up = stateAt(at) !== 'down' && !schedule.sqlOutages.some((o) => o.at <= at && at < o.at + o.ms)
    if (up === sqlUp) continue
    sqlUp = up
    actions.push({ at, run: () => timed(trace.sqlUp, up, () => (up ? postgres.start() : postgres.stop())) })
  }

  for (const burst of schedule.faults) {
    // A Retry-After answered at the end of the burst closes the client's gate for that much longer.
    const waitMs = 'retry_after_seconds' in burst ? burst.retry_after_seconds * 1000 : 0
    actions.push({
      at: burst.at,
      run: async () => {
        const from = Date.now()
        const { id } = await cloud.control('POST', '/faults', faultSpec(burst))
        trace.faults.push({ burst, id, from, until: Date.now() + burst.ms + policy.timeoutMs + 100 + waitMs })
      }
    })
  }

  for (const at of schedule.kills) actions.push({ at, run: async () => deps.kill() })
  return actions.sort((a, b) => a.at - b.at)
}
