import { SQL_PORT } from '../../cloud/schemas.js'
import type { ClusterView, Phase, Role, Snapshot } from '../snapshot.js'
import { streamView } from '../stream-view.js'
import { isLive, isScheduled } from '../topology.js'
import { activating, clusterOf, iso } from './context.js'
import { planOf } from './gates.js'
import type { CorePolicy, CoreState, Served } from './types.js'

// The snapshot every reader sees, computed from the state alone.

// The persisted active cluster, while the API has not been read since the start and
// the record is young enough to trust.
function restoredServed(s: CoreState, policy: CorePolicy, now: number): Served | undefined {
  if (s.restored === undefined || s.topology !== undefined) return undefined
  return now - s.restored.savedAt <= policy.stateMaxAgeMs ? s.restored.served : undefined
}

function roleOf(s: CoreState, policy: CorePolicy, id: string): Role {
  const stream = s.topology?.stream
  if (stream !== undefined && isLive(stream)) return stream.primary_cluster_id === id ? 'primary' : 'standby'
  const active = s.topology?.activeClusterId ?? s.restored?.served.clusterId ?? policy.pair.primaryClusterId
  return active === id ? 'primary' : 'detached'
}

export function phaseOf(s: CoreState, now: number): Phase {
  const stream = s.topology?.stream
  if (stream?.status === 'FAILING_OVER') return isScheduled(stream, now) ? 'failover_scheduled' : 'failing_over'
  if (s.topology === undefined && s.checks === 0) return 'starting'
  if (activating(s) !== undefined) return 'activating'
  if (s.timeline.phase === 'confirmed') return s.blocked !== undefined ? 'blocked' : 'delay'
  if (s.timeline.phase !== 'normal') return s.timeline.phase
  return stream?.status === 'COMPLETED' ? 'completed' : 'normal'
}

export function activeIdOf(s: CoreState, policy: CorePolicy, now: number): string | null {
  const restored = restoredServed(s, policy, now)
  if (restored !== undefined) return restored.clusterId
  const stream = s.topology?.stream
  if (s.topology === undefined || activating(s) !== undefined) return null
  if (stream?.status === 'FAILING_OVER' && !isScheduled(stream, now)) return null
  return s.topology.activeClusterId ?? null
}

function sqlOf(s: CoreState, policy: CorePolicy, id: string, restored: Served | undefined): { sqlDns: string | null; sqlPort: number } {
  const fromFile = restored?.clusterId === id ? restored : undefined
  // An empty sql_dns names no host: the address is unknown, never ":26257".
  const fromApi = clusterOf(s, id).cluster?.regions[0]?.sql_dns.trim() || undefined
  return {
    sqlDns: policy.sql[id]?.dns ?? fromApi ?? fromFile?.sqlDns ?? null,
    sqlPort: policy.sql[id]?.port ?? fromFile?.sqlPort ?? SQL_PORT
  }
}

// Where applications are sent: the active cluster, once its SQL host is known.
export function servedOf(s: CoreState, policy: CorePolicy, now: number): Served | undefined {
  const id = activeIdOf(s, policy, now)
  if (id === null) return undefined
  const { sqlDns, sqlPort } = sqlOf(s, policy, id, restoredServed(s, policy, now))
  return sqlDns === null ? undefined : { clusterId: id, sqlDns, sqlPort }
}

export function view(s: CoreState, policy: CorePolicy, now: number): Snapshot {
  const restored = restoredServed(s, policy, now)
  const clusters: ClusterView[] = [policy.pair.primaryClusterId, policy.pair.standbyClusterId].map((id) => {
    const record = clusterOf(s, id)
    return {
      id,
      name: record.cluster?.name ?? null,
      role: roleOf(s, policy, id),
      state: record.cluster?.state ?? null,
      operationStatus: record.cluster?.operation_status ?? null,
      verdict: record.judgement.verdict,
      reason: record.judgement.reason,
      nodesLive: record.judgement.nodesLive ?? null,
      nodesTotal: record.judgement.nodesTotal ?? null,
      ...sqlOf(s, policy, id, restored),
      lastCheckedAt: iso(record.checkedAt)
    }
  })
  const stream = s.topology?.stream
  const loss =
    stream?.status === 'REPLICATING'
      ? planOf({ request: { trigger: 'auto', requestedBy: 'view' }, s, now, policy, stream }).dataLoss
      : null
  const t = s.timeline
  return Object.freeze({
    phase: phaseOf(s, now),
    activeClusterId: activeIdOf(s, policy, now),
    watchedClusterId: s.topology?.watchedClusterId ?? policy.pair.primaryClusterId,
    failoverTargetId: s.topology?.failoverTargetId ?? null,
    clusters,
    stream: stream === undefined ? null : streamView(stream),
    consecutiveFailures: t.phase === 'normal' ? 0 : t.failures,
    threshold: policy.threshold,
    delayEndsAt: t.phase === 'delay' ? iso(t.delayEndsAt) : null,
    blockedReason: t.phase === 'confirmed' ? (s.blocked?.reason ?? null) : null,
    paused: s.paused !== undefined,
    autoFailover: policy.autoFailover,
    lastCheckAt: iso(s.lastCheckAt),
    monitorStartedAt: iso(s.monitorStartedAt),
    lastHealthyAt: iso(s.lastHealthyAt),
    estimatedDataLossSeconds: loss?.upperSeconds ?? null,
    dataLoss: loss,
    stale: restored === undefined ? null : { savedAt: iso((s.restored as NonNullable<CoreState['restored']>).savedAt) as string, ageSeconds: (now - (s.restored as NonNullable<CoreState['restored']>).savedAt) / 1000 },
    failover:
      s.failover === undefined
        ? null
        : {
            streamId: s.failover.streamId,
            trigger: s.failover.trigger,
            requestedBy: s.failover.requestedBy,
            startedAt: iso(s.failover.startedAt) as string,
            failoverAt: s.failover.failoverAt ?? null,
            completedAt: iso(s.failover.completedAt),
            timedOut: s.failover.timedOut
          },
    checks: s.checks,
    // The shell's own (engine.ts annotate).
    pooler: null,
    fence: null
  })
}
