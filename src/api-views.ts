import type { z } from 'zod'
import type { ActiveBody, ClusterBody, ClustersBody, CoordinationBody, ErrorBody, FailbackStatusBody, FailoverAcceptedBody, FailoverPlanBody, OperationBody, StreamBody } from './api-schemas.js'
import type { Config } from './config/index.js'
import type { CoordinationStatus } from './coordination/coordination.js'
import type { FailoverPlan } from './engine/engine.js'
import type { Operation } from './engine/operations.js'
import type { FailbackStatus, FailoverStarted } from './engine/operator.js'
import { activeCluster, type ClusterView, type Snapshot, type StreamView } from './engine/snapshot.js'

// The snapshot's camelCase views, shaped as the HTTP API's snake_case answers.

export function configuredRole(id: string, primaryClusterId: string): 'primary' | 'standby' {
  return id === primaryClusterId ? 'primary' : 'standby'
}

// Liveness (/health) fails only when the monitor loop itself has stopped finishing checks
// for this long; the status page calls its data stale on the same rule.
export function livenessStaleAfterMs(timeline: Pick<Config['timeline'], 'intervalSeconds' | 'checkTimeoutSeconds'>): number {
  return 3 * (timeline.intervalSeconds + timeline.checkTimeoutSeconds) * 1000
}

// A planned switchover has fenced the active cluster: applications are sent nowhere
// until the standby takes over, or the switchover gives up.
export function fenced(s: Pick<Snapshot, 'fence' | 'activeClusterId'>): boolean {
  return s.fence !== null && s.fence.clusterId === s.activeClusterId
}

type Unavailable = Pick<Snapshot, 'phase' | 'watchedClusterId' | 'fence' | 'activeClusterId'>

// Why no cluster is handed to applications, for the 503s and /ready.
export function unavailableReason(s: Unavailable): { message: string; code: 'fenced' | 'failing_over' | 'activating' | 'unknown' } {
  if (fenced(s)) {
    return { message: `a planned switchover (operation ${s.fence?.operationId}) has fenced writes on ${s.activeClusterId} until the standby takes over`, code: 'fenced' }
  }
  if (s.phase === 'failing_over') return { message: 'a failover is under way', code: 'failing_over' }
  if (s.phase === 'activating') {
    return { message: `the failover has completed; waiting for ${s.watchedClusterId} to answer SQL before sending applications there`, code: 'activating' }
  }
  return { message: 'the active cluster is not known yet', code: 'unknown' }
}

// GET /active: where applications are sent, without credentials; undefined while none is.
export function activeBody(s: Snapshot, config: Pick<Config, 'pair' | 'sql'>): z.infer<typeof ActiveBody> | undefined {
  const active = activeCluster(s)
  if (active === undefined || fenced(s)) return undefined
  return {
    cluster_id: active.id,
    role: configuredRole(active.id, config.pair.primaryClusterId),
    host: active.sqlDns,
    port: active.sqlPort,
    database: config.sql.databaseName,
    sslmode: config.sql.sslmode,
    phase: s.phase,
    stale: staleBody(s)
  }
}

function staleBody(s: Snapshot): z.infer<typeof ActiveBody>['stale'] {
  return s.stale === null ? null : { saved_at: s.stale.savedAt, age_seconds: s.stale.ageSeconds }
}

function dataLossBody(d: Snapshot['dataLoss']): z.infer<typeof ClustersBody>['data_loss_seconds'] {
  return d === null ? null : { lower: d.lowerSeconds, upper: d.upperSeconds }
}

// The 503 of the routes that name the active cluster.
export function unavailableBody(s: Unavailable): z.infer<typeof ErrorBody> {
  return { error: 'Service Unavailable', ...unavailableReason(s) }
}

export function streamBody(s: StreamView): z.infer<typeof StreamBody> {
  return {
    id: s.id,
    status: s.status,
    primary_cluster_id: s.primaryClusterId,
    standby_cluster_id: s.standbyClusterId,
    created_at: s.createdAt,
    replicated_time: s.replicatedTime,
    retained_time: s.retainedTime,
    replication_lag_seconds: s.replicationLagSeconds,
    activated_at: s.activatedAt,
    failover_at: s.failoverAt
  }
}

