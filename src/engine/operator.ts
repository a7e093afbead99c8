import type { CallOptions, CloudClient } from '../cloud/client.js'
import { CloudApiError } from '../cloud/errors.js'
import type { ClusterDisruptionInfo, RegionalDisruptorSpecification, Stream } from '../cloud/schemas.js'
import type { Config } from '../config/index.js'
import { streamView, type Clock, type Engine, type FailoverPlan, type FailoverResult } from './engine.js'
import { deadline, pause } from './operation-timers.js'
import type { Operation, OperationHandle, Operations } from './operations.js'
import type { Snapshot, StreamView } from './snapshot.js'
import { fenceMarginMs, replicatedPast, switchoverRefusal } from './switchover.js'
import { isLive } from './topology.js'

// What operators do beyond watching: create the stream (setup), fail over and
// fail back by hand, and disrupt a cluster for a drill. The HTTP admin routes
// and the CLI both go through here, so both follow the same rules.

export class OperatorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    // The HTTP status the admin API answers with.
    readonly status: 400 | 404 | 409 | 502 | 503
  ) {
    super(message)
    this.name = 'OperatorError'
  }
}

export interface OperatorDeps {
  engine: Engine
  cloud: Pick<CloudClient, 'createStream' | 'getStream' | 'getCluster' | 'getDisruption' | 'putDisruption'>
  settings: {
    pair: Pick<Config['pair'], 'primaryClusterId' | 'standbyClusterId'>
    timeline: Pick<
      Config['timeline'],
      | 'intervalSeconds'
      | 'checkTimeoutSeconds'
      | 'failoverTimeoutSeconds'
      | 'activationTimeoutSeconds'
      | 'failbackTimeoutSeconds'
      | 'failbackProgressIntervalSeconds'
      | 'switchoverTimeoutSeconds'
      | 'switchoverDrainSeconds'
    >
    // PgBouncer is followed and may pause: a switchover can fence writes with it.
    pooled?: boolean
  }
  clock: Clock
  operations: Operations
}

export interface ManualFailover {
  requestedBy: string
  failoverAt?: string
  allowDataLoss?: boolean
  dryRun?: boolean
}

export interface FailoverStarted {
  outcome: 'started' | 'adopted' | 'dry_run'
  plan: FailoverPlan
  stream?: StreamView
  operationId?: string
}

export interface FailbackStatus {
  stream: StreamView | null
  activeClusterId: string | null
  // True when the reverse stream is REPLICATING with a lag within the limit.
  ready: boolean
  reason: string
}

export interface SwitchoverRequest {
  requestedBy: string
  // Bounds the fence and the wait for replicated_time; SWITCHOVER_TIMEOUT by default.
  timeoutSeconds?: number
  // Go on without PgBouncer to fence writes: only the sidecar's own answers are fenced.
  unfenced?: boolean
}

export interface DisruptionRequest {
  confirm?: string
  clusterId?: string
  regionCode?: string
  pods?: string[]
  azs?: string[]
}

export interface Operator {
  setup(requestedBy: string): Promise<StreamView>
  createFailbackStream(requestedBy: string): Promise<StreamView>
  failbackStatus(maxLagSeconds: number): Promise<FailbackStatus>
  failover(request: ManualFailover): Promise<FailoverStarted>
  initiateFailback(request: ManualFailover): Promise<FailoverStarted>
  // timeoutSeconds bounds the wait for the reverse stream to replicate; FAILBACK_TIMEOUT by default.
  startFailbackFull(requestedBy: string, options: { maxLagSeconds: number; timeoutSeconds?: number }): Operation
  // Checks what it needs now (fresh reads), then runs in the background as an operation.
  switchover(request: SwitchoverRequest): Promise<Operation>
  disrupt(requestedBy: string, request: DisruptionRequest): Promise<ClusterDisruptionInfo>
  restore(requestedBy: string, clusterId?: string): Promise<ClusterDisruptionInfo>
  disruptionStatus(): Promise<Array<{ clusterId: string; disruption: ClusterDisruptionInfo }>>
  operation(id: string): Operation | undefined
  // Ends the running operation failed (the service is stopping) and releases what it holds.
  close(reason: string): void
}

