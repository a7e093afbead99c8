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
