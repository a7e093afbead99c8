import type { Cluster, ClusterNode } from '../cloud/schemas.js'

// The verdict of one check, from what that check observed. "unknown" means the
// evidence could not be read: it never counts toward a failover and never resets
// the count, so an outage of the Cloud API alone can never cause a failover.

export type Verdict = 'healthy' | 'unhealthy' | 'unknown'

// both: the API and the SQL probe must both say the cluster is down (default);
// either: one of them suffices.
export const evidenceModes = ['both', 'either'] as const
export type EvidenceMode = (typeof evidenceModes)[number]

export type Reading<T> = { ok: true; value: T } | { ok: false; error: string }

export interface Observation {
  cluster: Reading<Cluster>
  // Absent when the cluster could not be read, so the nodes were not asked.
  nodes?: Reading<ClusterNode[]>
  // Absent when no SQL endpoint is configured for the cluster.
  sql?: { ok: true } | { ok: false; error: string }
}

export interface Judgement {
  verdict: Verdict
  reason: string
  nodesLive: number | undefined
  nodesTotal: number | undefined
}

type ApiJudgement = { verdict: Verdict; reason: string; nodesLive?: number; nodesTotal?: number }

function judgeApi(o: Observation): ApiJudgement {
  if (!o.cluster.ok) return { verdict: 'unknown', reason: `cluster not readable: ${o.cluster.error}` }
  const { state } = o.cluster.value
  if (state === 'CREATION_FAILED' || state === 'DELETED') {
    return { verdict: 'unhealthy', reason: `cluster state is ${state}` }
  }
  if (state === 'CREATING') return { verdict: 'unknown', reason: 'cluster is still being created' }
  if (o.nodes === undefined || !o.nodes.ok) {
    return { verdict: 'unknown', reason: `nodes not readable: ${o.nodes?.error ?? 'not asked'}` }
  }
  const nodesTotal = o.nodes.value.length
  const nodesLive = o.nodes.value.filter((n) => n.status === 'LIVE').length
  if (nodesTotal === 0) return { verdict: 'unknown', reason: 'the API lists no nodes', nodesLive, nodesTotal }
  // CockroachDB keeps serving while a majority of its replicas' nodes is live.
  const majority = nodesLive * 2 > nodesTotal
  return {
    verdict: majority ? 'healthy' : 'unhealthy',
    reason: `${nodesLive} of ${nodesTotal} nodes live`,
    nodesLive,
    nodesTotal
  }
}

export function judge(o: Observation, mode: EvidenceMode = 'both'): Judgement {
  const api = judgeApi(o)
  const counts = { nodesLive: api.nodesLive, nodesTotal: api.nodesTotal }
  if (o.sql === undefined) return { verdict: api.verdict, reason: api.reason, ...counts }
  const sqlReason = o.sql.ok ? 'SQL answers' : `SQL fails: ${o.sql.error}`
  const reason = `${api.reason}; ${sqlReason}`
  if (mode === 'either') {
    if (api.verdict === 'unhealthy' || !o.sql.ok) return { verdict: 'unhealthy', reason, ...counts }
    return { verdict: api.verdict, reason, ...counts }
  }
  // Evidence from both: a cluster that still answers SQL is serving, whatever the
  // API says; SQL failing alone may be this sidecar's own network position.
  if (o.sql.ok) return { verdict: 'healthy', reason, ...counts }
  return { verdict: api.verdict, reason, ...counts }
}
