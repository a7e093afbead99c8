import type { Stream } from '../../cloud/schemas.js'
import { advance, maxGapMs, nextCheckIn, type TimelinePolicy, type TimelineStep } from '../timeline.js'
import { isScheduled, type Topology } from '../topology.js'
import { judge, type Judgement } from '../verdict.js'
import { beginAttempt } from './attempt.js'
import { activating, clusterOf, applyStream, emit, iso, otherOf, record, replicatingStandbyOf, settleActivation, type Ctx } from './context.js'
import { merge, readListing } from './stream-memory.js'
import type { CorePolicy, CoreState, ObservedCluster, Reading } from './types.js'

// One check: read the streams, settle the topology, observe the watched cluster, move
// the timeline, and ask for a failover when the double-check confirms. A look (an
// operator's read) does the same reads and changes nothing but what is shown.

// While a failover runs, the stream is polled at least this often, so traffic moves
// within about 2 s of COMPLETED whatever the interval.
const maxFailoverPollMs = 2000
// The cluster that is not watched only matters for display; it is read again, fresh,
// right before any failover.
export const otherClusterRefreshMs = 30_000

const unknownJudgement: Judgement = { verdict: 'unknown', reason: 'not checked yet', nodesLive: undefined, nodesTotal: undefined }

export function timelinePolicy(policy: CorePolicy): TimelinePolicy {
  return {
    threshold: policy.threshold,
    intervalMs: policy.intervalMs,
    suspectIntervalMs: policy.suspectIntervalMs,
    delayMs: policy.delayMs,
    maxGapMs: maxGapMs(policy.intervalMs, policy.timeoutMs)
  }
}

export function initialClusters(policy: CorePolicy): CoreState['clusters'] {
  return {
    [policy.pair.primaryClusterId]: { judgement: unknownJudgement },
    [policy.pair.standbyClusterId]: { judgement: unknownJudgement }
  }
}

export function beginCheck(ctx: Ctx, look: boolean): void {
  ctx.s.check = { startedAt: ctx.now, look }
  ctx.actions.push({ type: 'list' })
}

export function onListed(ctx: Ctx, reading: Reading<Stream | undefined>): void {
  if (!reading.ok) return unreadable(ctx, `streams not readable: ${reading.error}`)
  const meaning = readListing(ctx.s.topology?.stream ?? ctx.s.remembered, reading.value)
  if (meaning.kind === 'confirm') {
    ctx.actions.push({ type: 'confirm', streamId: meaning.streamId })
    return
  }
  applyStream(ctx, meaning.stream)
  observeNext(ctx)
}

export function onConfirmed(ctx: Ctx, streamId: string, reading: Reading<Stream>): void {
  const known = (ctx.s.topology?.stream ?? ctx.s.remembered) as Stream
  if (!reading.ok) {
    const reason = `stream ${streamId} is missing from the listing and could not be read by id: ${reading.error}`
    if (ctx.s.unconfirmed === undefined) {
      emit(ctx, {
        type: 'stream_unconfirmed',
        severity: 'warn',
        message: `${reason}; the last known roles stand and nothing is counted until it is read`,
        data: { streamId, error: reading.error }
      })
    }
    ctx.s.unconfirmed = reason
    return unreadable(ctx, reason)
  }
  applyStream(ctx, merge(known, reading.value))
  observeNext(ctx)
}

// The streams could not be read: the last known topology stands, nothing is counted.
function unreadable(ctx: Ctx, reason: string): void {
  const watched = ctx.s.topology?.watchedClusterId ?? ctx.policy.pair.primaryClusterId
  record(ctx, watched, { ...unknownJudgement, reason }, (ctx.s.check as NonNullable<CoreState['check']>).startedAt)
  const pending = activating(ctx.s)
  if (pending !== undefined) settleActivation(ctx, pending, undefined)
  if (!(ctx.s.check as NonNullable<CoreState['check']>).look) moveTimeline(ctx, 'unknown', watched)
  finishCheck(ctx)
}

