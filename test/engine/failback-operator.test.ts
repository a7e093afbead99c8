import t from 'tap'
import { CloudApiError } from '../../src/cloud/errors.js'
import type { Stream } from '../../src/cloud/schemas.js'
import type { Engine, FailoverResult } from '../../src/engine/engine.js'
import { operatorSettings } from '../helpers/operator-settings.js'
import { snapshotOf } from '../helpers/snapshot.js'
import { waitingClock } from '../helpers/waiting-clock.js'
import type { EventInput } from '../../src/engine/events.js'
import { createOperations, type Operation } from '../../src/engine/operations.js'
import { createOperator, type OperatorDeps } from '../../src/engine/operator.js'
import type { Snapshot } from '../../src/engine/snapshot.js'
import { streamView } from '../../src/engine/engine.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'

// A full failback waits for the reverse stream: STARTING (network setup), then
// REPLICATING with an initial scan, a full re-seed of the original primary, that
// can take hours (no replicated_time meanwhile), then the lag coming down. Run on
// a clock that moves only when the operator waits, so hours pass in milliseconds.

const REVERSE = 'reverse-stream'
const MIN = 60_000
const HOUR = 60 * MIN


function stream(status: Stream['status'], extra: Partial<Stream> = {}): Stream {
  return { id: REVERSE, status, primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY, created_at: '2026-01-05T10:00:00.000Z', ...extra }
}

function snapshot(s: Stream, phase: Snapshot['phase'] = 'completed'): Snapshot {
  return snapshotOf({
    phase,
    activeClusterId: s.status === 'COMPLETED' ? PRIMARY : STANDBY,
    watchedClusterId: STANDBY,
    failoverTargetId: PRIMARY,
    stream: streamView(s),
    checks: 1
  })
}

interface Rig {
  clock: ReturnType<typeof waitingClock>
  events: EventInput[]
  progress(): Array<{ phase: string; progress: string }>
  run(options?: { timeoutSeconds?: number }): Promise<Operation>
}

// The reverse stream as the API shows it `elapsed` ms after the failback started.
function rig(read: (elapsed: number) => Stream, timeline: Partial<OperatorDeps['settings']['timeline']> = {}): Rig {
  const clock = waitingClock()
  const events: EventInput[] = []
  let current = snapshot(stream('STARTING'), 'completed')
  const engine = {
    refresh: async () => current,
    snapshot: () => current,
    onPublish: () => () => undefined,
    record: (input: EventInput) => {
      events.push(input)
      return input
    },
    async failover(): Promise<FailoverResult> {
      const s = stream('FAILING_OVER')
      current = snapshot(stream('COMPLETED', { activated_at: new Date(clock.now()).toISOString() }))
      return { outcome: 'started', plan: { streamId: REVERSE, fromClusterId: STANDBY, toClusterId: PRIMARY, failoverAt: null, estimatedDataLossSeconds: 0, dataLoss: { lowerSeconds: 0, upperSeconds: 0 } }, stream: streamView(s) }
    }
  } as unknown as Engine
  const cloud = {
    async getStream(id: string) {
      if (id !== REVERSE) throw new Error(`unexpected stream ${id}`)
      return read(clock.now() - clock.start)
    }
  } as unknown as OperatorDeps['cloud']
  const operations = createOperations({ now: clock.now })
  const operator = createOperator({
    engine,
    cloud,
    clock,
    operations,
    settings: operatorSettings({ failbackProgressIntervalSeconds: 600, ...timeline })
  })
  return {
    clock,
    events,
    progress: () =>
      events.filter((e) => e.type === 'operation_progress').map((e) => ({ phase: String(e.data.phase), progress: String(e.data.progress) })),
    async run(options = {}) {
      const started = operator.startFailbackFull('test', { maxLagSeconds: 60, ...options })
      for (;;) {
        const op = operations.get(started.id) as Operation
        if (op.status !== 'running') return op
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  }
}

// STARTING for 4 min, the API failing for a minute, a 3 h initial scan, then the lag coming down.
function reseed(elapsed: number): Stream {
  if (elapsed < 4 * MIN) return stream('STARTING')
  if (elapsed < 4.5 * MIN) throw new CloudApiError('timeout', 'timed out after 10 s', { operation: 'getStream' })
  if (elapsed < 5 * MIN) throw new CloudApiError('http', 'HTTP 503', { operation: 'getStream', status: 503 })
  if (elapsed < 3 * HOUR) return stream('REPLICATING')
  const lag = elapsed < 3 * HOUR + 10 * MIN ? 120 : 10
  return stream('REPLICATING', { replicated_time: new Date(Date.parse('2026-01-05T10:00:00.000Z') + elapsed - lag * 1000).toISOString(), replication_lag_seconds: lag })
}

t.test('a re-seed of hours: STARTING, API errors, initial scan, catching up, then the failover, within the default budget', async (t) => {
  const r = rig(reseed)
  const op = await r.run()
  t.match(op, { status: 'succeeded', phase: 'done', error: null })
  t.ok(r.clock.now() - r.clock.start > 3 * HOUR, 'it waited through the 3 h scan: the default budget is hours, not minutes')

  const progress = r.progress()
  const phases = progress.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1])
  t.same(phases, ['stream_starting', 'stream_unreadable', 'initial_scan', 'catching_up', 'failing_over'], 'each stage is reported')
  t.match(progress.find((p) => p.phase === 'stream_starting')?.progress, /stream reverse-stream is STARTING/)
  t.match(progress.find((p) => p.phase === 'stream_unreadable')?.progress, /could not be read.*timed out after 10 s.*still polling/)
  t.match(progress.find((p) => p.phase === 'initial_scan')?.progress, /REPLICATING, initial scan .*no replicated_time yet/)
  t.match(progress.find((p) => p.phase === 'catching_up')?.progress, /lag 120 s \(limit 60 s\)/)

  // Periodic, not one event per poll: the scan took about 3 h at a poll every 5 s.
  const scans = progress.filter((p) => p.phase === 'initial_scan').length
  t.ok(scans >= 10 && scans <= 20, `about one report per FAILBACK_PROGRESS_INTERVAL (600 s) during the scan: ${scans}`)
  t.match(progress.filter((p) => p.phase === 'initial_scan').at(-1)?.progress, /for (1|2) h \d+ min/, 'the report says how long it has been scanning')
})

