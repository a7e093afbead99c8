import type { CloudClient, StreamChange } from '../cloud/client.js'
import { SQL_PORT, type Cluster, type Stream } from '../cloud/schemas.js'
import type { Config } from '../config.js'
import { CloudApiError } from '../cloud/errors.js'
import { hostPort } from '../sql/host-port.js'
import type { Coordinator, Decision } from './coordinator.js'
import { createLocalCoordinator } from './coordinator.js'
import { createEventLog, type EngineEvent, type EventInput } from './events.js'
import { failoverAtProblem } from './failover-at.js'
import { advance, initialTimeline, nextCheckIn, type TimelineState, type TimelineStep } from './timeline.js'
import { deriveTopology, isLive, type Topology } from './topology.js'
import { judge, type Judgement, type Observation, type Verdict } from './verdict.js'
import { activeCluster, type ClusterView, type FailoverView, type Phase, type Role, type Snapshot, type StreamView } from './snapshot.js'

// The engine: plain TypeScript, no Fastify. It runs the checks, derives the
// topology from the streams, decides, acts, and publishes an immutable snapshot
// plus events. It is the only writer; everything else reads.

// The part of the Cloud API client the engine uses.
export type EngineCloud = Pick<CloudClient, 'getCluster' | 'listNodes' | 'getStream' | 'patchStream' | 'discoverStream'>

export type ProbeResult = { ok: true; latencyMs: number } | { ok: false; error: string; latencyMs: number }

export interface SqlProbe {
  check(): Promise<ProbeResult>
}

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

export type EngineSettings = Pick<
  Config,
  | 'primaryClusterId'
  | 'standbyClusterId'
  | 'streamId'
  | 'healthCheckIntervalSeconds'
  | 'healthCheckTimeoutSeconds'
  | 'failureThreshold'
  | 'failoverDelaySeconds'
  | 'failoverToLatest'
  | 'failoverAtTimestamp'
  | 'autoFailover'
  | 'maxDataLossSeconds'
  | 'failoverTimeoutSeconds'
  | 'activationTimeoutSeconds'
  | 'primarySqlDns'
  | 'primarySqlPort'
  | 'standbySqlDns'
  | 'standbySqlPort'
  | 'unhealthyEvidence'
>

export interface EngineDeps {
  settings: EngineSettings
  cloud: EngineCloud
  // SQL probes by cluster id; a cluster without one is judged on the API alone.
  probes?: Record<string, SqlProbe>
  clock?: Clock
  coordinator?: Coordinator
  eventCapacity?: number
}

type SqlReading = NonNullable<Observation['sql']>

export interface CheckRecord {
  clusterId: string
  verdict: Verdict
  reason: string
  durationMs: number
}

export interface FailoverRequest {
  trigger: 'auto' | 'manual'
  requestedBy: string
  failoverAt?: string
  allowDataLoss?: boolean
  dryRun?: boolean
}

export type BlockCode =
  | 'in_progress'
  | 'no_stream'
  | 'stream_not_replicating'
  | 'initial_scan'
  | 'standby_unusable'
  | 'data_loss'
  | 'data_loss_unknown'
  | 'auto_disabled'
  | 'paused'
  | 'coordinator'
  | 'already_patched'
  | 'api_unavailable'
  | 'failover_at_out_of_range'

export interface FailoverPlan {
  streamId: string
  fromClusterId: string
  toClusterId: string
  failoverAt: string | null
  estimatedDataLossSeconds: number | null
}

export type FailoverResult =
  | { outcome: 'started' | 'adopted'; plan: FailoverPlan; stream: StreamView }
  | { outcome: 'dry_run'; plan: FailoverPlan }
  | { outcome: 'blocked'; code: BlockCode; reason: string }
  | { outcome: 'failed'; reason: string }

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
  // Runs a check now (after the one in flight, if any) and resolves with its snapshot.
  refresh(): Promise<Snapshot>
  // Adds an event from outside the engine (operator actions) to the same history.
  record(input: EventInput): EngineEvent
}

interface ClusterRecord {
  cluster?: Cluster
  judgement: Judgement
  checkedAt?: number
}

interface FailoverRecord {
  streamId: string
  trigger: FailoverView['trigger']
  requestedBy: string
  startedAt: number
  failoverAt?: string
  completedAt?: number
  timedOut: boolean
}

// After COMPLETED, the new primary's SQL probe must answer (or ACTIVATION_TIMEOUT pass)
// before applications are sent there: its virtual cluster is brought online by then.
interface ActivationRecord {
  streamId: string
  clusterId: string
  since: number
  lastError?: string
  // How the wait ended; undefined while applications are still held back.
  settled?: 'answered' | 'timed_out' | 'no_probe'
}

const unknownJudgement: Judgement = { verdict: 'unknown', reason: 'not checked yet', nodesLive: undefined, nodesTotal: undefined }

