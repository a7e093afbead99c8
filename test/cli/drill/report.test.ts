import t from 'tap'
import type { DrillReport } from '../../../src/cli/drill/drill.js'
import { drillReportLines, phaseLine } from '../../../src/cli/drill/report.js'

const base: DrillReport = {
  result: 'failed',
  error: 'timed out',
  mode: 'remote',
  source: 'sidecar http://sidecar',
  timeline: null,
  minimum_detection_seconds: null,
  disrupted_cluster_id: 'a',
  target_cluster_id: 'b',
  stream_id: 's',
  outage_started_at: '2025-06-02T12:00:00.000Z',
  last_replicated_time: null,
  activated_at: null,
  phases: [],
  detection_seconds: null,
  threshold_seconds: 1.5,
  failover_seconds: null,
  rto_seconds: null,
  data_loss_window_seconds: null,
  target_sql: null,
  failback: null,
  blocks: ['failover blocked: paused']
}

t.test('phase lines: the offset from the outage, signed, or none before it', async (t) => {
  t.equal(phaseLine({ name: 'preflight_ok', at: '2025-06-02T11:59:59.990Z', offset_seconds: -0.01 }), `    T-0.010 s  ${'pair healthy, stream replicating'.padEnd(42)}  2025-06-02T11:59:59.990Z`)
  t.equal(phaseLine({ name: 'switched', at: '2025-06-02T12:00:01.000Z', offset_seconds: 1 }), `    T+1.000 s  ${'applications switched to the new cluster'.padEnd(42)}  2025-06-02T12:00:01.000Z`)
  t.match(phaseLine({ name: 'preflight_ok', at: 'x', offset_seconds: null }), /^ {13} {2}pair healthy/)
})

t.test('a failed drill: what was measured, n/a for the rest, and why the sidecar held back', async (t) => {
  t.same(drillReportLines(base), [
    'drill FAILED (remote: sidecar http://sidecar): timed out',
    '  disrupted a, failover to b (stream s)',
    '',
    '  detection         n/a  outage → double-check confirmed',
    '  threshold         1.500 s  outage → FAILURE_THRESHOLD failed checks in a row',
    '  failover          n/a  PATCH → COMPLETED',
    '  RTO               n/a  outage → applications handed the new cluster',
    '  data-loss window  n/a  outage − last replicated time (unknown)',
    '  blocked           failover blocked: paused'
  ])
})

t.test('the data-loss window is measured from activated_at when the stream has one', async (t) => {
  const lines = drillReportLines({ ...base, last_replicated_time: '2025-06-02T11:59:30.000Z', activated_at: '2025-06-02T11:59:55.000Z', data_loss_window_seconds: 5 })
  t.ok(lines.includes('  data-loss window  5.000 s  outage − activated_at (2025-06-02T11:59:55.000Z)'), lines.join('\n'))
})