function observeNext(ctx: Ctx): void {
  const { s, policy, now } = ctx
  const topology = s.topology as Topology
  const stream = topology.stream
  if (stream?.status === 'FAILING_OVER' && !isScheduled(stream, now)) {
    checkFailoverTimeout(ctx, stream)
    // The cluster about to become active must be known (its SQL host) the moment it is.
    const target = stream.standby_cluster_id
    if (clusterOf(s, target).cluster === undefined) {
      ctx.actions.push({ type: 'observe', watched: target, probeWatched: false })
      return
    }
    return finishCheck(ctx)
  }
  const watched = topology.watchedClusterId
  const other = otherOf(policy, watched)
  const otherAt = clusterOf(s, other).checkedAt
  const otherDue = otherAt === undefined || now - otherAt >= Math.max(policy.intervalMs, otherClusterRefreshMs)
  ctx.actions.push({
    type: 'observe',
    watched,
    probeWatched: policy.probed.includes(watched) && replicatingStandbyOf(s, watched) === undefined,
    ...(otherDue ? { other, probeOther: policy.probed.includes(other) && replicatingStandbyOf(s, other) === undefined } : {})
  })
}

function judgeObserved(ctx: Ctx, o: ObservedCluster): Judgement {
  const { observation } = o
  const sql = observation.sql
  // The new primary coming online after COMPLETED: its SQL not answering yet is why
  // applications wait, not a sign that it is down.
  if (sql?.ok === false && activating(ctx.s)?.clusterId === o.clusterId) {
    const api = judge({ ...observation, sql: undefined }, ctx.policy.evidence)
    return { ...api, reason: `${api.reason}; SQL does not answer yet (activating after the failover): ${sql.error}` }
  }
  const judgement = judge(observation, ctx.policy.evidence)
  const standbyOf = replicatingStandbyOf(ctx.s, o.clusterId)
  if (standbyOf === undefined || !ctx.policy.probed.includes(o.clusterId)) return judgement
  return { ...judgement, reason: `${judgement.reason}; SQL offline as expected while it replicates (standby of stream ${standbyOf.id}, ${standbyOf.status})` }
}

function recordObserved(ctx: Ctx, o: ObservedCluster): Judgement {
  const judgement = judgeObserved(ctx, o)
  const cluster = o.observation.cluster.ok ? o.observation.cluster.value : undefined
  record(ctx, o.clusterId, judgement, o.startedAt, cluster ?? clusterOf(ctx.s, o.clusterId).cluster)
  return judgement
}

export function onObserved(ctx: Ctx, watched: ObservedCluster, other: ObservedCluster | undefined, leader: string | undefined): void {
  const { s } = ctx
  const judgement = recordObserved(ctx, watched)
  if (other !== undefined) recordObserved(ctx, other)
  const check = s.check as NonNullable<CoreState['check']>
  const stream = s.topology?.stream
  const pollingFailover = stream?.status === 'FAILING_OVER' && !isScheduled(stream, ctx.now)
  if (check.look || pollingFailover) return finishCheck(ctx)
  // While the new primary comes online nothing is counted against it; there is no
  // stream to fail over anyway.
  const pending = activating(s)
  if (pending !== undefined && !settleActivation(ctx, pending, pending.clusterId === watched.clusterId ? watched.observation.sql : undefined)) {
    return finishCheck(ctx)
  }
  if (judgement.verdict === 'healthy') {
    s.lastHealthyAt = ctx.now
    s.firstUnhealthyAt = undefined
    s.lastUnhealthyAt = undefined
  }
  if (judgement.verdict === 'unhealthy') {
    s.firstUnhealthyAt ??= ctx.now
    s.lastUnhealthyAt = ctx.now
  }
  const step = moveTimeline(ctx, judgement.verdict, watched.clusterId)
  if (step?.kind !== 'confirmed') return finishCheck(ctx)
  if (leader !== undefined) {
    if (s.deferredTo !== leader) {
      emit(ctx, {
        type: 'failover_deferred',
        severity: 'warn',
        message: `double-check confirms cluster ${watched.clusterId} is down (${step.failures} consecutive failures); sidecar ${leader} leads and decides`,
        data: { clusterId: watched.clusterId, failures: step.failures, leaderId: leader }
      })
    }
    s.deferredTo = leader
    return finishCheck(ctx)
  }
  s.deferredTo = undefined
  if (s.blocked === undefined) {
    emit(ctx, {
      type: 'failover_confirmed',
      severity: 'warn',
      message: `double-check confirms cluster ${watched.clusterId} is down (${step.failures} consecutive failures since ${iso(step.since)})`,
      data: { clusterId: watched.clusterId, failures: step.failures, since: iso(step.since) }
    })
  }
  beginAttempt(ctx, { trigger: 'auto', requestedBy: 'monitor' })
}