type Refusal = Extract<FailoverResult, { outcome: 'blocked' | 'failed' | 'refused' }>
type Started = Extract<FailoverResult, { outcome: 'started' | 'adopted' }>

function refusal(result: Refusal): OperatorError {
  if (result.outcome === 'blocked') return new OperatorError(result.code, result.reason, 409)
  // Refused: the API did not apply the PATCH (rate limit, a 4xx); asking again later may work.
  return result.outcome === 'refused'
    ? new OperatorError('failover_refused', result.reason, 503)
    : new OperatorError('failover_failed', result.reason, 502)
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

// The API refusing what was asked (a 4xx other than 429): asking again will not help.
function refusedByApi(err: unknown): boolean {
  return err instanceof CloudApiError && (err.kind === 'refused' || (err.kind === 'http' && (err.status ?? 500) < 500))
}

// "2 h 05 min", "4 min 10 s", "12 s": the durations of a re-seed.
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

// Where a reverse stream is on its way to a failback, for progress and errors.
function failbackStage(s: Stream, maxLagSeconds: number): { phase: string; progress: string } {
  const lag = s.replication_lag_seconds
  if (s.status === 'STARTING') return { phase: 'stream_starting', progress: `stream ${s.id} is STARTING (network setup)` }
  if (s.status === 'REPLICATING' && s.replicated_time === undefined) {
    return { phase: 'initial_scan', progress: `stream ${s.id} is REPLICATING, initial scan (a full copy onto ${s.standby_cluster_id}; no replicated_time yet)` }
  }
  if (s.status === 'REPLICATING') {
    return { phase: 'catching_up', progress: `stream ${s.id} is REPLICATING, lag ${lag ?? 'unknown'} s (limit ${maxLagSeconds} s), replicated to ${s.replicated_time}` }
  }
  return { phase: 'stream_ended', progress: `stream ${s.id} is ${s.status}` }
}

export function createOperator(deps: OperatorDeps): Operator {
  const { engine, cloud, clock, operations } = deps
  const { pair, timeline } = deps.settings
  const pollMs = Math.min(timeline.intervalSeconds, 5) * 1000
  // An operator's request outlasts a Retry-After (the API names up to a minute when pressed):
  // what was asked for is done, not given up on one refusal.
  const budget: CallOptions = { budgetMs: Math.max(3 * timeline.checkTimeoutSeconds, 60) * 1000 }
  // Polling decides nothing: it waits behind the monitor's checks, and a poll that fails is reported and repeated.
  const poll: CallOptions = { budgetMs: 3 * timeline.checkTimeoutSeconds * 1000, priority: 'background' }
  // The replicated time moves in steps (about 30 s on the real API): polling it faster is no use.
  const replicationPollMs = Math.min(pollMs, 1000)
  const other = (id: string) => (id === pair.primaryClusterId ? pair.standbyClusterId : pair.primaryClusterId)

  function record(type: 'stream_created' | 'operation_started' | 'operation_progress' | 'operation_finished' | 'disruption_changed' | 'fence_raised' | 'fence_lowered', message: string, data: Record<string, string | number | boolean | null>, severity: 'info' | 'warn' | 'error' = 'info') {
    engine.record({ type, message, data, severity })
  }

  function recordFailure(id: string, error: string): void {
    record('operation_finished', `operation ${id} failed: ${error}`, { operationId: id, status: 'failed' }, 'error')
  }

  // Once: an operation already ended (its deadline, the service stopping) stays as it ended.
  function fail(handle: OperationHandle, error: string): void {
    if (handle.signal.aborted) return
    handle.fail(error)
    recordFailure(handle.id, error)
  }

  async function apiCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      // The API refusing what was asked (a 4xx) is a refusal; anything else is the API failing.
      if (refusedByApi(err)) throw new OperatorError('refused', `${what}: ${describe(err)}`, 409)
      throw new OperatorError('api_error', `${what}: ${describe(err)}`, 502)
    }
  }

  // The stream history must be read fresh before anything is created.
  async function freshTopology(): Promise<Snapshot> {
    const s = await engine.refresh()
    if (s.phase === 'activating') {
      throw new OperatorError('activating', `the failover has completed; ${s.watchedClusterId} is activating (its SQL does not answer yet): try again once it is active`, 409)
    }
    if (s.activeClusterId === null && s.stream?.status !== 'FAILING_OVER') {
      throw new OperatorError('unknown', 'the active cluster is not known (the Cloud API could not be read)', 409)
    }
    return s
  }

  // A new stream always goes from the active cluster to the other one, so the
  // cluster that is wiped and re-seeded is never the one serving applications.
  async function createStreamFrom(s: Snapshot, requestedBy: string, purpose: string): Promise<StreamView> {
    const active = s.activeClusterId as string
    const stream = await apiCall('creating the stream', () =>
      cloud.createStream({ primary_cluster_id: active, standby_cluster_id: other(active) }, budget)
    )
    record('stream_created', `${purpose}: stream ${stream.value.id} created from ${active} to ${other(active)} (${requestedBy}); ${other(active)} will be wiped and re-seeded`, {
      streamId: stream.value.id,
      primaryClusterId: active,
      standbyClusterId: other(active),
      requestedBy
    }, 'warn')
    await engine.refresh()
    return streamView(stream.value)
  }

  function refuseLive(s: Snapshot): void {
    if (s.stream !== null && isLive(s.stream)) {
      throw new OperatorError('stream_exists', `stream ${s.stream.id} is already ${s.stream.status}`, 409)
    }
  }

  async function createFailbackStream(requestedBy: string): Promise<StreamView> {
    const s = await freshTopology()
    refuseLive(s)
    if (s.activeClusterId === pair.primaryClusterId) {
      throw new OperatorError('no_failover', 'no failover has completed: the original primary is active; nothing to fail back', 409)
    }
    return createStreamFrom(s, requestedBy, 'failback')
  }

  function reverseStream(s: Snapshot): StreamView | null {
    return s.stream !== null && s.stream.primaryClusterId === pair.standbyClusterId ? s.stream : null
  }

  // Done once the stream is COMPLETED and applications are sent to the new primary
  // (after it answered SQL, or ACTIVATION_TIMEOUT, when it has a probe). The running
  // operation fails if the stream is not COMPLETED within FAILOVER_TIMEOUT of the
  // failover's start (`since`), so that another can begin; the monitor follows the
  // stream on regardless.
  function waitForCompletion(handle: OperationHandle, streamId: string, since: number): void {
    const completed = (s: Snapshot) => s.stream?.id === streamId && s.stream.status === 'COMPLETED'
    const settled = (s: Snapshot): boolean => {
      if (!completed(s)) return false
      if (s.phase === 'activating') {
        handle.update('activating', `stream ${streamId} COMPLETED; waiting for ${s.watchedClusterId} to answer SQL before sending applications there`)
        return false
      }
      handle.succeed(`stream ${streamId} COMPLETED; ${s.activeClusterId} is active`)
      record('operation_finished', `operation ${handle.id} succeeded: ${s.activeClusterId} is active`, { operationId: handle.id, status: 'succeeded' })
      return true
    }
    if (settled(engine.snapshot())) return
    const off = engine.onPublish((s) => void settled(s))
    handle.signal.addEventListener('abort', () => off(), { once: true })
    const failoverTimeout = `FAILOVER_TIMEOUT=${timeline.failoverTimeoutSeconds} s`
    deadline(clock, handle.signal, since + timeline.failoverTimeoutSeconds * 1000 - clock.now(), () => {
      // The snapshot, not only the publishes: one may have been missed.
      const s = engine.snapshot()
      if (settled(s)) return
      if (!completed(s)) {
        const state = s.stream?.id === streamId ? `still ${s.stream.status}` : 'not seen COMPLETED'
        return fail(handle, `stream ${streamId} ${state} after ${failoverTimeout}`)
      }
      // COMPLETED in time: the engine sends applications to the new primary at the
      // latest at its first check past ACTIVATION_TIMEOUT, answering SQL or not.
      const activationMs = (timeline.activationTimeoutSeconds + timeline.intervalSeconds) * 1000
      deadline(clock, handle.signal, activationMs, () => {
        if (settled(engine.snapshot())) return
        fail(handle, `stream ${streamId} COMPLETED, but ${s.watchedClusterId} still activating after ${failoverTimeout} and ACTIVATION_TIMEOUT=${timeline.activationTimeoutSeconds} s`)
      })
    })
  }

  function inProgress(): OperatorError {
    const running = operations.running() as Operation
    return new OperatorError('operation_in_progress', `operation ${running.id} (${running.kind}) is running`, 409)
  }

  // One operation at a time: another is refused while one runs.
  function begin(kind: Operation['kind'], requestedBy: string, phase: string): OperationHandle {
    const handle = operations.begin(kind, requestedBy, phase)
    if (handle === undefined) throw inProgress()
    return handle
  }

  async function failoverAs(request: ManualFailover, kind: 'failover' | 'failback'): Promise<FailoverStarted> {
    const handle = request.dryRun === true ? undefined : begin(kind, request.requestedBy, 'requesting')
    const since = clock.now()
    const result = await engine.failover(request)
    if (result.outcome === 'blocked' || result.outcome === 'failed' || result.outcome === 'refused') {
      handle?.discard()
      throw refusal(result)
    }
    if (result.outcome === 'dry_run') return { outcome: 'dry_run', plan: result.plan }
    const h = handle as OperationHandle
    // The service stopping during the request has ended the operation: nothing to follow.
    if (!h.signal.aborted) {
      h.update('failing_over', `stream ${result.plan.streamId} is ${result.stream.status}`, result.plan.streamId)
      record('operation_started', `operation ${h.id} (${kind}) started by ${request.requestedBy}`, { operationId: h.id, kind, streamId: result.plan.streamId })
      waitForCompletion(h, result.plan.streamId, since)
    }
    return { outcome: result.outcome, plan: result.plan, stream: result.stream, operationId: h.id }
  }

  async function failbackStatus(maxLagSeconds: number): Promise<FailbackStatus> {
    const s = await freshTopology()
    const stream = reverseStream(s)
    if (stream === null) {
      return { stream: null, activeClusterId: s.activeClusterId, ready: false, reason: 'no failback stream: create one first' }
    }
    const lag = stream.replicationLagSeconds
    if (stream.status !== 'REPLICATING') {
      return { stream, activeClusterId: s.activeClusterId, ready: false, reason: `the failback stream is ${stream.status}` }
    }
    if (stream.replicatedTime === null) {
      return { stream, activeClusterId: s.activeClusterId, ready: false, reason: `the failback stream is in its initial scan (a full copy onto ${stream.standbyClusterId}; no replicated_time yet)` }
    }
    if (lag === null || lag > maxLagSeconds) {
      return { stream, activeClusterId: s.activeClusterId, ready: false, reason: `replication lag ${lag ?? 'unknown'} s is above ${maxLagSeconds} s` }
    }
    return { stream, activeClusterId: s.activeClusterId, ready: true, reason: `replicating with ${lag} s of lag` }
  }

  async function runFailbackFull(handle: OperationHandle, requestedBy: string, options: { maxLagSeconds: number; timeoutSeconds?: number }): Promise<void> {
    const step = stepper(handle, 'failback')
    const timeoutSeconds = options.timeoutSeconds ?? timeline.failbackTimeoutSeconds
    const s = await freshTopology()
    // Each step that acts (creating a stream, failing over) first checks that the
    // operation has not ended meanwhile (the service stopping).
    handle.signal.throwIfAborted()
    let stream = reverseStream(s)
    if (stream === null || !isLive(stream)) {
      step('creating_stream', `creating a stream from ${s.activeClusterId} to ${pair.primaryClusterId}`)
      refuseLive(s)
      if (s.activeClusterId === pair.primaryClusterId) {
        throw new OperatorError('no_failover', 'no failover has completed: the original primary is active; nothing to fail back', 409)
      }
      stream = await createStreamFrom(s, requestedBy, 'failback')
    }
    await waitForReplication(handle, (stream as StreamView).id, options.maxLagSeconds, timeoutSeconds, step)
    await engine.refresh()
    handle.signal.throwIfAborted()
    const since = clock.now()
    const outcome = await engine.failover({ requestedBy })
    if (outcome.outcome === 'blocked' || outcome.outcome === 'failed' || outcome.outcome === 'refused') throw refusal(outcome)
    handle.signal.throwIfAborted()
    // No dry run was asked for, so the failover has started.
    const result = outcome as Started
    step('failing_over', `stream ${result.plan.streamId} is ${result.stream.status}`, result.plan.streamId)
    waitForCompletion(handle, result.plan.streamId, since)
  }

  // The reverse stream goes STARTING (network setup), then REPLICATING with an initial
  // scan, a full re-seed of the original primary that can take hours, then catches up.
  // Each stage is reported when reached and every FAILBACK_PROGRESS_INTERVAL after; the
  // API failing meanwhile is polled through until the deadline. The failover that
  // follows has its own, FAILOVER_TIMEOUT (waitForCompletion).
  async function waitForReplication(
    handle: OperationHandle,
    streamId: string,
    maxLagSeconds: number,
    timeoutSeconds: number,
    step: (phase: string, progress: string, streamId?: string) => void
  ): Promise<void> {
    const started = clock.now()
    const endsAt = started + timeoutSeconds * 1000
    const everyMs = timeline.failbackProgressIntervalSeconds * 1000
    let reported: { phase: string; at: number } | undefined
    let stage: { phase: string; progress: string; since: number } | undefined
    for (;;) {
      handle.signal.throwIfAborted()
      let current: Stream | undefined
      let next: { phase: string; progress: string }
      try {
        current = await cloud.getStream(streamId, poll)
        next = failbackStage(current, maxLagSeconds)
      } catch (err) {
        if (refusedByApi(err)) throw new OperatorError('refused', `reading the failback stream: ${describe(err)}`, 409)
        next = { phase: 'stream_unreadable', progress: `stream ${streamId} could not be read (${describe(err)}); still polling until ${new Date(endsAt).toISOString()}` }
      }
      const now = clock.now()
      if (stage?.phase !== next.phase) stage = { ...next, since: now }
      else stage.progress = next.progress
      if (current?.status === 'REPLICATING' && current.replication_lag_seconds !== undefined && current.replication_lag_seconds <= maxLagSeconds) return
      if (current !== undefined && current.status !== 'STARTING' && current.status !== 'REPLICATING') {
        throw new OperatorError('stream_not_replicating', `the failback stream is ${current.status}`, 409)
      }
      if (now > endsAt) {
        throw new OperatorError(
          'timeout',
          `the failback stream did not reach REPLICATING with lag under ${maxLagSeconds} s within ${timeoutSeconds} s (FAILBACK_TIMEOUT, or timeout_seconds); last: ${stage.progress}`,
          409
        )
      }
      if (reported === undefined || reported.phase !== stage.phase || now - reported.at >= everyMs) {
        const within = stage.phase === 'stream_unreadable' ? '' : `, for ${duration(now - stage.since)}`
        step(stage.phase, `${stage.progress}${within}; ${duration(now - started)} of at most ${duration(timeoutSeconds * 1000)}`, streamId)
        reported = { phase: stage.phase, at: now }
      }
      await pause(clock, handle.signal, pollMs)
    }
  }

  // Reports a phase of an operation on the operation and as an event.
  function stepper(handle: OperationHandle, kind: string) {
    return (phase: string, progress: string, streamId?: string) => {
      handle.update(phase, progress, streamId)
      record('operation_progress', `${kind} ${handle.id}: ${phase}: ${progress}`, { operationId: handle.id, phase, progress })
    }
  }

  // Resolves once PgBouncer confirms the PAUSE, or throws at the deadline.
  async function poolerPaused(handle: OperationHandle, endsAt: number, timeoutSeconds: number): Promise<void> {
    const paused = () => engine.snapshot().pooler?.state === 'paused'
    if (paused()) return
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        off()
        if (err === undefined) resolve()
        else reject(err)
      }
      const off = engine.onPublish(() => {
        if (paused()) done()
      })
      handle.signal.addEventListener('abort', () => done(new Error('the operation ended')), { once: true })
      deadline(clock, handle.signal, endsAt - clock.now(), () => {
        const last = engine.events(20).reverse().find((e) => e.type === 'pgbouncer_failed')
        done(new OperatorError('timeout', `PgBouncer did not confirm the PAUSE within the switchover's ${timeoutSeconds} s${last === undefined ? '' : `: ${last.message}`}`, 409))
      })
    })
  }

  async function runSwitchover(handle: OperationHandle, s: Snapshot, request: SwitchoverRequest): Promise<void> {
    const step = stepper(handle, 'switchover')
    const stream = s.stream as StreamView
    const primary = stream.primaryClusterId
    const timeoutSeconds = request.timeoutSeconds ?? timeline.switchoverTimeoutSeconds
    const endsAt = clock.now() + timeoutSeconds * 1000
    const pooled = deps.settings.pooled === true
    const since = new Date(clock.now()).toISOString()
    // Lowered however the operation ends: done, given up, or the service stopping.
    handle.signal.addEventListener(
      'abort',
      () => {
        engine.annotate({ fence: null })
        record('fence_lowered', `switchover ${handle.id}: the write fence on ${primary} is lowered`, { operationId: handle.id, clusterId: primary })
      },
      { once: true }
    )
    engine.annotate({ fence: { clusterId: primary, operationId: handle.id, since } })
    record('fence_raised', `switchover ${handle.id}: writes fenced on ${primary} (/connection, /active and /clusters/${primary}/active answer 503${pooled ? ', PgBouncer pauses' : '; no PgBouncer: applications already connected are not held'})`, { operationId: handle.id, clusterId: primary, pooled })
    if (pooled) {
      step('fencing', `waiting for PgBouncer to hold ${s.pooler?.database ?? 'the alias'} (PAUSE returns once no transaction is in flight)`)
      await poolerPaused(handle, endsAt, timeoutSeconds)
    }
    const drainMs = timeline.switchoverDrainSeconds * 1000
    if (drainMs > 0) {
      step('draining', `SWITCHOVER_DRAIN=${timeline.switchoverDrainSeconds} s for HAProxy and applications re-reading /connection to leave ${primary}`)
      await pause(clock, handle.signal, drainMs)
      handle.signal.throwIfAborted()
    }
    const t = clock.now() + fenceMarginMs
    const at = new Date(t).toISOString()
    step('waiting_for_replication', `fenced; waiting for stream ${stream.id}'s replicated_time to reach ${at}`, stream.id)
    let seen: string | undefined
    for (;;) {
      handle.signal.throwIfAborted()
      let current: Stream | undefined
      try {
        current = await cloud.getStream(stream.id, poll)
        seen = current.replicated_time ?? seen
      } catch (err) {
        if (refusedByApi(err)) throw new OperatorError('refused', `reading the stream: ${describe(err)}`, 409)
      }
      if (current !== undefined && current.status !== 'REPLICATING') throw new OperatorError('stream_not_replicating', `stream ${stream.id} is ${current.status}`, 409)
      if (replicatedPast(current?.replicated_time, t)) break
      if (clock.now() > endsAt) {
        throw new OperatorError(
          'timeout',
          `stream ${stream.id} did not replicate up to the fence ${at} within ${timeoutSeconds} s (SWITCHOVER_TIMEOUT, or timeout_seconds); last replicated_time ${seen ?? 'never read'}; the primary serves again`,
          409
        )
      }
      await pause(clock, handle.signal, replicationPollMs)
    }
    handle.signal.throwIfAborted()
    const started = clock.now()
    // Nothing written after T reached the primary (the fence), so nothing is lost:
    // the data-loss guard, which estimates from the clock, does not apply.
    const outcome = await engine.failover({ requestedBy: request.requestedBy, failoverAt: at, allowDataLoss: true })
    if (outcome.outcome === 'blocked' || outcome.outcome === 'failed' || outcome.outcome === 'refused') throw refusal(outcome)
    handle.signal.throwIfAborted()
    const result = outcome as Started
    step('failing_over', `stream ${result.plan.streamId} is ${result.stream.status}, failing over to ${at}`, result.plan.streamId)
    waitForCompletion(handle, result.plan.streamId, started)
  }

  async function disruptionTarget(clusterId: string | undefined): Promise<string> {
    const s = engine.snapshot()
    const id = clusterId ?? s.watchedClusterId
    if (id !== pair.primaryClusterId && id !== pair.standbyClusterId) {
      throw new OperatorError('unknown_cluster', `cluster ${id} is neither configured cluster`, 404)
    }
    return id
  }

  return {
    async setup(requestedBy) {
      const s = await freshTopology()
      refuseLive(s)
      if (s.activeClusterId !== pair.primaryClusterId) {
        throw new OperatorError('standby_active', `the standby ${s.activeClusterId} is active: creating the stream would wipe it; fail back instead`, 409)
      }
      return createStreamFrom(s, requestedBy, 'setup')
    },
    createFailbackStream,
    failbackStatus,
    failover: (request) => failoverAs(request, 'failover'),
    async initiateFailback(request) {
      const s = await freshTopology()
      if (reverseStream(s) === null) {
        throw new OperatorError('no_failback_stream', 'no failback stream between the clusters: create one first', 409)
      }
      return failoverAs(request, 'failback')
    },
    startFailbackFull(requestedBy, options) {
      const handle = begin('failback', requestedBy, 'starting')
      record('operation_started', `operation ${handle.id} (failback) started by ${requestedBy}`, { operationId: handle.id, kind: 'failback', streamId: null })
      runFailbackFull(handle, requestedBy, options).catch((err: unknown) => fail(handle, describe(err)))
      return operations.get(handle.id) as Operation
    },
    async switchover(request) {
      const s = await freshTopology()
      if (operations.running() !== undefined) throw inProgress()
      const refused = switchoverRefusal(s, { pooled: deps.settings.pooled === true, unfenced: request.unfenced === true })
      if (refused !== undefined) throw new OperatorError(refused.code, refused.reason, 409)
      // The failover's gates, the standby read afresh among them, before anything is fenced.
      const plan = await engine.failover({ requestedBy: request.requestedBy, dryRun: true, allowDataLoss: true })
      if (plan.outcome === 'blocked' || plan.outcome === 'failed' || plan.outcome === 'refused') throw refusal(plan)
      // Begun only now: another operation may have started while the dry run read.
      const handle = begin('switchover', request.requestedBy, 'fencing')
      record('operation_started', `operation ${handle.id} (switchover) started by ${request.requestedBy}`, { operationId: handle.id, kind: 'switchover', streamId: s.stream?.id ?? null })
      runSwitchover(handle, s, request).catch((err: unknown) => fail(handle, describe(err)))
      return operations.get(handle.id) as Operation
    },
    async disrupt(requestedBy, request) {
      const id = await disruptionTarget(request.clusterId)
      if (request.confirm !== id) {
        throw new OperatorError('confirmation_required', `a disruption takes cluster ${id} down: repeat its id in "confirm"`, 400)
      }
      const cluster = await apiCall('reading the cluster', () => cloud.getCluster(id, budget))
      const region = request.regionCode ?? cluster.regions[0]?.name ?? ''
      const partial = (request.pods?.length ?? 0) > 0 || (request.azs?.length ?? 0) > 0
      const spec: RegionalDisruptorSpecification = partial
        ? { region_code: region, is_whole_region: false, ...(request.pods?.length ? { pods: request.pods } : {}), ...(request.azs?.length ? { azs: request.azs } : {}) }
        : { region_code: region, is_whole_region: true }
      const result = await apiCall('disrupting the cluster', () => cloud.putDisruption(id, [spec], budget))
      record('disruption_changed', `cluster ${id} disrupted by ${requestedBy}: ${partial ? `${request.pods?.join(', ') ?? ''}${request.azs?.join(', ') ?? ''} in ` : 'the whole region '}${region}`, { clusterId: id, requestedBy, region, wholeRegion: !partial }, 'warn')
      return result.value
    },
    async restore(requestedBy, clusterId) {
      const id = await disruptionTarget(clusterId)
      const result = await apiCall('ending the disruption', () => cloud.putDisruption(id, [], budget))
      record('disruption_changed', `disruption of cluster ${id} ended by ${requestedBy}`, { clusterId: id, requestedBy })
      return result.value
    },
    async disruptionStatus() {
      return Promise.all(
        [pair.primaryClusterId, pair.standbyClusterId].map(async (clusterId) => ({
          clusterId,
          disruption: await apiCall('reading the disruption', () => cloud.getDisruption(clusterId, budget))
        }))
      )
    },
    operation: (id) => operations.get(id),
    close(reason) {
      const stopped = operations.stop(reason)
      if (stopped !== undefined) recordFailure(stopped.id, reason)
    }
  }
}
