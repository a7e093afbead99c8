import type { DrillPhase, DrillReport, PhaseName } from './drill.js'

// The drill as text: each phase as it is reached, then the measures.

const labels: Record<PhaseName, string> = {
  preflight_ok: 'pair healthy, stream replicating',
  outage_started: 'outage started (disruption sent)',
  first_failure: 'first failed check',
  threshold_reached: 'failure threshold reached',
  failover_confirmed: 'double-check confirmed the outage',
  failover_requested: 'failover requested (PATCH)',
  failover_started: 'stream FAILING_OVER',
  failover_completed: 'failover COMPLETED',
  switched: 'applications switched to the new cluster',
  target_sql_checked: 'new cluster SQL checked',
  restored: 'disruption ended',
  failback_started: 'failback started',
  failback_completed: 'failback completed'
}

const secs = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(3)} s`)

export function phaseLine(phase: DrillPhase): string {
  const offset = phase.offset_seconds === null ? '' : `T${phase.offset_seconds < 0 ? '' : '+'}${phase.offset_seconds.toFixed(3)} s`
  return `${offset.padStart(13)}  ${labels[phase.name].padEnd(42)}  ${phase.at}`
}

export function drillReportLines(r: DrillReport): string[] {
  const lines = [r.result === 'passed' ? `drill passed (${r.mode}: ${r.source})` : `drill FAILED (${r.mode}: ${r.source}): ${r.error}`]
  if (r.disrupted_cluster_id !== null) {
    lines.push(`  disrupted ${r.disrupted_cluster_id}, failover to ${r.target_cluster_id} (stream ${r.stream_id})`)
  }
  if (r.timeline !== null) {
    const t = r.timeline
    lines.push(`  timeline: a check every ${t.interval_seconds} s, ${t.failure_threshold} failures, ${t.failover_delay_seconds} s delay`)
  }
  // Before the outage nothing was measured: the error says why.
  if (r.outage_started_at === null) return lines
  lines.push('')
  const minimum = r.minimum_detection_seconds === null ? '' : ` (configured minimum ${secs(r.minimum_detection_seconds)})`
  lines.push(`  detection         ${secs(r.detection_seconds)}  outage → double-check confirmed${minimum}`)
  lines.push(`  threshold         ${secs(r.threshold_seconds)}  outage → FAILURE_THRESHOLD failed checks in a row`)
  lines.push(`  failover          ${secs(r.failover_seconds)}  PATCH → COMPLETED`)
  lines.push(`  RTO               ${secs(r.rto_seconds)}  outage → applications handed the new cluster`)
  lines.push(
    r.activated_at !== null
      ? `  data-loss window  ${secs(r.data_loss_window_seconds)}  outage − activated_at (${r.activated_at})`
      : `  data-loss window  ${secs(r.data_loss_window_seconds)}  outage − last replicated time (${r.last_replicated_time ?? 'unknown'})`
  )
  if (r.target_sql !== null) {
    const s = r.target_sql
    lines.push(`  new cluster SQL   ${s.ok ? `answers SELECT 1 (${s.latency_ms} ms)` : `failed: ${s.error}`}`)
  }
  if (r.failback !== null) {
    const f = r.failback
    lines.push(`  failback          ${secs(f.seconds)}  operation ${f.operation_id} ${f.status}${f.error === null ? '' : `: ${f.error}`}`)
  }
  for (const block of r.blocks) lines.push(`  blocked           ${block}`)
  if (r.result === 'passed') {
    lines.push(
      '',
      r.failback?.status === 'succeeded'
        ? 'The original primary is active again, without a stream: pcr setup protects it again.'
        : `${r.target_cluster_id} is active now, without a stream: pcr failback full returns to ${r.disrupted_cluster_id}.`
    )
  }
  return lines
}
