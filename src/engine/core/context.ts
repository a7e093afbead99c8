import type { Stream } from '../../cloud/schemas.js'
import type { EventInput } from '../events.js'
import { failoverAtProblem } from '../failover-at.js'
import { initialTimeline } from '../timeline.js'
import { deriveTopology, isLive, isScheduled } from '../topology.js'
import type { Judgement } from '../verdict.js'
import type { Action, ActivationRecord, ClusterRecord, CorePolicy, CoreState } from './types.js'

// What one step works on: a copy of the state it may replace fields of (never mutate
// the objects it got), the time, the policy, and the actions it asks for.
export interface Ctx {
  s: CoreState
  now: number
  policy: CorePolicy
  actions: Action[]
}

export function emit(ctx: Ctx, event: EventInput): void {
  ctx.actions.push({ type: 'emit', event })
}

// The record of one of the pair's two clusters (both exist from the start).
export function clusterOf(s: CoreState, id: string): ClusterRecord {
  return s.clusters[id] as ClusterRecord
}

export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}

export function otherOf(policy: CorePolicy, id: string): string {
  return id === policy.pair.primaryClusterId ? policy.pair.standbyClusterId : policy.pair.primaryClusterId
}

// The activation still holding applications back, if any.
export function activating(s: CoreState): ActivationRecord | undefined {
  const stream = s.topology?.stream
  if (stream?.status !== 'COMPLETED' || s.activation?.streamId !== stream.id || s.activation.settled !== undefined) return undefined
  return s.activation
}

// The standby of a live stream: its virtual cluster is offline while the stream
// replicates, so its SQL refusing connections is what a healthy one does.
export function replicatingStandbyOf(s: CoreState, id: string): Stream | undefined {
  const stream = s.topology?.stream
  return stream !== undefined && isLive(stream) && stream.standby_cluster_id === id ? stream : undefined
}

export function record(ctx: Ctx, id: string, judgement: Judgement, startedAt: number, cluster = clusterOf(ctx.s, id).cluster): void {
  const before = clusterOf(ctx.s, id).judgement
  ctx.s.clusters = { ...ctx.s.clusters, [id]: { cluster, judgement, checkedAt: ctx.now } }
  if (before.verdict !== judgement.verdict) {
    emit(ctx, {
      type: 'verdict_changed',
      severity: judgement.verdict === 'unhealthy' ? 'warn' : 'info',
      message: `cluster ${id} is ${judgement.verdict}: ${judgement.reason}`,
      data: { clusterId: id, from: before.verdict, to: judgement.verdict, reason: judgement.reason }
    })
  }
  ctx.actions.push({ type: 'checked', clusterId: id, judgement, durationMs: ctx.now - startedAt })
}

function noteReplicated(ctx: Ctx, stream: Stream): void {
  if (stream.replicated_time === undefined) return
  const at = Date.parse(stream.replicated_time)
  const known = ctx.s.replicated
  if (known === undefined || known.streamId !== stream.id || at > known.at) ctx.s.replicated = { streamId: stream.id, at }
}

// The newest stream, as now known: adopt its topology, and say so when the roles moved.
export function applyStream(ctx: Ctx, stream: Stream | undefined): void {
  const { s, policy, now } = ctx
  const before = s.topology
  const next = deriveTopology(stream === undefined ? [] : [stream], policy.pair, now)
  s.topology = next
  s.unconfirmed = undefined
  s.restored = undefined
  s.remembered = undefined
  if (stream !== undefined) noteReplicated(ctx, stream)
  const moved =
    before === undefined ||
    before.activeClusterId !== next.activeClusterId ||
    before.watchedClusterId !== next.watchedClusterId ||
    before.stream?.id !== next.stream?.id ||
    before.stream?.status !== next.stream?.status
  if (before === undefined && policy.configuredStreamId !== undefined && policy.configuredStreamId !== stream?.id) {
    emit(ctx, {
      type: 'stream_mismatch',
      severity: 'warn',
      message: `PCR_STREAM_ID ${policy.configuredStreamId} is not the newest stream between the clusters; following ${stream?.id ?? 'none'}`,
      data: { configuredStreamId: policy.configuredStreamId, streamId: stream?.id ?? null }
    })
  }
  // FAILOVER_AT_TIMESTAMP is said at start when the stream could not fail over to it.
  if (before === undefined && policy.configuredFailoverAt !== undefined && stream !== undefined) {
    const problem = failoverAtProblem(policy.configuredFailoverAt, stream, now, 'FAILOVER_AT_TIMESTAMP')
    if (problem !== undefined) {
      emit(ctx, {
        type: 'failover_at_out_of_range',
        severity: 'error',
        message: `${problem}; a failover would be refused: set a later time, or FAILOVER_TO_LATEST=true`,
        data: { failoverAt: policy.configuredFailoverAt, streamId: stream.id, retainedTime: stream.retained_time ?? null }
      })
    }
  }
  if (moved) {
    emit(ctx, {
      type: 'topology_changed',
      message: `active cluster ${next.activeClusterId ?? 'none (failing over)'}, watching ${next.watchedClusterId}, stream ${stream?.id ?? 'none'} ${stream?.status ?? ''}`.trim(),
      data: {
        activeClusterId: next.activeClusterId ?? null,
        watchedClusterId: next.watchedClusterId,
        streamId: stream?.id ?? null,
        streamStatus: stream?.status ?? null
      }
    })
  }
  if (before !== undefined && before.watchedClusterId !== next.watchedClusterId) {
    // A new cluster is watched: what was counted against the old one does not carry over.
    s.timeline = initialTimeline
    s.blocked = undefined
    s.lastHealthyAt = undefined
    s.firstUnhealthyAt = undefined
    s.lastUnhealthyAt = undefined
  }
  if (stream?.status === 'FAILING_OVER') trackFailover(ctx, stream)
  if (stream?.status === 'COMPLETED') {
    completeFailover(ctx, stream)
    beginActivation(ctx, stream)
  }
}

