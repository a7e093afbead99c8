import t from 'tap'
import type { Engine } from '../../src/engine/engine.js'
import type { EngineEvent } from '../../src/engine/events.js'
import type { Phase, Snapshot } from '../../src/engine/snapshot.js'
import { createMetrics } from '../../src/plugins/metrics.js'
import { PRIMARY } from '../../tools/stack.js'
import { snapshotOf } from '../helpers/snapshot.js'

// The gauges read the engine's snapshot when scraped; the counters and histograms follow its events.

function follow(snapshot: Snapshot) {
  const metrics = createMetrics()
  let emit: (event: EngineEvent) => void = () => {}
  const engine = {
    snapshot: () => snapshot,
    onEvent(listener: (event: EngineEvent) => void) {
      emit = listener
      return () => undefined
    },
    onCheck: () => () => undefined
  } as unknown as Engine
  metrics.follow(engine)
  return { text: () => metrics.registry.metrics(), emit: (event: Partial<EngineEvent>) => emit({ id: 1, at: '', severity: 'info', message: '', data: {}, type: 'monitor_started', ...event }) }
}

// A Record over Phase: a phase added to the engine and not here does not compile.
const every: Record<Phase, true> = { starting: true, normal: true, suspect: true, delay: true, blocked: true, failover_scheduled: true, failing_over: true, activating: true, completed: true }
const phases = Object.keys(every) as Phase[]

t.test('pcr_phase is 1 for every phase the engine can be in', async (t) => {
  for (const phase of phases) {
    const text = await follow(snapshotOf({ phase, activeClusterId: PRIMARY, watchedClusterId: PRIMARY })).text()
    t.match(text, `pcr_phase{phase="${phase}"} 1`, phase)
  }
})

t.test("PgBouncer's state, its pauses and the fence", async (t) => {
  const none = await follow(snapshotOf({ phase: 'normal', activeClusterId: PRIMARY, watchedClusterId: PRIMARY })).text()
  t.notMatch(none, /pcr_pgbouncer_state\{/, 'no PgBouncer, no series')
  t.match(none, /^pcr_fenced 0$/m)

  const fence = { clusterId: PRIMARY, operationId: 'op-1', since: '2026-01-01T00:00:00.000Z' }
  const pooler = { database: 'app', state: 'paused' as const, reason: 'switchover op-1', since: fence.since }
  const held = follow(snapshotOf({ phase: 'normal', activeClusterId: PRIMARY, watchedClusterId: PRIMARY, fence, pooler }))
  held.emit({ type: 'pgbouncer_resumed', data: { pausedSeconds: 2.5 } })
  held.emit({ type: 'pgbouncer_resumed', data: { pausedSeconds: null } })
  const text = await held.text()
  t.match(text, /^pcr_fenced 1$/m)
  t.match(text, 'pcr_pgbouncer_state{state="paused"} 1')
  t.match(text, 'pcr_pgbouncer_state{state="serving"} 0')
  t.match(text, /^pcr_pgbouncer_pause_seconds_count 1$/m, 'a pause of unknown length (left by an earlier run) is not observed')
  t.match(text, /^pcr_pgbouncer_pause_seconds_sum 2.5$/m)
})
