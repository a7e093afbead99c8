import type { Cluster, Stream } from '../../cloud/schemas.js'
import type { Decision } from '../coordinator.js'
import { failoverAtProblem } from '../failover-at.js'
import type { Judgement } from '../verdict.js'
import { dataLossRange } from './data-loss.js'
import type { BlockCode, CorePolicy, CoreState, FailoverPlan, FailoverRequest } from './types.js'

// Every reason not to fail over, in the order they are asked, in one list. The facts
// are read only when a gate needs them (the stream fresh by id, the standby, the
// coordinator), so a request the early gates refuse costs no API call.

export interface Facts {
  request: FailoverRequest
  s: CoreState
  now: number
  policy: CorePolicy
  stream?: Stream
  standby?: { judgement: Judgement; cluster?: Cluster }
  coordinator?: Decision | { error: string }
}

export type GateAnswer =
  | { block: BlockCode; reason: string }
  | { need: 'stream' | 'standby' | 'coordinator' }
  | { dryRun: FailoverPlan }
  | undefined

// The time a failover goes to: the request's, else FAILOVER_AT_TIMESTAMP, else the latest.
export function failoverAtOf(f: Pick<Facts, 'request' | 'policy'>): string | undefined {
  return f.request.failoverAt ?? f.policy.configuredFailoverAt
}

export function planOf(f: Facts & { stream: Stream }): FailoverPlan {
  const { s, now, stream } = f
  const failoverAt = failoverAtOf(f)
  const replicatedAt = s.replicated?.streamId === stream.id ? s.replicated.at : undefined
  const cutAt = failoverAt === undefined ? replicatedAt : Date.parse(failoverAt)
  // A failure seen before the cut is old news: the primary wrote what was replicated after it.
  const seenDown = s.firstUnhealthyAt !== undefined && cutAt !== undefined && s.firstUnhealthyAt >= cutAt ? s.firstUnhealthyAt : undefined
  // Down when last seen is not down now: it may have come back and written since.
  const unseenMs = now - (s.lastUnhealthyAt ?? now)
  const loss = dataLossRange({ cutAt, lastHealthyAt: s.lastHealthyAt, endAt: seenDown === undefined ? now : seenDown + unseenMs })
  return {
    streamId: stream.id,
    fromClusterId: stream.primary_cluster_id,
    toClusterId: stream.standby_cluster_id,
    failoverAt: failoverAt ?? null,
    estimatedDataLossSeconds: loss?.upperSeconds ?? null,
    dataLoss: loss ?? null
  }
}

const auto = (f: Facts) => f.request.trigger === 'auto'
const retryTime = (ms: number) => new Date(ms).toISOString()

export const gates: ReadonlyArray<(f: Facts) => GateAnswer> = [
  (f) => (f.s.topology?.stream?.status === 'FAILING_OVER' ? { block: 'in_progress', reason: 'a failover is already under way' } : undefined),
  (f) =>
    auto(f) && !f.policy.autoFailover
      ? { block: 'auto_disabled', reason: 'automatic failover is disabled (AUTO_FAILOVER=false); a manual failover is needed' }
      : undefined,
  (f) => (auto(f) && f.s.paused !== undefined ? { block: 'paused', reason: `automatic failover is paused by ${f.s.paused.by}` } : undefined),
  (f) => (f.s.topology?.stream === undefined ? { block: 'no_stream', reason: 'no replication stream between the two clusters' } : undefined),
  (f) => (f.stream === undefined ? { need: 'stream' } : undefined),
  (f) => (f.stream?.status === 'FAILING_OVER' ? { block: 'in_progress', reason: `stream ${f.stream.id} is already FAILING_OVER` } : undefined),
  ({ stream }) =>
    stream?.status !== 'REPLICATING'
      ? { block: 'stream_not_replicating', reason: `stream ${stream?.id} is ${stream?.status}; only a REPLICATING stream can fail over` }
      : undefined,
  // REPLICATING begins with the initial scan, a full copy: until it ends there is no
  // replicated_time, no consistent time to fail over to, and the API refuses the PATCH.
  ({ stream }) =>
    stream?.replicated_time === undefined
      ? {
          block: 'initial_scan',
          reason: `stream ${stream?.id} is REPLICATING but still in its initial scan (no replicated_time yet): there is no consistent time to fail over to`
        }
      : undefined,
  (f) => (f.standby === undefined ? { need: 'standby' } : undefined),
  // The standby is judged on the API alone (state, node majority): its SQL is offline
  // until the failover has completed, whatever its health.
  ({ standby, stream }) => {
    const id = stream?.standby_cluster_id
    if (standby?.judgement.verdict !== 'healthy') {
      return { block: 'standby_unusable', reason: `standby ${id} is ${standby?.judgement.verdict}: ${standby?.judgement.reason}` }
    }
    const state = standby.cluster?.state
    return state !== 'CREATED' && state !== 'LOCKED' ? { block: 'standby_unusable', reason: `standby ${id} is in state ${state}` } : undefined
  },
  (f) => {
    const max = f.policy.maxDataLossSeconds
    if (max === undefined || f.request.allowDataLoss === true) return undefined
    const loss = planOf(f as Facts & { stream: Stream }).dataLoss
    if (loss === null) {
      return { block: 'data_loss_unknown', reason: 'data loss cannot be estimated (no replicated time seen for this stream); a manual failover with allow_data_loss is needed' }
    }
    if (loss.upperSeconds <= max) return undefined
    return {
      block: 'data_loss',
      reason: `data loss may reach ${loss.upperSeconds.toFixed(1)} s (at least ${loss.lowerSeconds.toFixed(1)} s), more than MAX_DATA_LOSS_SECONDS=${max}; a manual failover with allow_data_loss is needed`
    }
  },
  (f) => {
    const at = failoverAtOf(f)
    const source = f.request.failoverAt === undefined ? 'FAILOVER_AT_TIMESTAMP' : 'failover_at'
    const problem = at === undefined ? undefined : failoverAtProblem(at, f.stream as Stream, f.now, source)
    return problem === undefined ? undefined : { block: 'failover_at_out_of_range', reason: problem }
  },
  (f) => (f.request.dryRun === true ? { dryRun: planOf(f as Facts & { stream: Stream }) } : undefined),
  ({ s, stream, now }) => {
    const patch = s.patch?.streamId === stream?.id ? s.patch : undefined
    if (patch === undefined) return undefined
    if (patch.state !== 'refused') {
      return {
        block: 'already_patched',
        reason: `stream ${patch.streamId} was already asked to fail over once (the PATCH may have taken effect); it is followed, not asked again`
      }
    }
    return patch.retryAt !== undefined && patch.retryAt > now
      ? { block: 'retry_later', reason: `the Cloud API refused the last PATCH of stream ${patch.streamId}; it is tried again from ${retryTime(patch.retryAt)}` }
      : undefined
  },
  (f) => (f.coordinator === undefined ? { need: 'coordinator' } : undefined),
  // A coordinator that cannot answer is a "no": acting alone is what it exists to prevent.
  ({ coordinator }) => {
    if (coordinator !== undefined && 'error' in coordinator) return { block: 'coordinator', reason: coordinator.error }
    return coordinator?.allowed === false ? { block: 'coordinator', reason: coordinator.reason ?? 'the coordinator refused' } : undefined
  }
]

export function evaluate(f: Facts): GateAnswer {
  for (const gate of gates) {
    const answer = gate(f)
    if (answer !== undefined) return answer
  }
  return undefined
}
