import t from 'tap'
import type { EngineEvent } from '../../src/engine/events.js'
import { PRIMARY, startFakeCloud, startService } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'

// The primary may have died any time between the last check that saw it healthy and
// the first that saw it down. When the Cloud API was dark in between, the data lost
// lies in a range, and the guard must hold the worst case (the upper bound) against
// MAX_DATA_LOSS_SECONDS: the last healthy sighting alone reads 0 here.

t.test('an outage hidden by a dark Cloud API is held to the upper bound of the data lost', async (t) => {
  // 0.1 s of replication lag, so the healthy pair stays well under the limit.
  const cloud = await startFakeCloud(t, { timings: { lagSeconds: 0.1 } })
  const svc = await startService(t, cloud, { MAX_DATA_LOSS_SECONDS: '1' })
  // Healthy and replicating, with an estimate under the limit.
  let s = await svc.fastify.engine.nextCheck()
  while (s.stream?.replicatedTime == null || s.estimatedDataLossSeconds === null) s = await svc.fastify.engine.nextCheck()
  t.ok(s.estimatedDataLossSeconds < 1, `healthy pair: estimate ${s.estimatedDataLossSeconds} s`)

  // The whole API dark for 2.5 s (well over the limit); the primary dies early in it.
  // The control API is not subject to faults.
  await cloud.control('POST', '/faults', { operation: '*', kind: 'status', status: 503, duration_seconds: 2.5 })
  await waitFor('a read refused by the dark API', async () => (await cloud.requests()).some((r) => r.status === 503), { timeoutMs: 2000 })
  await cloud.setNodes(PRIMARY, 'NOT_READY')

  // The decision, whichever it is: a PATCH or a block.
  const decided = await new Promise<EngineEvent>((resolve) => {
    const off = svc.fastify.engine.onEvent((e) => {
      if (e.type !== 'failover_requested' && e.type !== 'failover_blocked') return
      off()
      resolve(e)
    })
  })
  t.equal(decided.type, 'failover_blocked', `no automatic failover (${decided.message}; estimate ${decided.data.estimatedDataLossSeconds} s)`)
  t.equal(decided.data.code, 'data_loss', 'blocked for data loss')
  t.equal(await cloud.patches(), 0)

  const body = (await svc.get('/clusters')).body
  const range = body.data_loss_seconds
  t.match(range, { lower: Number, upper: Number }, '/clusters gives both bounds')
  t.ok(range?.lower >= 0 && range?.upper >= range?.lower, `0 ≤ lower ≤ upper (${JSON.stringify(range)})`)
  t.ok(range?.upper > 1, 'the upper bound is over the limit')
  t.equal(body.estimated_data_loss_seconds, range?.upper, 'the estimate is the upper bound')
})