// While a failover runs, the stream is polled at least this often, so traffic
// moves within about 2 s of COMPLETED whatever the interval.
const maxFailoverPollMs = 2000
// The cluster that is not watched is read less often; it only matters for display
// and is read again, fresh, right before any failover.
const otherClusterRefreshMs = 30_000

function describe(err: unknown): string {
  if (err instanceof CloudApiError) return err.message
  return err instanceof Error ? err.message : String(err)
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}

export function streamView(s: Stream): StreamView {
  return {
    id: s.id,
    status: s.status,
    primaryClusterId: s.primary_cluster_id,
    standbyClusterId: s.standby_cluster_id,
    createdAt: s.created_at,
    replicatedTime: s.replicated_time ?? null,
    retainedTime: s.retained_time ?? null,
    replicationLagSeconds: s.replication_lag_seconds ?? null,
    activatedAt: s.activated_at ?? null
  }
}

export function createEngine(deps: EngineDeps): Engine {
  const { settings, cloud } = deps
  const clock = deps.clock ?? systemClock
  const coordinator = deps.coordinator ?? createLocalCoordinator()
  const probes = deps.probes ?? {}
  const log = createEventLog({ capacity: deps.eventCapacity ?? 500, now: clock.now })
  const checkListeners = new Set<(check: CheckRecord) => void>()
  const publishListeners = new Set<(snapshot: Snapshot) => void>()
  const pair = { primaryClusterId: settings.primaryClusterId, standbyClusterId: settings.standbyClusterId }
  const policy = {
    threshold: settings.failureThreshold,
    intervalMs: settings.healthCheckIntervalSeconds * 1000,
    delayMs: settings.failoverDelaySeconds * 1000
  }
  const timeoutMs = settings.healthCheckTimeoutSeconds * 1000

  let topology: Topology | undefined
  let timeline: TimelineState = initialTimeline
  const clusters = new Map<string, ClusterRecord>([
    [pair.primaryClusterId, { judgement: unknownJudgement }],
    [pair.standbyClusterId, { judgement: unknownJudgement }]
  ])
  let lastHealthyAt: number | undefined
  // The newest replicated_time seen, per stream: the data-loss estimate's lower end.
  let replicated: { streamId: string; at: number } | undefined
  let paused: { by: string } | undefined
  let blocked: { code: BlockCode; reason: string } | undefined
  // The fleet's leader this sidecar left a confirmed failover to, once said.
  let deferredTo: string | undefined
  let failover: FailoverRecord | undefined
  let activation: ActivationRecord | undefined
  // Failover attempts run one at a time; a second waits for the first, then sees its result.
  let attempts: Promise<unknown> = Promise.resolve()
  const patchedStreams = new Set<string>()
  let lastCheckAt: number | undefined
  let monitorStartedAt: number | undefined
  let checks = 0
  let running = false
  let timer: unknown
  let inFlight: Promise<void> | undefined
  let waiters: Array<(s: Snapshot) => void> = []
  let current: Snapshot = buildSnapshot()

  function emit(input: EventInput): void {
    log.emit(input)
  }

  function sqlDnsOf(id: string): string | null {
    const override = id === pair.primaryClusterId ? settings.primarySqlDns : settings.standbySqlDns
    return override ?? clusters.get(id)?.cluster?.regions[0]?.sql_dns ?? null
  }

  function sqlPortOf(id: string): number {
    return (id === pair.primaryClusterId ? settings.primarySqlPort : settings.standbySqlPort) ?? SQL_PORT
  }

  function roleOf(id: string): Role {
    const stream = topology?.stream
    if (stream !== undefined && isLive(stream)) {
      return stream.primary_cluster_id === id ? 'primary' : 'standby'
    }
    return (topology?.activeClusterId ?? pair.primaryClusterId) === id ? 'primary' : 'detached'
  }

  // The activation still holding applications back, if any.
  function activating(): ActivationRecord | undefined {
    const stream = topology?.stream
    if (stream?.status !== 'COMPLETED' || activation?.streamId !== stream.id || activation.settled !== undefined) return undefined
    return activation
  }

  function phaseOf(): Phase {
    if (topology?.stream?.status === 'FAILING_OVER') return 'failing_over'
    if (topology === undefined && checks === 0) return 'starting'
    if (activating() !== undefined) return 'activating'
    if (timeline.phase === 'confirmed') return blocked !== undefined ? 'blocked' : 'delay'
    if (timeline.phase !== 'normal') return timeline.phase
    return topology?.stream?.status === 'COMPLETED' ? 'completed' : 'normal'
  }

  function estimateDataLossSeconds(): number | undefined {
    if (lastHealthyAt === undefined || replicated === undefined || replicated.streamId !== topology?.stream?.id) {
      return undefined
    }
    return Math.max(0, (lastHealthyAt - replicated.at) / 1000)
  }

  function buildSnapshot(): Snapshot {
    const views: ClusterView[] = [pair.primaryClusterId, pair.standbyClusterId].map((id) => {
      const record = clusters.get(id) as ClusterRecord
      return {
        id,
        name: record.cluster?.name ?? null,
        role: roleOf(id),
        state: record.cluster?.state ?? null,
        operationStatus: record.cluster?.operation_status ?? null,
        verdict: record.judgement.verdict,
        reason: record.judgement.reason,
        nodesLive: record.judgement.nodesLive ?? null,
        nodesTotal: record.judgement.nodesTotal ?? null,
        sqlDns: sqlDnsOf(id),
        sqlPort: sqlPortOf(id),
        lastCheckedAt: iso(record.checkedAt)
      }
    })
    const failures = timeline.phase === 'normal' ? 0 : timeline.failures
    return Object.freeze({
      phase: phaseOf(),
      activeClusterId: topology === undefined || activating() !== undefined ? null : (topology.activeClusterId ?? null),
      watchedClusterId: topology?.watchedClusterId ?? pair.primaryClusterId,
      failoverTargetId: topology?.failoverTargetId ?? null,
      clusters: views,
      stream: topology?.stream === undefined ? null : streamView(topology.stream),
      consecutiveFailures: failures,
      threshold: policy.threshold,
      delayEndsAt: timeline.phase === 'delay' ? iso(timeline.delayEndsAt) : null,
      blockedReason: timeline.phase === 'confirmed' ? (blocked?.reason ?? null) : null,
      paused: paused !== undefined,
      autoFailover: settings.autoFailover,
      lastCheckAt: iso(lastCheckAt),
      monitorStartedAt: iso(monitorStartedAt),
      lastHealthyAt: iso(lastHealthyAt),
      estimatedDataLossSeconds: estimateDataLossSeconds() ?? null,
      failover:
        failover === undefined
          ? null
          : {
              streamId: failover.streamId,
              trigger: failover.trigger,
              requestedBy: failover.requestedBy,
              startedAt: iso(failover.startedAt) as string,
              failoverAt: failover.failoverAt ?? null,
              completedAt: iso(failover.completedAt),
              timedOut: failover.timedOut
            },
      checks
    })
  }

  // Where applications should be sent: the active cluster once its SQL host is
  // known, none while failing over. Proxies and hooks follow this one event.
  let target: { id: string; host: string; port: number } | undefined
  // The last cluster applications were sent to, across the gap of a failover.
  let previous: { id: string } | undefined
  function publish(): void {
    current = buildSnapshot()
    for (const listener of publishListeners) listener(current)
    const active = activeCluster(current)
    const next = active === undefined ? undefined : { id: active.id, host: active.sqlDns, port: active.sqlPort }
    if (next?.id === target?.id && next?.host === target?.host && next?.port === target?.port) return
    if (next === undefined && current.phase !== 'failing_over' && current.phase !== 'activating') return
    previous = target ?? previous
    target = next
    const pending = activating()
    emit({
      type: 'active_cluster_changed',
      severity: next !== undefined && previous !== undefined && previous.id !== next.id ? 'warn' : 'info',
      message:
        next !== undefined
          ? `active cluster is ${next.id} at ${hostPort(next.host, next.port)}${previous === undefined || previous.id === next.id ? '' : ` (was ${previous.id})`}`
          : pending !== undefined
            ? `no active cluster until ${pending.clusterId} answers SQL (was ${previous?.id})`
            : `no active cluster while failing over from ${previous?.id}`,
      data: {
        clusterId: next?.id ?? null,
        host: next?.host ?? null,
        port: next?.port ?? null,
        previousClusterId: previous?.id ?? null,
        phase: current.phase
      }
    })
  }

  function noteStream(stream: Stream): void {
    if (stream.replicated_time === undefined) return
    const at = Date.parse(stream.replicated_time)
    if (replicated === undefined || replicated.streamId !== stream.id || at > replicated.at) {
      replicated = { streamId: stream.id, at }
    }
  }

  // A new view of the streams: adopt it, and say so when the roles moved.
  function applyTopology(next: Topology): void {
    const before = topology
    topology = next
    if (next.stream !== undefined) noteStream(next.stream)
    const moved =
      before === undefined ||
      before.activeClusterId !== next.activeClusterId ||
      before.watchedClusterId !== next.watchedClusterId ||
      before.stream?.id !== next.stream?.id ||
      before.stream?.status !== next.stream?.status
    if (before === undefined && settings.streamId !== undefined && settings.streamId !== next.stream?.id) {
      emit({
        type: 'stream_mismatch',
        severity: 'warn',
        message: `PCR_STREAM_ID ${settings.streamId} is not the newest stream between the clusters; following ${next.stream?.id ?? 'none'}`,
        data: { configuredStreamId: settings.streamId, streamId: next.stream?.id ?? null }
      })
    }
    // FAILOVER_AT_TIMESTAMP is said at start when the stream could not fail over to it.
    const configuredAt = settings.failoverToLatest ? undefined : settings.failoverAtTimestamp
    if (before === undefined && configuredAt !== undefined && next.stream !== undefined) {
      const problem = failoverAtProblem(configuredAt, next.stream, clock.now(), 'FAILOVER_AT_TIMESTAMP')
      if (problem !== undefined) {
        emit({
          type: 'failover_at_out_of_range',
          severity: 'error',
          message: `${problem}; a failover would be refused: set a later time, or FAILOVER_TO_LATEST=true`,
          data: { failoverAt: configuredAt, streamId: next.stream.id, retainedTime: next.stream.retained_time ?? null }
        })
      }
    }
    if (moved) {
      emit({
        type: 'topology_changed',
        message: `active cluster ${next.activeClusterId ?? 'none (failing over)'}, watching ${next.watchedClusterId}, stream ${next.stream?.id ?? 'none'} ${next.stream?.status ?? ''}`.trim(),
        data: {
          activeClusterId: next.activeClusterId ?? null,
          watchedClusterId: next.watchedClusterId,
          streamId: next.stream?.id ?? null,
          streamStatus: next.stream?.status ?? null
        }
      })
    }
    if (before !== undefined && before.watchedClusterId !== next.watchedClusterId) {
      // A new cluster is watched: what was counted against the old one does not carry over.
      timeline = initialTimeline
      blocked = undefined
      lastHealthyAt = undefined
    }
    if (next.stream?.status === 'FAILING_OVER') trackFailover(next.stream)
    if (next.stream?.status === 'COMPLETED' && failover !== undefined && failover.streamId === next.stream.id) {
      completeFailover(next.stream)
    }
    if (next.stream?.status === 'COMPLETED') beginActivation(next.stream)
    if (moved) publish()
  }

  // A failover in progress that this process did not start (another sidecar, an
  // operator, or this process before a restart) is adopted: polled, never patched.
  function trackFailover(stream: Stream): void {
    patchedStreams.add(stream.id)
    if (failover?.streamId === stream.id) return
    failover = {
      streamId: stream.id,
      trigger: 'adopted',
      requestedBy: 'found in progress',
      startedAt: clock.now(),
      failoverAt: stream.failover_at,
      timedOut: false
    }
    emit({
      type: 'failover_adopted',
      message: `stream ${stream.id} is already failing over; following it without a new request`,
      data: { streamId: stream.id }
    })
  }

  function completeFailover(stream: Stream): void {
    if (failover === undefined || failover.completedAt !== undefined) return
    failover.completedAt = clock.now()
    timeline = initialTimeline
    blocked = undefined
    emit({
      type: 'failover_completed',
      message: `failover completed: ${stream.standby_cluster_id} is active (data as of ${stream.activated_at ?? 'unknown'})`,
      data: {
        streamId: stream.id,
        activeClusterId: stream.standby_cluster_id,
        activatedAt: stream.activated_at ?? null,
        durationSeconds: (failover.completedAt - failover.startedAt) / 1000,
        trigger: failover.trigger
      }
    })
  }

  // A stream seen COMPLETED: with a SQL probe for the new primary, applications wait
  // for it to answer. A sidecar started after the failover waits the same way.
  function beginActivation(stream: Stream): void {
    if (activation?.streamId === stream.id) return
    const clusterId = stream.standby_cluster_id
    activation = { streamId: stream.id, clusterId, since: clock.now() }
    if (probes[clusterId] === undefined) {
      activation.settled = 'no_probe'
      return
    }
    emit({
      type: 'activation_waiting',
      severity: 'warn',
      message: `stream ${stream.id} is COMPLETED; applications are sent to ${clusterId} once it answers SQL (at most ACTIVATION_TIMEOUT=${settings.activationTimeoutSeconds} s)`,
      data: { streamId: stream.id, clusterId, timeoutSeconds: settings.activationTimeoutSeconds }
    })
  }

  // True once the activation has ended: the probe answered, or the time is up.
  function settleActivation(pending: ActivationRecord, sql: SqlReading | undefined): boolean {
    if (sql?.ok === true) {
      pending.settled = 'answered'
      return true
    }
    if (sql !== undefined) pending.lastError = sql.error
    const waited = clock.now() - pending.since
    if (waited < settings.activationTimeoutSeconds * 1000) return false
    pending.settled = 'timed_out'
    emit({
      type: 'activation_timeout',
      severity: 'error',
      message: `${pending.clusterId} has not answered SQL within ACTIVATION_TIMEOUT=${settings.activationTimeoutSeconds} s of stream ${pending.streamId} COMPLETED${pending.lastError === undefined ? '' : ` (${pending.lastError})`}; sending applications there anyway`,
      data: {
        streamId: pending.streamId,
        clusterId: pending.clusterId,
        timeoutSeconds: settings.activationTimeoutSeconds,
        waitedSeconds: waited / 1000,
        error: pending.lastError ?? null
      }
    })
    return true
  }

  function checkFailoverTimeout(): void {
    if (failover === undefined || failover.completedAt !== undefined || failover.timedOut) return
    const elapsed = clock.now() - failover.startedAt
    if (elapsed <= settings.failoverTimeoutSeconds * 1000) return
    failover.timedOut = true
    emit({
      type: 'failover_timeout',
      severity: 'error',
      message: `failover of stream ${failover.streamId} has run ${Math.round(elapsed / 1000)} s, past FAILOVER_TIMEOUT; still polling`,
      data: { streamId: failover.streamId, elapsedSeconds: elapsed / 1000, trigger: failover.trigger }
    })
  }

  // The standby of a live stream: its application virtual cluster is offline while the
  // stream replicates, so its SQL endpoint refusing connections is what a healthy one does.
  function replicatingStandbyOf(id: string, stream = topology?.stream): Stream | undefined {
    return stream !== undefined && isLive(stream) && stream.standby_cluster_id === id ? stream : undefined
  }

  async function observe(id: string, deadline: number, stream?: Stream): Promise<{ judgement: Judgement; sql?: SqlReading }> {
    const budget = () => ({ budgetMs: Math.max(1, deadline - clock.now()) })
    const standbyOf = replicatingStandbyOf(id, stream)
    // Such a standby is judged on the API alone: its SQL is not asked, and is no evidence.
    const probe = standbyOf === undefined ? probes[id] : undefined
    const sqlPromise = probe?.check()
    const observation: Observation = { cluster: { ok: false, error: 'not read' } }
    try {
      const cluster = await cloud.getCluster(id, budget())
      observation.cluster = { ok: true, value: cluster }
      const record = clusters.get(id) as ClusterRecord
      record.cluster = cluster
      try {
        observation.nodes = { ok: true, value: await cloud.listNodes(id, budget()) }
      } catch (err) {
        observation.nodes = { ok: false, error: describe(err) }
      }
    } catch (err) {
      observation.cluster = { ok: false, error: describe(err) }
    }
    if (sqlPromise !== undefined) {
      const sql = await sqlPromise
      observation.sql = sql.ok ? { ok: true } : { ok: false, error: sql.error }
    }
    const sql = observation.sql
    // The new primary coming online after COMPLETED: its SQL not answering yet is why
    // applications wait, not a sign that it is down.
    if (sql?.ok === false && activating()?.clusterId === id) {
      const api = judge({ ...observation, sql: undefined }, settings.unhealthyEvidence)
      return { judgement: { ...api, reason: `${api.reason}; SQL does not answer yet (activating after the failover): ${sql.error}` }, sql }
    }
    const judgement = judge(observation, settings.unhealthyEvidence)
    if (standbyOf === undefined || probes[id] === undefined) return { judgement, sql }
    const offline = `SQL offline as expected while it replicates (standby of stream ${standbyOf.id}, ${standbyOf.status})`
    return { judgement: { ...judgement, reason: `${judgement.reason}; ${offline}` } }
  }

  function record(id: string, judgement: Judgement, startedAt: number): void {
    const rec = clusters.get(id) as ClusterRecord
    const before = rec.judgement
    rec.judgement = judgement
    rec.checkedAt = clock.now()
    if (before.verdict !== judgement.verdict) {
      emit({
        type: 'verdict_changed',
        severity: judgement.verdict === 'unhealthy' ? 'warn' : 'info',
        message: `cluster ${id} is ${judgement.verdict}: ${judgement.reason}`,
        data: { clusterId: id, from: before.verdict, to: judgement.verdict, reason: judgement.reason }
      })
    }
    for (const listener of checkListeners) {
      listener({ clusterId: id, verdict: judgement.verdict, reason: judgement.reason, durationMs: rec.checkedAt - startedAt })
    }
  }

  function onTimelineStep(step: TimelineStep, clusterId: string): void {
    switch (step.kind) {
      case 'failure_counted':
        emit({
          type: 'failure_counted',
          severity: 'warn',
          message:
            step.failures < policy.threshold
              ? `cluster ${clusterId} unhealthy: failure ${step.failures} of ${policy.threshold}`
              : `cluster ${clusterId} still unhealthy (${step.failures} failures); waiting for the double-check`,
          data: { clusterId, failures: step.failures, threshold: policy.threshold }
        })
        return
      case 'threshold_reached':
        emit({
          type: 'threshold_reached',
          severity: 'warn',
          message: `threshold reached (${step.failures} consecutive failures); double-check at ${iso(step.delayEndsAt)}`,
          data: { clusterId, failures: step.failures, delaySeconds: policy.delayMs / 1000, doubleCheckAt: iso(step.delayEndsAt) }
        })
        return
      case 'double_check_inconclusive':
        emit({
          type: 'double_check_inconclusive',
          severity: 'warn',
          message: `double-check of ${clusterId} could not read the cluster; checking again`,
          data: { clusterId }
        })
        return
      case 'recovered':
        blocked = undefined
        deferredTo = undefined
        emit({
          type: 'recovered',
          message: `cluster ${clusterId} is healthy again after ${step.failures} failures (was ${step.from})`,
          data: { clusterId, from: step.from, failures: step.failures }
        })
        return
      case 'confirmed':
        return
    }
  }

  async function runCheck(): Promise<void> {
    const startedAt = clock.now()
    const deadline = startedAt + timeoutMs
    try {
      const stream = await cloud.discoverStream(pair.primaryClusterId, pair.standbyClusterId, {
        budgetMs: timeoutMs
      })
      applyTopology(deriveTopology(stream === undefined ? [] : [stream], pair))
    } catch (err) {
      // The last known topology stands; the checks below still say what they see.
      record(topology?.watchedClusterId ?? pair.primaryClusterId, {
        ...unknownJudgement,
        reason: `streams not readable: ${describe(err)}`
      }, startedAt)
      const pending = activating()
      if (pending !== undefined) settleActivation(pending, undefined)
      onUnknownCheck()
      return
    }
    if (topology?.stream?.status === 'FAILING_OVER') {
      checkFailoverTimeout()
      // The cluster about to become active must be known (its SQL host) the moment it is.
      const target = topology.stream.standby_cluster_id
      if ((clusters.get(target) as ClusterRecord).cluster === undefined) {
        record(target, (await observe(target, deadline)).judgement, startedAt)
      }
      return
    }
    const watched = (topology as Topology).watchedClusterId
    const { judgement, sql } = await observe(watched, deadline)
    record(watched, judgement, startedAt)
    if (judgement.verdict === 'healthy') lastHealthyAt = clock.now()
    const other = watched === pair.primaryClusterId ? pair.standbyClusterId : pair.primaryClusterId
    const otherRecord = clusters.get(other) as ClusterRecord
    if (otherRecord.checkedAt === undefined || clock.now() - otherRecord.checkedAt >= Math.max(policy.intervalMs, otherClusterRefreshMs)) {
      const otherStartedAt = clock.now()
      record(other, (await observe(other, otherStartedAt + timeoutMs)).judgement, otherStartedAt)
    }
    // While the new primary comes online nothing is counted against it; there is no
    // stream to fail over anyway.
    const pending = activating()
    if (pending !== undefined && !settleActivation(pending, pending.clusterId === watched ? sql : undefined)) return
    const { state, step } = advance(timeline, judgement.verdict, clock.now(), policy)
    timeline = state
    if (step !== undefined) onTimelineStep(step, watched)
    if (step?.kind === 'confirmed') {
      const leader = coordinator.deferTo?.()
      if (leader !== undefined) {
        if (deferredTo !== leader) {
          emit({
            type: 'failover_deferred',
            severity: 'warn',
            message: `double-check confirms cluster ${watched} is down (${step.failures} consecutive failures); sidecar ${leader} leads and decides`,
            data: { clusterId: watched, failures: step.failures, leaderId: leader }
          })
        }
        deferredTo = leader
        return
      }
      deferredTo = undefined
      if (blocked === undefined) {
        emit({
          type: 'failover_confirmed',
          severity: 'warn',
          message: `double-check confirms cluster ${watched} is down (${step.failures} consecutive failures since ${iso(step.since)})`,
          data: { clusterId: watched, failures: step.failures, since: iso(step.since) }
        })
      }
      await attemptFailover({ trigger: 'auto', requestedBy: 'monitor' })
    }
  }

  function onUnknownCheck(): void {
    const { state, step } = advance(timeline, 'unknown', clock.now(), policy)
    timeline = state
    if (step !== undefined) onTimelineStep(step, topology?.watchedClusterId ?? pair.primaryClusterId)
  }

  function block(code: BlockCode, reason: string, request: FailoverRequest): FailoverResult {
    const repeated = request.trigger === 'auto' && blocked?.code === code && blocked.reason === reason
    if (request.trigger === 'auto') blocked = { code, reason }
    if (!repeated) {
      emit({
        type: 'failover_blocked',
        severity: 'warn',
        message: `failover blocked (${request.trigger}, ${request.requestedBy}): ${reason}`,
        data: { code, reason, trigger: request.trigger, requestedBy: request.requestedBy }
      })
    }
    return { outcome: 'blocked', code, reason }
  }

  // Whether the standby can take over, from the API alone (state, node majority): its
  // SQL endpoint is offline until the failover has completed, whatever its health.
  async function standbyProblem(stream: Stream): Promise<string | undefined> {
    const id = stream.standby_cluster_id
    const startedAt = clock.now()
    const { judgement } = await observe(id, startedAt + timeoutMs, stream)
    record(id, judgement, startedAt)
    const state = (clusters.get(id) as ClusterRecord).cluster?.state
    if (judgement.verdict !== 'healthy') return `standby ${id} is ${judgement.verdict}: ${judgement.reason}`
    if (state !== 'CREATED' && state !== 'LOCKED') return `standby ${id} is in state ${state}`
    return undefined
  }

  function attemptFailover(request: FailoverRequest): Promise<FailoverResult> {
    const run = attempts.then(async () => {
      try {
        return await attemptLocked(request)
      } finally {
        publish()
      }
    })
    attempts = run.catch(() => undefined)
    return run
  }

  async function attemptLocked(request: FailoverRequest): Promise<FailoverResult> {
    if (topology?.stream?.status === 'FAILING_OVER') {
      // The monitor's own attempt finding a failover already started has nothing to report.
      if (request.trigger === 'auto') return { outcome: 'blocked', code: 'in_progress', reason: 'a failover is already under way' }
      return block('in_progress', 'a failover is already under way', request)
    }
    if (request.trigger === 'auto' && !settings.autoFailover) {
      return block('auto_disabled', 'automatic failover is disabled (AUTO_FAILOVER=false); a manual failover is needed', request)
    }
    if (request.trigger === 'auto' && paused !== undefined) {
      return block('paused', `automatic failover is paused by ${paused.by}`, request)
    }
    const known = topology?.stream
    if (known === undefined) return block('no_stream', 'no replication stream between the two clusters', request)
    let stream: Stream
    try {
      stream = await cloud.getStream(known.id, { budgetMs: timeoutMs })
    } catch (err) {
      return block('api_unavailable', `the stream could not be read: ${describe(err)}`, request)
    }
    noteStream(stream)
    if (stream.status === 'FAILING_OVER' || stream.status === 'COMPLETED') applyTopology(deriveTopology([stream], pair))
    if (stream.status === 'FAILING_OVER') return block('in_progress', `stream ${stream.id} is already FAILING_OVER`, request)
    if (stream.status !== 'REPLICATING') {
      return block('stream_not_replicating', `stream ${stream.id} is ${stream.status}; only a REPLICATING stream can fail over`, request)
    }
    // REPLICATING begins with the initial scan, a full copy: until it ends there is no
    // replicated_time, no consistent time to fail over to, and the API refuses the PATCH.
    if (stream.replicated_time === undefined) {
      return block('initial_scan', `stream ${stream.id} is REPLICATING but still in its initial scan (no replicated_time yet): there is no consistent time to fail over to`, request)
    }
    const problem = await standbyProblem(stream)
    if (problem !== undefined) return block('standby_unusable', problem, request)
    const loss = estimateDataLossSeconds()
    if (settings.maxDataLossSeconds !== undefined && request.allowDataLoss !== true) {
      if (loss === undefined) {
        return block('data_loss_unknown', 'data loss cannot be estimated (the primary was not seen healthy by this sidecar); a manual failover with allow_data_loss is needed', request)
      }
      if (loss > settings.maxDataLossSeconds) {
        return block('data_loss', `estimated data loss ${loss.toFixed(1)} s exceeds MAX_DATA_LOSS_SECONDS=${settings.maxDataLossSeconds}; a manual failover with allow_data_loss is needed`, request)
      }
    }
    const failoverAt = request.failoverAt ?? (settings.failoverToLatest ? undefined : settings.failoverAtTimestamp)
    const atProblem = failoverAt === undefined ? undefined : failoverAtProblem(failoverAt, stream, clock.now(), request.failoverAt === undefined ? 'FAILOVER_AT_TIMESTAMP' : 'failover_at')
    if (atProblem !== undefined) return block('failover_at_out_of_range', atProblem, request)
    const plan: FailoverPlan = {
      streamId: stream.id,
      fromClusterId: stream.primary_cluster_id,
      toClusterId: stream.standby_cluster_id,
      failoverAt: failoverAt ?? null,
      estimatedDataLossSeconds: loss ?? null
    }
    if (request.dryRun === true) return { outcome: 'dry_run', plan }
    if (patchedStreams.has(stream.id)) {
      return block('already_patched', `stream ${stream.id} was already asked to fail over once by this sidecar; ask again only after checking it`, request)
    }
    let decision: Decision
    try {
      decision = await coordinator.mayAct('failover', {
        streamId: stream.id,
        trigger: request.trigger,
        fromClusterId: stream.primary_cluster_id
      })
    } catch (err) {
      // A coordinator that cannot answer is a "no": acting alone is what it exists to prevent.
      return block('coordinator', `coordinator ${coordinator.name} could not be asked: ${describe(err)}`, request)
    }
    if (!decision.allowed) return block('coordinator', decision.reason ?? `coordinator ${coordinator.name} refused`, request)
    patchedStreams.add(stream.id)
    emit({
      type: 'failover_requested',
      severity: 'warn',
      message: `failing over stream ${stream.id} from ${plan.fromClusterId} to ${plan.toClusterId} (${request.trigger}, ${request.requestedBy})`,
      data: { ...plan, trigger: request.trigger, requestedBy: request.requestedBy }
    })
    const change: StreamChange = failoverAt === undefined ? { status: 'FAILING_OVER' } : { status: 'FAILING_OVER', failover_at: failoverAt }
    let after: Stream
    let confirmedBy: 'answer' | 'read_back'
    let outcome: 'started' | 'adopted' = 'started'
    try {
      const result = await cloud.patchStream(stream.id, change, { budgetMs: timeoutMs })
      after = result.value
      confirmedBy = result.confirmedBy
    } catch (err) {
      const seen = err instanceof CloudApiError ? err.stream : undefined
      if (seen === undefined || (seen.status !== 'FAILING_OVER' && seen.status !== 'COMPLETED')) {
        emit({
          type: 'failover_failed',
          severity: 'error',
          message: `failover request for stream ${stream.id} failed: ${describe(err)}; not retried`,
          data: { streamId: stream.id, error: describe(err), streamStatus: seen?.status ?? null, trigger: request.trigger }
        })
        return { outcome: 'failed', reason: describe(err) }
      }
      after = seen
      confirmedBy = 'read_back'
      outcome = 'adopted'
    }
    failover = {
      streamId: stream.id,
      trigger: request.trigger,
      requestedBy: request.requestedBy,
      startedAt: clock.now(),
      failoverAt,
      timedOut: false
    }
    blocked = undefined
    emit({
      type: 'failover_patched',
      severity: 'warn',
      message: `stream ${stream.id} is ${after.status}${confirmedBy === 'read_back' ? ' (confirmed by reading it back)' : ''}`,
      data: { streamId: stream.id, status: after.status, confirmedBy, trigger: request.trigger }
    })
    applyTopology(deriveTopology([after], pair))
    reschedule(0)
    return { outcome, plan, stream: streamView(after) }
  }

  function nextDelay(): number {
    if (topology?.stream?.status === 'FAILING_OVER' || activating() !== undefined) return Math.min(policy.intervalMs, maxFailoverPollMs)
    return nextCheckIn(timeline, clock.now(), policy)
  }

  function reschedule(ms: number): void {
    if (!running || inFlight !== undefined) return
    clock.clearTimeout(timer)
    timer = clock.setTimeout(tick, ms)
  }

  // One check, never throwing, then the bookkeeping every finished check gets.
  async function checkOnce(): Promise<Snapshot> {
    try {
      await runCheck()
    } catch (err) {
      emit({ type: 'check_failed', severity: 'error', message: `check failed unexpectedly: ${describe(err)}`, data: {} })
    }
    checks += 1
    lastCheckAt = clock.now()
    publish()
    const ready = waiters
    waiters = []
    for (const resolve of ready) resolve(current)
    return current
  }

  function tick(): void {
    timer = undefined
    inFlight = checkOnce().then(() => {
      inFlight = undefined
      if (running) timer = clock.setTimeout(tick, nextDelay())
    })
  }

  return {
    start() {
      if (running) return
      running = true
      monitorStartedAt = clock.now()
      emit({
        type: 'monitor_started',
        message: `monitoring ${pair.primaryClusterId} (standby ${pair.standbyClusterId}) every ${settings.healthCheckIntervalSeconds} s`,
        data: { primaryClusterId: pair.primaryClusterId, standbyClusterId: pair.standbyClusterId }
      })
      timer = clock.setTimeout(tick, 0)
      publish()
    },
    async stop() {
      if (!running) return
      running = false
      clock.clearTimeout(timer)
      await inFlight
      emit({ type: 'monitor_stopped', message: 'monitoring stopped', data: {} })
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
    failover: (request) => attemptFailover({ ...request, trigger: 'manual' }),
    pause(by) {
      if (paused !== undefined) return false
      paused = { by }
      emit({ type: 'paused', message: `automatic failover paused by ${by}`, data: { by } })
      publish()
      return true
    },
    resume(by) {
      if (paused === undefined) return false
      paused = undefined
      blocked = undefined
      emit({ type: 'resumed', message: `automatic failover resumed by ${by}`, data: { by } })
      publish()
      return true
    },
    nextCheck: () => new Promise((resolve) => waiters.push(resolve)),
    async refresh() {
      if (!running) return checkOnce()
      if (inFlight !== undefined) await inFlight
      const next = new Promise<Snapshot>((resolve) => waiters.push(resolve))
      reschedule(0)
      return next
    },
    record: (input) => log.emit(input)
  }
}
