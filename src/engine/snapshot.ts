import type { StreamStatus } from '../cloud/schemas.js'
import type { Verdict } from './verdict.js'

// What every reader (routes, CLI, metrics) sees: one immutable object, replaced
// whole by the engine after each step, so no reader ever sees half an update and
// the hot routes do no I/O.

// activating: the stream is COMPLETED and the new primary's SQL probe has not answered
// yet (nor ACTIVATION_TIMEOUT passed); no cluster is handed to applications meanwhile.
// failover_scheduled: the stream fails over at a future failover_at; the primary serves until then.
export type Phase =
  | 'starting'
  | 'normal'
  | 'suspect'
  | 'delay'
  | 'blocked'
  | 'failover_scheduled'
  | 'failing_over'
  | 'activating'
  | 'completed'

export type Role = 'primary' | 'standby' | 'detached'

export interface ClusterView {
  id: string
  name: string | null
  role: Role
  state: string | null
  operationStatus: string | null
  verdict: Verdict
  reason: string
  nodesLive: number | null
  nodesTotal: number | null
  sqlDns: string | null
  // 26257 unless PRIMARY_SQL_DNS / STANDBY_SQL_DNS name another port.
  sqlPort: number
  lastCheckedAt: string | null
}

export interface StreamView {
  id: string
  status: StreamStatus
  primaryClusterId: string
  standbyClusterId: string
  createdAt: string
  replicatedTime: string | null
  retainedTime: string | null
  replicationLagSeconds: number | null
  activatedAt: string | null
  failoverAt: string | null
}

export interface FailoverView {
  streamId: string
  trigger: 'auto' | 'manual' | 'adopted'
  requestedBy: string
  startedAt: string
  failoverAt: string | null
  completedAt: string | null
  timedOut: boolean
}

// PgBouncer's hold of the alias around a switch (PGBOUNCER_*): pausing once asked,
// paused once PgBouncer confirmed it, resuming after release until it confirmed that.
export const poolerStates = ['serving', 'pausing', 'paused', 'resuming'] as const

export interface PoolerView {
  database: string
  state: (typeof poolerStates)[number]
  reason: string | null
  since: string | null
}

// A planned switchover's write fence: the cluster applications must not be sent to.
export interface FenceView {
  clusterId: string
  operationId: string
  since: string
}

export interface Snapshot {
  phase: Phase
  activeClusterId: string | null
  watchedClusterId: string
  failoverTargetId: string | null
  clusters: ClusterView[]
  stream: StreamView | null
  consecutiveFailures: number
  threshold: number
  delayEndsAt: string | null
  blockedReason: string | null
  paused: boolean
  autoFailover: boolean
  lastCheckAt: string | null
  monitorStartedAt: string | null
  lastHealthyAt: string | null
  // The upper bound of dataLoss: what MAX_DATA_LOSS_SECONDS is compared with.
  estimatedDataLossSeconds: number | null
  dataLoss: { lowerSeconds: number; upperSeconds: number } | null
  // Served from STATE_FILE: the API has not been read since the start.
  stale: { savedAt: string; ageSeconds: number } | null
  failover: FailoverView | null
  checks: number
  // Set by the shell, not the core: null without PgBouncer.
  pooler: PoolerView | null
  fence: FenceView | null
}

export type ReachableCluster = ClusterView & { sqlDns: string }

// Where applications are sent: the active cluster, once its SQL host is known.
export function activeCluster(s: Pick<Snapshot, 'clusters' | 'activeClusterId'>): ReachableCluster | undefined {
  return s.clusters.find((c): c is ReachableCluster => c.id === s.activeClusterId && c.sqlDns !== null)
}
