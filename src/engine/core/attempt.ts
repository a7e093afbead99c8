import type { StreamChange } from '../../cloud/client.js'
import type { Stream } from '../../cloud/schemas.js'
import { streamView } from '../stream-view.js'
import { judge } from '../verdict.js'
import { applyStream, clusterOf, emit, iso, record, type Ctx } from './context.js'
import { evaluate, failoverAtOf, planOf, type Facts } from './gates.js'
import { merge } from './stream-memory.js'
import type { BlockCode, FailoverRequest, FailoverResult, ObservedCluster, PatchOutcome, Reading } from './types.js'

// One failover attempt, automatic or asked for: the gates, then one PATCH, then what
// its outcome means. The facts the gates need are asked of the shell one at a time.

function facts(ctx: Ctx): Facts {
  const attempt = ctx.s.attempt as NonNullable<Ctx['s']['attempt']>
  return { request: attempt.request, s: ctx.s, now: ctx.now, policy: ctx.policy, ...attempt.facts }
}

function finish(ctx: Ctx, result: FailoverResult): void {
  ctx.s.attempt = undefined
  ctx.actions.push({ type: 'result', result })
}

function block(ctx: Ctx, request: FailoverRequest, code: BlockCode, reason: string): void {
  const auto = request.trigger === 'auto'
  // The monitor's own attempt finding a failover already started has nothing to report.
  const silent = auto && code === 'in_progress'
  const repeated = auto && ctx.s.blocked?.code === code && ctx.s.blocked.reason === reason
  if (auto && !silent) ctx.s.blocked = { code, reason }
  if (!silent && !repeated) {
    emit(ctx, {
      type: 'failover_blocked',
      severity: 'warn',
      message: `failover blocked (${request.trigger}, ${request.requestedBy}): ${reason}`,
      data: { code, reason, trigger: request.trigger, requestedBy: request.requestedBy }
    })
  }
  finish(ctx, { outcome: 'blocked', code, reason })
}

// Runs the gates on what is known, and asks for the next fact or the PATCH.
function proceed(ctx: Ctx): void {
  const f = facts(ctx)
  const answer = evaluate(f)
  if (answer === undefined) return patch(ctx, f as Facts & { stream: Stream })
  if ('block' in answer) return block(ctx, f.request, answer.block, answer.reason)
  if ('dryRun' in answer) return finish(ctx, { outcome: 'dry_run', plan: answer.dryRun })
  const stream = f.stream as Stream
  switch (answer.need) {
    case 'stream':
      ctx.actions.push({ type: 'fresh', streamId: (ctx.s.topology?.stream as Stream).id })
      return
    case 'standby':
      ctx.actions.push({ type: 'standby', clusterId: stream.standby_cluster_id })
      return
    case 'coordinator':
      ctx.actions.push({ type: 'coordinate', streamId: stream.id, trigger: f.request.trigger, fromClusterId: stream.primary_cluster_id })
  }
}

function patch(ctx: Ctx, f: Facts & { stream: Stream }): void {
  const plan = planOf(f)
  const failoverAt = failoverAtOf(f)
  const change: StreamChange = failoverAt === undefined ? { status: 'FAILING_OVER' } : { status: 'FAILING_OVER', failover_at: failoverAt }
  // Written down (and persisted) before the PATCH goes out: a restart mid-PATCH never sends a second one.
  ctx.s.patch = { streamId: plan.streamId, state: 'sending', at: ctx.now }
  ctx.s.attempt = { ...(ctx.s.attempt as NonNullable<Ctx['s']['attempt']>), plan }
  emit(ctx, {
    type: 'failover_requested',
    severity: 'warn',
    message: `failing over stream ${plan.streamId} from ${plan.fromClusterId} to ${plan.toClusterId} (${f.request.trigger}, ${f.request.requestedBy})`,
    data: {
      streamId: plan.streamId,
      fromClusterId: plan.fromClusterId,
      toClusterId: plan.toClusterId,
      failoverAt: plan.failoverAt,
      estimatedDataLossSeconds: plan.estimatedDataLossSeconds,
      dataLossLowerSeconds: plan.dataLoss?.lowerSeconds ?? null,
      dataLossUpperSeconds: plan.dataLoss?.upperSeconds ?? null,
      trigger: f.request.trigger,
      requestedBy: f.request.requestedBy
    }
  })
  ctx.actions.push({ type: 'patch', streamId: plan.streamId, change })
}

export function beginAttempt(ctx: Ctx, request: FailoverRequest): void {
  ctx.s.attempt = { request, facts: {} }
  proceed(ctx)
}

