import type { ClustersJson, FailbackStatusJson, FailoverJson, SimulateJson } from './backend.js'
import { table } from './io.js'

// Human-readable views of the API's JSON answers.

type StreamJson = NonNullable<ClustersJson['stream']>
type Names = Map<string, string>

export function namesOf(c: ClustersJson): Names {
  return new Map(c.clusters.map((k) => [k.id, k.name ?? k.id]))
}

function named(names: Names, id: string): string {
  const name = names.get(id)
  return name === undefined || name === id ? id : `${id} (${name})`
}

export function streamText(s: StreamJson, names: Names = new Map()): string {
  const parts = [`${s.id} ${s.status}`, `${names.get(s.primary_cluster_id) ?? s.primary_cluster_id} → ${names.get(s.standby_cluster_id) ?? s.standby_cluster_id}`]
  if (s.replicated_time !== null) parts.push(`replicated ${s.replicated_time}`)
  if (s.replication_lag_seconds !== null) parts.push(`lag ${s.replication_lag_seconds} s`)
  if (s.activated_at !== null) parts.push(`activated at ${s.activated_at}`)
  return parts.join(', ')
}

function phaseText(c: ClustersJson): string {
  const parts = [`${c.phase}`, `${c.consecutive_failures} of ${c.failure_threshold} failures`]
  if (c.delay_ends_at !== null) parts.push(`double-check at ${c.delay_ends_at}`)
  if (c.blocked_reason !== null) parts.push(`blocked: ${c.blocked_reason}`)
  if (c.paused) parts.push('automatic failover paused')
  if (!c.auto_failover) parts.push('automatic failover off')
  if (c.estimated_data_loss_seconds !== null) parts.push(`estimated data loss ${c.estimated_data_loss_seconds} s`)
  return parts.join(', ')
}

function activeText(c: ClustersJson, names: Names): string {
  if (c.active_cluster_id !== null) return named(names, c.active_cluster_id)
  if (c.phase === 'failing_over') return 'none while failing over'
  if (c.phase === 'activating') return `none until ${named(names, c.watched_cluster_id)} answers SQL (activating after the failover)`
  return 'unknown'
}

export function statusLines(c: ClustersJson): string[] {
  const names = namesOf(c)
  const rows = [['', 'CLUSTER', 'NAME', 'CONFIGURED', 'ROLE', 'STATE', 'NODES', 'VERDICT', 'REASON']]
  for (const k of c.clusters) {
    const nodes = k.nodes_live === null ? '-' : `${k.nodes_live}/${k.nodes_total}`
    rows.push([k.id === c.active_cluster_id ? '*' : '', k.id, k.name ?? '-', k.configured_role, k.role, k.state ?? '-', nodes, k.verdict, k.reason])
  }
  const summary = [
    ['stream', c.stream === null ? 'none between the two clusters' : streamText(c.stream, names)],
    ['active', activeText(c, names)],
    ['phase', phaseText(c)]
  ]
  if (c.failover !== null) {
    const f = c.failover
    const state = f.completed_at === null ? `running since ${f.started_at}` : `completed at ${f.completed_at}`
    summary.push(['failover', `stream ${f.stream_id} (${f.trigger}, ${f.requested_by}): ${state}${f.timed_out ? ', past FAILOVER_TIMEOUT' : ''}`])
  }
  if (c.fence !== null) summary.push(['fence', `writes fenced on ${c.fence.cluster_id} since ${c.fence.since} (switchover ${c.fence.operation_id})`])
  const p = c.pgbouncer
  if (p !== null) summary.push(['pgbouncer', p.state === 'serving' ? `${p.database} serving` : `${p.database} ${p.state} since ${p.since} (${p.reason})`])
  return [...table(rows), '', ...table(summary)]
}

export function planText(answer: FailoverJson): string {
  const p = answer.plan
  const loss = p.estimated_data_loss_seconds === null ? 'unknown' : `${p.estimated_data_loss_seconds} s`
  const at = p.failover_at === null ? 'the latest consistent time' : p.failover_at
  return `stream ${p.stream_id}: ${p.from_cluster_id} → ${p.to_cluster_id}, to ${at}, estimated data loss ${loss}`
}

export function disruptionLines(answer: SimulateJson): string[] {
  return table(
    answer.clusters.map((c) => {
      const specs = c.regional_disruptor_specifications.map((s) =>
        s.is_whole_region ? `whole region ${s.region_code}` : `${[...(s.pods ?? []), ...(s.azs ?? [])].join(', ')} in ${s.region_code}`
      )
      return [c.cluster_id, specs.length === 0 ? 'not disrupted' : specs.join('; ')]
    })
  )
}

export function failbackStatusLines(s: FailbackStatusJson): string[] {
  return table([
    ['stream', s.stream === null ? 'none' : streamText(s.stream)],
    // The operator reads the topology first: the active cluster is unknown only while failing over.
    ['active', s.active_cluster_id ?? 'none while failing over'],
    ['ready', `${s.ready ? 'yes' : 'no'}: ${s.reason}`]
  ])
}

// One check of `test monitoring`, on one line.
export function checkLine(c: ClustersJson): string {
  const clusters = c.clusters.map((k) => `${k.name ?? k.id} ${k.verdict} (${k.reason})`)
  const s = c.stream
  const stream = s === null ? 'no stream' : `stream ${s.status}${s.replication_lag_seconds === null ? '' : `, lag ${s.replication_lag_seconds} s`}`
  return [`phase ${c.phase}`, ...clusters, stream].join('; ')
}
