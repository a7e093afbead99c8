import type { CallOptions, CloudClient, Priority } from '../cloud/client.js'
import { CloudApiError, RateLimitedError, RefusedError } from '../cloud/errors.js'
import type { Config } from '../config/index.js'
import type { Coordinator } from './coordinator.js'
import { createLocalCoordinator } from './coordinator.js'
import { classifyPatchFailure } from './core/patch-outcome.js'
import { initialState, step } from './core/step.js'
import type { Action, CorePolicy, CoreState, FailoverRequest, FailoverResult, Input, Reading } from './core/types.js'
import { view } from './core/view.js'
import { createEventLog, type EngineEvent, type EventInput } from './events.js'
import type { FenceView, PoolerView, Snapshot } from './snapshot.js'
import type { StateStore } from './state-file.js'
import type { Observation } from './verdict.js'
import type { SqlProbe as OwnedSqlProbe } from '../sql/probe.js'

export type { BlockCode, FailoverPlan, FailoverRequest, FailoverResult } from './core/types.js'
export { streamView } from './stream-view.js'

// The engine's shell: it performs what the decision core (core/step.ts) asks for (reads,
// the PATCH, the coordinator, the state file), feeds the results back, keeps the timer,
// and publishes the core's snapshot and events. Checks and failover attempts run one
// at a time, in order.

// The part of the Cloud API client the engine uses.
export type EngineCloud = Pick<CloudClient, 'getCluster' | 'listNodes' | 'getStream' | 'patchStream' | 'discoverStream'>

// The part of a SQL probe (src/sql/probe.ts) the engine uses; closing it is its owner's.
export type SqlProbe = Pick<OwnedSqlProbe, 'check'>

export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout)
}

export type EngineSettings = Pick<Config, 'pair' | 'timeline' | 'sql'>

export interface EngineDeps {
  settings: EngineSettings
  cloud: EngineCloud
  // SQL probes by cluster id; a cluster without one is judged on the API alone.
  probes?: Record<string, SqlProbe>
  clock?: Clock
  coordinator?: Coordinator
  // STATE_FILE: read at start, written on each change.
  store?: StateStore
  eventCapacity?: number
}

export interface CheckRecord {
  clusterId: string
  verdict: Snapshot['clusters'][number]['verdict']
  reason: string
  durationMs: number
}

export interface Engine {
  start(): void
  stop(): Promise<void>
  snapshot(): Snapshot
  events(limit: number): EngineEvent[]
  onEvent(listener: (event: EngineEvent) => void): () => void
  onCheck(listener: (check: CheckRecord) => void): () => void
  // Called with each new snapshot, once it has replaced the previous one.
  onPublish(listener: (snapshot: Snapshot) => void): () => void
  failover(request: Omit<FailoverRequest, 'trigger'>): Promise<FailoverResult>
  pause(by: string): boolean
  resume(by: string): boolean
  // Resolves after the next check has finished (tests and the CLI use it).
  nextCheck(): Promise<Snapshot>
  // Reads the streams and the clusters now, for an operator: what is shown is fresh,
  // and nothing is counted toward a failover.
  refresh(): Promise<Snapshot>
  // Adds an event from outside the engine (operator actions) to the same history.
  record(input: EventInput): EngineEvent
  // What the shell's neighbours hold (PgBouncer's pause, a switchover's fence), published
  // in the snapshot with the core's state.
  annotate(patch: Partial<Annotations>): void
}

