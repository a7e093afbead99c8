import type { Stream } from '../cloud/schemas.js'
import type { StreamView } from './snapshot.js'

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
    activatedAt: s.activated_at ?? null,
    failoverAt: s.failover_at ?? null
  }
}