function moveTimeline(ctx: Ctx, verdict: Judgement['verdict'], clusterId: string): TimelineStep | undefined {
  const policy = timelinePolicy(ctx.policy)
  const { state, step, expired } = advance(ctx.s.timeline, verdict, ctx.now, policy)
  ctx.s.timeline = state
  if (expired !== undefined) {
    ctx.s.blocked = undefined
    emit(ctx, {
      type: 'failure_count_expired',
      message: `cluster ${clusterId}: the last of ${expired.failures} failures was ${(expired.gapMs / 1000).toFixed(1)} s ago, longer than 2 × interval + timeout without a readable check; counting again from 1`,
      data: { clusterId, failures: expired.failures, gapSeconds: expired.gapMs / 1000 }
    })
  }
  if (step !== undefined) timelineEvent(ctx, step, clusterId)
  return step
}

function timelineEvent(ctx: Ctx, step: TimelineStep, clusterId: string): void {
  const { threshold, delayMs } = ctx.policy
  switch (step.kind) {
    case 'failure_counted':
      emit(ctx, {
        type: 'failure_counted',
        severity: 'warn',
        message:
          step.failures < threshold
            ? `cluster ${clusterId} unhealthy: failure ${step.failures} of ${threshold}`
            : `cluster ${clusterId} still unhealthy (${step.failures} failures); waiting for the double-check`,
        data: { clusterId, failures: step.failures, threshold }
      })
      return
    case 'threshold_reached':
      emit(ctx, {
        type: 'threshold_reached',
        severity: 'warn',
        message: `threshold reached (${step.failures} consecutive failures); double-check at ${iso(step.delayEndsAt)}`,
        data: { clusterId, failures: step.failures, delaySeconds: delayMs / 1000, doubleCheckAt: iso(step.delayEndsAt) }
      })
      return
    case 'double_check_inconclusive':
      emit(ctx, {
        type: 'double_check_inconclusive',
        severity: 'warn',
        message: `double-check of ${clusterId} could not read the cluster; checking again every interval`,
        data: { clusterId }
      })
      return
    case 'recovered':
      ctx.s.blocked = undefined
      ctx.s.deferredTo = undefined
      emit(ctx, {
        type: 'recovered',
        message: `cluster ${clusterId} is healthy again after ${step.failures} failures (was ${step.from})`,
        data: { clusterId, from: step.from, failures: step.failures }
      })
      return
    case 'confirmed':
      return
  }
}

function checkFailoverTimeout(ctx: Ctx, stream: Stream): void {
  const failover = ctx.s.failover
  if (failover === undefined || failover.streamId !== stream.id || failover.completedAt !== undefined || failover.timedOut) return
  // A scheduled failover starts at its failover_at.
  const from = Math.max(failover.startedAt, failover.failoverAt === undefined ? 0 : Date.parse(failover.failoverAt))
  const elapsed = ctx.now - from
  if (elapsed <= ctx.policy.failoverTimeoutMs) return
  ctx.s.failover = { ...failover, timedOut: true }
  emit(ctx, {
    type: 'failover_timeout',
    severity: 'error',
    message: `failover of stream ${failover.streamId} has run ${Math.round(elapsed / 1000)} s, past FAILOVER_TIMEOUT; still polling`,
    data: { streamId: failover.streamId, elapsedSeconds: elapsed / 1000, trigger: failover.trigger }
  })
}

// A check (or its failover attempt) is over: count it and schedule the next.
export function finishCheck(ctx: Ctx): void {
  const { s, now, policy } = ctx
  const check = s.check
  if (check === undefined) return
  s.check = undefined
  if (check.look) return
  s.checks += 1
  s.lastCheckAt = now
  s.nextCheckAt = s.pollSoon === true ? now : now + nextDelay(s, now, policy)
  s.pollSoon = undefined
}

function nextDelay(s: CoreState, now: number, policy: CorePolicy): number {
  const stream = s.topology?.stream
  if (stream !== undefined && isScheduled(stream, now)) return Math.min(policy.intervalMs, Date.parse(stream.failover_at as string) - now)
  if (stream?.status === 'FAILING_OVER' || activating(s) !== undefined) return Math.min(policy.intervalMs, maxFailoverPollMs)
  return nextCheckIn(s.timeline, now, timelinePolicy(policy))
}