export interface Annotations {
  pooler: PoolerView | null
  fence: FenceView | null
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export function corePolicy(settings: EngineSettings, probes: Record<string, SqlProbe>): CorePolicy {
  const { pair, timeline, sql } = settings
  return {
    pair: { primaryClusterId: pair.primaryClusterId, standbyClusterId: pair.standbyClusterId },
    threshold: timeline.failureThreshold,
    intervalMs: timeline.intervalSeconds * 1000,
    suspectIntervalMs: timeline.suspectIntervalSeconds * 1000,
    delayMs: timeline.failoverDelaySeconds * 1000,
    timeoutMs: timeline.checkTimeoutSeconds * 1000,
    autoFailover: timeline.autoFailover,
    maxDataLossSeconds: timeline.maxDataLossSeconds,
    configuredFailoverAt: timeline.failoverToLatest ? undefined : timeline.failoverAtTimestamp,
    configuredStreamId: pair.streamId,
    failoverTimeoutMs: timeline.failoverTimeoutSeconds * 1000,
    activationTimeoutMs: timeline.activationTimeoutSeconds * 1000,
    stateMaxAgeMs: timeline.stateMaxAgeSeconds * 1000,
    evidence: timeline.unhealthyEvidence,
    probed: Object.keys(probes),
    sql: {
      [pair.primaryClusterId]: { dns: sql.primaryDns, port: sql.primaryPort },
      [pair.standbyClusterId]: { dns: sql.standbyDns, port: sql.standbyPort }
    }
  }
}

// What a failed PATCH was, in the terms of the core.
function patchFailure(err: unknown, now: number) {
  const api = err instanceof CloudApiError ? err : undefined
  return classifyPatchFailure(
    {
      error: describe(err),
      rateLimited: api instanceof RateLimitedError,
      retryAfterMs: api?.retryAfterMs,
      refused: api instanceof RefusedError,
      readBack: api?.stream
    },
    now
  )
}

async function reading<T>(read: () => Promise<T>): Promise<Reading<T>> {
  try {
    return { ok: true, value: await read() }
  } catch (err) {
    return { ok: false, error: describe(err) }
  }
}

export function createEngine(deps: EngineDeps): Engine {
  const { settings, cloud } = deps
  const clock = deps.clock ?? systemClock
  const coordinator = deps.coordinator ?? createLocalCoordinator()
  const probes = deps.probes ?? {}
  const policy = corePolicy(settings, probes)
  const log = createEventLog({ capacity: deps.eventCapacity ?? 500, now: clock.now })
  const checkListeners = new Set<(check: CheckRecord) => void>()
  const publishListeners = new Set<(snapshot: Snapshot) => void>()
  let state: CoreState = initialState(policy)
  let current = view(state, policy, clock.now())
  let running = false
  let timer: unknown
  let armedAt: number | undefined
  let queue: Promise<unknown> = Promise.resolve()
  let inFlight: Promise<unknown> | undefined
  let waiters: Array<(s: Snapshot) => void> = []
  let saveFailing = false
  let annotations: Annotations = { pooler: null, fence: null }

  function publish(): void {
    current = { ...view(state, policy, clock.now()), ...annotations }
    for (const listener of publishListeners) listener(current)
  }

  function save(action: Extract<Action, { type: 'persist' }>): void {
    if (deps.store === undefined) return
    const saved = deps.store.save(action.state)
    if (!saved.ok && !saveFailing) {
      log.emit({ type: 'state_file_failed', severity: 'error', message: `STATE_FILE ${deps.store.path} could not be written: ${saved.error}`, data: { error: saved.error } })
    }
    saveFailing = !saved.ok
  }

  // One step of the core; its bookkeeping actions are done here, its I/O returned.
  function apply(input: Input): Action[] {
    const out = step(state, input, clock.now(), policy)
    state = out.state
    for (const action of out.actions) {
      if (action.type === 'emit') log.emit(action.event)
      if (action.type === 'persist') save(action)
      if (action.type === 'checked') {
        const { clusterId, judgement, durationMs } = action
        for (const listener of checkListeners) listener({ clusterId, verdict: judgement.verdict, reason: judgement.reason, durationMs })
      }
    }
    // Readers see each step's outcome before the shell waits on the next read.
    publish()
    return out.actions
  }

  // The reads of one check run one after another (the stream, then each cluster and its
  // nodes) within HEALTH_CHECK_TIMEOUT. Each gets at least a third of it, whatever the
  // reads before it took, and the time they left over besides.
  function within(deadline: number, readsAfter: number, priority: Priority): CallOptions {
    const share = policy.timeoutMs / 3
    return { budgetMs: Math.max(share, deadline - clock.now() - readsAfter * share), priority }
  }

  async function observe(clusterId: string, probe: boolean, deadline: number, priority: Priority): Promise<Input & { kind: 'standby' }> {
    const startedAt = clock.now()
    const sqlPromise = probe ? probes[clusterId]?.check() : undefined
    const observation: Observation = { cluster: await reading(() => cloud.getCluster(clusterId, within(deadline, 1, priority))) }
    if (observation.cluster.ok) observation.nodes = await reading(() => cloud.listNodes(clusterId, within(deadline, 0, priority)))
    if (sqlPromise !== undefined) {
      const sql = await sqlPromise
      observation.sql = sql.ok ? { ok: true } : { ok: false, error: sql.error }
    }
    return { kind: 'standby', observed: { clusterId, observation, startedAt } }
  }

  // Performs the one I/O action a step asked for and returns its result as the next input.
  // A look (an operator's read) waits behind what a decision rests on.
  async function perform(action: Action, deadline: number, priority: Priority): Promise<Input | undefined> {
    const fresh: CallOptions = { budgetMs: policy.timeoutMs, priority: 'decide' }
    switch (action.type) {
      case 'list': {
        const call = within(deadline, 2, priority)
        return { kind: 'listed', reading: await reading(() => cloud.discoverStream(policy.pair.primaryClusterId, policy.pair.standbyClusterId, call)) }
      }
      case 'confirm':
        return { kind: 'confirmed', streamId: action.streamId, reading: await reading(() => cloud.getStream(action.streamId, within(deadline, 2, priority))) }
      case 'observe': {
        // Both clusters are read at once, within the one check's deadline.
        const [watched, other] = await Promise.all([
          observe(action.watched, action.probeWatched, deadline, priority),
          action.other === undefined ? undefined : observe(action.other, action.probeOther === true, deadline, priority)
        ])
        return { kind: 'observed', watched: watched.observed, other: other?.observed, leader: coordinator.deferTo?.() }
      }
      case 'fresh':
        return { kind: 'fresh', reading: await reading(() => cloud.getStream(action.streamId, fresh)) }
      case 'standby':
        return observe(action.clusterId, false, clock.now() + policy.timeoutMs, 'decide')
      case 'coordinate':
        try {
          const { type: _, ...context } = action
          const decision = await coordinator.mayAct('failover', context)
          return { kind: 'coordinated', decision: decision.allowed ? decision : { allowed: false, reason: decision.reason ?? `coordinator ${coordinator.name} refused` } }
        } catch (err) {
          return { kind: 'coordinated', decision: { error: `coordinator ${coordinator.name} could not be asked: ${describe(err)}` } }
        }
      case 'patch':
        try {
          const result = await cloud.patchStream(action.streamId, action.change, fresh)
          return { kind: 'patched', outcome: { kind: 'applied', stream: result.value, confirmedBy: result.confirmedBy } }
        } catch (err) {
          return { kind: 'patched', outcome: patchFailure(err, clock.now()) }
        }
      default:
        return undefined
    }
  }

  // Feeds one input and everything it leads to through the core; resolves with the
  // result the core gave, if any.
  async function drive(first: Input): Promise<Extract<Action, { type: 'result' }>['result'] | undefined> {
    const deadline = clock.now() + policy.timeoutMs
    const priority: Priority = first.kind === 'tick' && first.look === true ? 'background' : 'decide'
    let input: Input | undefined = first
    let result: Extract<Action, { type: 'result' }>['result'] | undefined
    while (input !== undefined) {
      const actions = apply(input)
      input = undefined
      for (const action of actions) {
        if (action.type === 'result') result = action.result
        else input = (await perform(action, deadline, priority)) ?? input
      }
    }
    return result
  }

  function serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = queue.then(run)
    queue = next.catch(() => undefined)
    return next
  }