export function onFresh(ctx: Ctx, reading: Reading<Stream>): void {
  const attempt = ctx.s.attempt as NonNullable<Ctx['s']['attempt']>
  if (!reading.ok) return block(ctx, attempt.request, 'api_unavailable', `the stream could not be read: ${reading.error}`)
  const known = ctx.s.topology?.stream as Stream
  const stream = known.id === reading.value.id ? merge(known, reading.value) : reading.value
  applyStream(ctx, stream)
  ctx.s.attempt = { ...attempt, facts: { ...attempt.facts, stream } }
  proceed(ctx)
}

export function onStandby(ctx: Ctx, observed: ObservedCluster): void {
  const attempt = ctx.s.attempt as NonNullable<Ctx['s']['attempt']>
  const o = observed.observation
  const cluster = o.cluster.ok ? o.cluster.value : clusterOf(ctx.s, observed.clusterId).cluster
  const judgement = judge({ ...o, sql: undefined }, ctx.policy.evidence)
  record(ctx, observed.clusterId, judgement, observed.startedAt, cluster)
  ctx.s.attempt = { ...attempt, facts: { ...attempt.facts, standby: { judgement, cluster } } }
  proceed(ctx)
}

export function onCoordinated(ctx: Ctx, decision: NonNullable<Facts['coordinator']>): void {
  const attempt = ctx.s.attempt as NonNullable<Ctx['s']['attempt']>
  ctx.s.attempt = { ...attempt, facts: { ...attempt.facts, coordinator: decision } }
  proceed(ctx)
}

export function onPatched(ctx: Ctx, outcome: PatchOutcome): void {
  const attempt = ctx.s.attempt as NonNullable<Ctx['s']['attempt']>
  const { request } = attempt
  const plan = attempt.plan as NonNullable<typeof attempt.plan>
  const streamId = plan.streamId
  // The plan's bound holds when the PATCH left; a primary still writing adds its time in flight.
  const sentAt = ctx.s.patch?.at ?? ctx.now
  const dataLossUpperSeconds = plan.dataLoss === null ? null : (plan.dataLoss.upperSeconds * 1000 + ctx.now - sentAt) / 1000
  if (outcome.kind === 'refused') {
    ctx.s.patch = { streamId, state: 'refused', at: ctx.now, retryAt: outcome.retryAt }
    emit(ctx, {
      type: 'failover_refused',
      severity: 'warn',
      message: `the Cloud API did not apply the failover of stream ${streamId}: ${outcome.error}; tried again at the next confirmed check${outcome.retryAt === undefined ? '' : ` from ${iso(outcome.retryAt)}`}`,
      data: { streamId, error: outcome.error, retryAt: iso(outcome.retryAt), trigger: request.trigger }
    })
    return finish(ctx, { outcome: 'refused', reason: outcome.error })
  }
  ctx.s.patch = { streamId, state: 'asked', at: ctx.now }
  if (outcome.kind === 'unclear') {
    emit(ctx, {
      type: 'failover_failed',
      severity: 'error',
      message: `failover request for stream ${streamId} has no clear outcome: ${outcome.error}; it may have taken effect, so it is followed, not sent again`,
      data: { streamId, error: outcome.error, streamStatus: null, trigger: request.trigger, dataLossUpperSeconds }
    })
    return finish(ctx, { outcome: 'failed', reason: outcome.error })
  }
  const after = outcome.stream
  const confirmedBy = outcome.kind === 'applied' ? outcome.confirmedBy : 'read_back'
  ctx.s.failover = {
    streamId,
    trigger: request.trigger,
    requestedBy: request.requestedBy,
    startedAt: ctx.now,
    failoverAt: plan.failoverAt ?? undefined,
    timedOut: false
  }
  ctx.s.blocked = undefined
  emit(ctx, {
    type: 'failover_patched',
    severity: 'warn',
    message: `stream ${streamId} is ${after.status}${confirmedBy === 'read_back' ? ' (confirmed by reading it back)' : ''}`,
    data: { streamId, status: after.status, confirmedBy, trigger: request.trigger, dataLossUpperSeconds, failoverAt: plan.failoverAt }
  })
  applyStream(ctx, after)
  // Followed from now on at the failover's pace, starting at once.
  if (ctx.s.check === undefined) ctx.s.nextCheckAt = ctx.now
  else ctx.s.pollSoon = true
  finish(ctx, { outcome: outcome.kind === 'applied' ? 'started' : 'adopted', plan, stream: streamView(after) })
}