t.test('a scan that never ends fails at the deadline, saying where it was', async (t) => {
  const r = rig((elapsed) => (elapsed < 4 * MIN ? stream('STARTING') : stream('REPLICATING')), { failbackTimeoutSeconds: 2 * 3600 })
  const op = await r.run()
  t.match(op, { status: 'failed', error: /did not reach REPLICATING with lag under 60 s within 7200 s.*initial scan/ })
  const waited = r.clock.now() - r.clock.start
  t.ok(waited >= 2 * HOUR && waited < 2 * HOUR + MIN, 'the deadline is the configured budget')
})

t.test('an explicit timeout replaces the configured one', async (t) => {
  const r = rig(() => stream('STARTING'))
  const op = await r.run({ timeoutSeconds: 600 })
  t.match(op, { status: 'failed', error: /within 600 s.*STARTING/ })
})

t.test('API errors are polled through until the deadline; the last one is in the error', async (t) => {
  const r = rig(() => {
    throw new CloudApiError('network', 'ECONNRESET', { operation: 'getStream' })
  }, { failbackTimeoutSeconds: 1800 })
  const op = await r.run()
  t.match(op, { status: 'failed', error: /within 1800 s.*ECONNRESET/ })
  const unreadable = r.progress().filter((p) => p.phase === 'stream_unreadable').length
  t.ok(unreadable >= 1 && unreadable <= 5, `reported periodically, not at every poll (${unreadable})`)
})

t.test('a stream the API refuses to show (404) fails the failback at once', async (t) => {
  const r = rig(() => {
    throw new CloudApiError('http', 'HTTP 404', { operation: 'getStream', status: 404 })
  })
  const op = await r.run()
  t.match(op, { status: 'failed', error: /reading the failback stream: .*404/ })
  t.ok(r.clock.now() - r.clock.start < MIN)
})

t.test('a canceled stream fails the failback at once', async (t) => {
  const r = rig((elapsed) => (elapsed < 10 * MIN ? stream('REPLICATING') : stream('CANCELED')))
  const op = await r.run()
  t.match(op, { status: 'failed', error: 'the failback stream is CANCELED' })
})