function clusterBody(c: ClusterView, primaryClusterId: string): z.infer<typeof ClusterBody> {
  return {
    id: c.id,
    name: c.name,
    configured_role: configuredRole(c.id, primaryClusterId),
    role: c.role,
    state: c.state,
    operation_status: c.operationStatus,
    verdict: c.verdict,
    reason: c.reason,
    nodes_live: c.nodesLive,
    nodes_total: c.nodesTotal,
    sql_dns: c.sqlDns,
    last_checked_at: c.lastCheckedAt
  }
}

export function coordinationBody(c: CoordinationStatus): z.infer<typeof CoordinationBody> {
  return {
    sidecar_id: c.sidecarId,
    role: c.role,
    connected: c.connected,
    leader_id: c.leader?.id ?? null,
    leader_url: c.leader?.url ?? null,
    source: c.source,
    view_age_seconds: c.viewAgeSeconds,
    view_stale: c.viewStale
  }
}

export function clustersBody(s: Snapshot, primaryClusterId: string, coordination?: CoordinationStatus): z.infer<typeof ClustersBody> {
  return {
    active_cluster_id: s.activeClusterId,
    watched_cluster_id: s.watchedClusterId,
    failover_target_id: s.failoverTargetId,
    phase: s.phase,
    consecutive_failures: s.consecutiveFailures,
    failure_threshold: s.threshold,
    delay_ends_at: s.delayEndsAt,
    blocked_reason: s.blockedReason,
    paused: s.paused,
    auto_failover: s.autoFailover,
    last_check_at: s.lastCheckAt,
    last_healthy_at: s.lastHealthyAt,
    estimated_data_loss_seconds: s.estimatedDataLossSeconds,
    data_loss_seconds: dataLossBody(s.dataLoss),
    stale: staleBody(s),
    clusters: s.clusters.map((c) => clusterBody(c, primaryClusterId)),
    stream: s.stream === null ? null : streamBody(s.stream),
    failover:
      s.failover === null
        ? null
        : {
            stream_id: s.failover.streamId,
            trigger: s.failover.trigger,
            requested_by: s.failover.requestedBy,
            started_at: s.failover.startedAt,
            failover_at: s.failover.failoverAt,
            completed_at: s.failover.completedAt,
            timed_out: s.failover.timedOut
          },
    pgbouncer: s.pooler,
    fence: s.fence === null ? null : { cluster_id: s.fence.clusterId, operation_id: s.fence.operationId, since: s.fence.since },
    ...(coordination === undefined ? {} : { coordination: coordinationBody(coordination) })
  }
}

export function planBody(p: FailoverPlan): z.infer<typeof FailoverPlanBody> {
  return {
    stream_id: p.streamId,
    from_cluster_id: p.fromClusterId,
    to_cluster_id: p.toClusterId,
    failover_at: p.failoverAt,
    estimated_data_loss_seconds: p.estimatedDataLossSeconds,
    data_loss_seconds: dataLossBody(p.dataLoss)
  }
}

export function failoverStartedBody(r: FailoverStarted): z.infer<typeof FailoverAcceptedBody> {
  return {
    outcome: r.outcome,
    plan: planBody(r.plan),
    ...(r.stream === undefined ? {} : { stream: streamBody(r.stream) }),
    ...(r.operationId === undefined ? {} : { operation_id: r.operationId })
  }
}

export function failbackStatusBody(s: FailbackStatus): z.infer<typeof FailbackStatusBody> {
  return { stream: s.stream === null ? null : streamBody(s.stream), active_cluster_id: s.activeClusterId, ready: s.ready, reason: s.reason }
}

export function operationBody(o: Operation): z.infer<typeof OperationBody> {
  return {
    id: o.id,
    kind: o.kind,
    requested_by: o.requestedBy,
    status: o.status,
    phase: o.phase,
    progress: o.progress,
    stream_id: o.streamId,
    started_at: o.startedAt,
    updated_at: o.updatedAt,
    finished_at: o.finishedAt,
    error: o.error,
    steps: o.steps.map((step) => ({ phase: step.phase, progress: step.progress, started_at: step.startedAt, duration_ms: step.durationMs }))
  }
}
