import type { Snapshot } from './snapshot.js'

// A planned switchover moves the applications to the standby with the primary
// healthy and nothing lost: writes are fenced first (PgBouncer PAUSE; /connection,
// /active and the primary's /clusters/{id}/active answer 503), the fence time T is
// noted, the standby is let replicate past T, and the stream fails over to T
// exactly. Before the PATCH every step can be undone: the fence is lowered and the
// primary serves again. These are its rules; operator.ts runs it.

// T is noted this long after the fence took hold: CockroachDB's default maximum clock
// offset, so a write the primary committed just before the fence, timestamped by a
// node whose clock runs ahead of this one, is still before T.
export const fenceMarginMs = 500

export interface SwitchoverRefusal {
  code: string
  reason: string
}

// Why a switchover cannot start now, or undefined when it can: the stream REPLICATING
// past its initial scan from the active cluster, that cluster healthy, no failover
// under way or pending, and a way to fence writes. The standby is judged by the
// failover's own gates, on a fresh read (operator.ts).
export function switchoverRefusal(s: Snapshot, options: { pooled: boolean; unfenced: boolean }): SwitchoverRefusal | undefined {
  const stream = s.stream
  if (stream === null) return { code: 'no_stream', reason: 'no replication stream between the two clusters' }
  if (stream.status !== 'REPLICATING') return { code: 'stream_not_replicating', reason: `stream ${stream.id} is ${stream.status}; only a REPLICATING stream can be switched over` }
  if (stream.replicatedTime === null) {
    return { code: 'initial_scan', reason: `stream ${stream.id} is still in its initial scan (no replicated_time yet): there is no consistent time to switch over to` }
  }
  if (s.activeClusterId !== stream.primaryClusterId) {
    return { code: 'not_primary', reason: `the active cluster ${s.activeClusterId ?? '(unknown)'} is not the primary of stream ${stream.id}` }
  }
  if (s.phase !== 'normal') return { code: 'not_normal', reason: `the monitor is in phase ${s.phase}: a switchover starts only from normal` }
  const primary = s.clusters.find((c) => c.id === stream.primaryClusterId)
  if (primary !== undefined && primary.verdict !== 'healthy') {
    return { code: 'cluster_unhealthy', reason: `cluster ${primary.id} is ${primary.verdict}: ${primary.reason}` }
  }
  if (!options.pooled && !options.unfenced) {
    return {
      code: 'no_fence',
      reason:
        'no PgBouncer to fence writes with (PGBOUNCER_* unset, or PGBOUNCER_MAX_PAUSE=0): applications connected to the primary would keep writing after the failover point; ask again with unfenced to accept it'
    }
  }
  return undefined
}

// Whether the stream has replicated everything up to T (an RFC 3339 time).
export function replicatedPast(replicatedTime: string | undefined, t: number): boolean {
  return replicatedTime !== undefined && Date.parse(replicatedTime) >= t
}
