import t from 'tap'
import { createOperations } from '../../src/engine/operations.js'

t.test('one operation at a time, a bounded history, and no change after the end', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const ops = createOperations({ now: () => now, capacity: 2 })
  const a = ops.begin('failover', 'alice', 'requesting')
  t.ok(a)
  t.equal(ops.begin('failback', 'bob', 'starting'), undefined, 'refused while one runs')
  t.equal(ops.running()?.id, a?.id)
  now += 1000
  a?.update('failing_over', 'stream s is FAILING_OVER', 's')
  t.match(ops.get(a?.id as string), { phase: 'failing_over', streamId: 's', updatedAt: '2026-01-01T00:00:01.000Z' })
  a?.succeed('done')
  a?.fail('too late')
  t.match(ops.get(a?.id as string), { status: 'succeeded', error: null, finishedAt: '2026-01-01T00:00:01.000Z' })
  t.equal(ops.running(), undefined)

  const b = ops.begin('failback', 'bob', 'starting')
  b?.discard()
  t.equal(ops.get(b?.id as string), undefined, 'a refused request leaves no record')
  const c = ops.begin('failback', 'carol', 'starting')
  c?.fail('boom')
  const d = ops.begin('failover', 'dave', 'requesting')
  t.same(ops.list().map((o) => o.requestedBy), ['dave', 'carol'], 'newest first, the oldest finished one dropped')
  t.equal(ops.get(a?.id as string), undefined)
  t.ok(d)
})

t.test('an operation signals its end, however it ends; stop() ends the running one', async (t) => {
  const ops = createOperations({ now: () => Date.parse('2026-01-01T00:00:00Z') })
  t.equal(ops.stop('service stopped'), undefined, 'nothing running')
  const a = ops.begin('failover', 'alice', 'requesting')
  t.equal(a?.signal.aborted, false)
  a?.succeed('done')
  t.equal(a?.signal.aborted, true, 'succeeded')
  const b = ops.begin('failover', 'bob', 'requesting')
  b?.discard()
  t.equal(b?.signal.aborted, true, 'discarded')
  const c = ops.begin('failback', 'carol', 'starting')
  t.match(ops.stop('service stopped'), { id: c?.id, status: 'failed', error: 'service stopped' })
  t.equal(c?.signal.aborted, true, 'stopped')
  t.equal(ops.running(), undefined)
  t.ok(ops.begin('failover', 'dave', 'requesting'), 'another may begin')
})

t.test('each phase is a step with its duration, closed by the next phase or the end', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const ops = createOperations({ now: () => now })
  const op = ops.begin('switchover', 'alice', 'fencing')
  now += 250
  op?.update('fencing', 'PgBouncer paused')
  now += 50
  op?.update('waiting_for_replication', 'replicated_time behind the fence', 's')
  now += 1200
  op?.update('failing_over', 'stream s is FAILING_OVER')
  now += 4000
  op?.succeed('done')
  now += 100
  op?.update('late', 'ignored')
  t.same(ops.get(op?.id as string)?.steps, [
    { phase: 'fencing', progress: 'PgBouncer paused', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 300 },
    { phase: 'waiting_for_replication', progress: 'replicated_time behind the fence', startedAt: '2026-01-01T00:00:00.300Z', durationMs: 1200 },
    { phase: 'failing_over', progress: 'stream s is FAILING_OVER', startedAt: '2026-01-01T00:00:01.500Z', durationMs: 4000 }
  ])

  const failed = ops.begin('failover', 'bob', 'requesting')
  now += 30
  failed?.fail('refused')
  t.same(ops.get(failed?.id as string)?.steps, [{ phase: 'requesting', progress: '', startedAt: '2026-01-01T00:00:05.600Z', durationMs: 30 }], 'a failure closes the step it failed in')
})