// A failover in progress that this process did not ask for (another sidecar, an
// operator, or this process before a restart) is adopted: polled, never patched.
function trackFailover(ctx: Ctx, stream: Stream): void {
  if (ctx.s.failover?.streamId === stream.id) return
  ctx.s.failover = {
    streamId: stream.id,
    trigger: 'adopted',
    requestedBy: 'found in progress',
    startedAt: ctx.now,
    failoverAt: stream.failover_at,
    timedOut: false
  }
  emit(ctx, {
    type: 'failover_adopted',
    message: `stream ${stream.id} is already ${isScheduled(stream, ctx.now) ? `scheduled to fail over at ${stream.failover_at}` : 'failing over'}; following it without a new request`,
    data: { streamId: stream.id, failoverAt: stream.failover_at ?? null }
  })
}

function completeFailover(ctx: Ctx, stream: Stream): void {
  const failover = ctx.s.failover
  if (failover === undefined || failover.streamId !== stream.id || failover.completedAt !== undefined) return
  ctx.s.failover = { ...failover, completedAt: ctx.now }
  ctx.s.timeline = initialTimeline
  ctx.s.blocked = undefined
  emit(ctx, {
    type: 'failover_completed',
    message: `failover completed: ${stream.standby_cluster_id} is active (data as of ${stream.activated_at ?? 'unknown'})`,
    data: {
      streamId: stream.id,
      activeClusterId: stream.standby_cluster_id,
      activatedAt: stream.activated_at ?? null,
      durationSeconds: (ctx.now - failover.startedAt) / 1000,
      trigger: failover.trigger
    }
  })
}

// A stream seen COMPLETED: with a SQL probe for the new primary, applications wait
// for it to answer. A sidecar started after the failover waits the same way.
function beginActivation(ctx: Ctx, stream: Stream): void {
  if (ctx.s.activation?.streamId === stream.id) return
  const clusterId = stream.standby_cluster_id
  if (!ctx.policy.probed.includes(clusterId)) {
    ctx.s.activation = { streamId: stream.id, clusterId, since: ctx.now, settled: 'no_probe' }
    return
  }
  ctx.s.activation = { streamId: stream.id, clusterId, since: ctx.now }
  const seconds = ctx.policy.activationTimeoutMs / 1000
  emit(ctx, {
    type: 'activation_waiting',
    severity: 'warn',
    message: `stream ${stream.id} is COMPLETED; applications are sent to ${clusterId} once it answers SQL (at most ACTIVATION_TIMEOUT=${seconds} s)`,
    data: { streamId: stream.id, clusterId, timeoutSeconds: seconds }
  })
}

// True once the activation has ended: the probe answered, or the time is up.
export function settleActivation(ctx: Ctx, pending: ActivationRecord, sql: { ok: true } | { ok: false; error: string } | undefined): boolean {
  if (sql?.ok === true) {
    ctx.s.activation = { ...pending, settled: 'answered' }
    return true
  }
  const lastError = sql === undefined ? pending.lastError : sql.error
  const waited = ctx.now - pending.since
  if (waited < ctx.policy.activationTimeoutMs) {
    ctx.s.activation = { ...pending, lastError }
    return false
  }
  ctx.s.activation = { ...pending, lastError, settled: 'timed_out' }
  const seconds = ctx.policy.activationTimeoutMs / 1000
  emit(ctx, {
    type: 'activation_timeout',
    severity: 'error',
    message: `${pending.clusterId} has not answered SQL within ACTIVATION_TIMEOUT=${seconds} s of stream ${pending.streamId} COMPLETED${lastError === undefined ? '' : ` (${lastError})`}; sending applications there anyway`,
    data: { streamId: pending.streamId, clusterId: pending.clusterId, timeoutSeconds: seconds, waitedSeconds: waited / 1000, error: lastError ?? null }
  })
  return true
}