  function arm(): void {
    const at = state.nextCheckAt
    if (!running || inFlight !== undefined || at === undefined || at === armedAt) return
    clock.clearTimeout(timer)
    armedAt = at
    timer = clock.setTimeout(tick, Math.max(0, at - clock.now()))
  }

  function tick(): void {
    timer = undefined
    armedAt = undefined
    const run = serialized(async () => {
      try {
        await drive({ kind: 'tick' })
      } catch (err) {
        log.emit({ type: 'check_failed', severity: 'error', message: `check failed unexpectedly: ${describe(err)}`, data: {} })
      }
    })
    inFlight = run.then(() => {
      inFlight = undefined
      const ready = waiters
      waiters = []
      for (const resolve of ready) resolve(current)
      arm()
    })
  }

  function load(): Input {
    const loaded = deps.store?.load()
    if (loaded?.kind === 'loaded') return { kind: 'start', persisted: loaded.state }
    if (loaded?.kind === 'rejected') return { kind: 'start', rejected: loaded.problem }
    return { kind: 'start' }
  }

  // Pausing does no I/O: it takes effect at once, even in the middle of a check.
  function toggle(input: Input & { kind: 'pause' | 'resume' }): boolean {
    return apply(input).some((a) => a.type === 'result' && 'changed' in a.result && a.result.changed)
  }

  return {
    start() {
      if (running) return
      running = true
      apply(load())
      arm()
    },
    async stop() {
      if (!running) return
      running = false
      clock.clearTimeout(timer)
      await inFlight
      apply({ kind: 'stop' })
    },
    snapshot: () => current,
    events: (limit) => log.recent(limit),
    onEvent: (listener) => log.subscribe(listener),
    onCheck(listener) {
      checkListeners.add(listener)
      return () => checkListeners.delete(listener)
    },
    onPublish(listener) {
      publishListeners.add(listener)
      return () => publishListeners.delete(listener)
    },
    async failover(request) {
      const result = await serialized(() => drive({ kind: 'request', request: { ...request, trigger: 'manual' } }))
      arm()
      return result as FailoverResult
    },
    pause: (by) => toggle({ kind: 'pause', by }),
    resume: (by) => toggle({ kind: 'resume', by }),
    nextCheck: () => new Promise((resolve) => waiters.push(resolve)),
    async refresh() {
      await serialized(() => drive({ kind: 'tick', look: true }))
      return current
    },
    record: (input) => log.emit(input),
    annotate(patch) {
      annotations = { ...annotations, ...patch }
      publish()
    }
  }
}
