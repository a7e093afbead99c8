import t from 'tap'
import { PRIMARY, admin, startFakeCloud, startService } from '../../tools/stack.js'

// A failover scheduled ahead (failover_at in the future) leaves the stream FAILING_OVER
// in the API, but the primary keeps replicating and serving until that time: applications
// stay on it, and the phase says a failover is scheduled, not under way.

t.test('a failover scheduled ahead keeps the primary serving until its time', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  // Only a REPLICATING stream past its initial scan can be failed over.
  let s = await svc.fastify.engine.nextCheck()
  while (s.stream?.status !== 'REPLICATING' || s.stream.replicatedTime === null) s = await svc.fastify.engine.nextCheck()

  // Just under the API's one-hour limit, so the request is never refused for it.
  const failoverAt = new Date(Date.now() + 55 * 60_000).toISOString()
  const res = await svc.post('/admin/failover', { failover_at: failoverAt }, admin)
  t.equal(res.status, 202, 'the failover is accepted')
  const requests: Array<{ method: string; body: unknown }> = (await cloud.control('GET', '/requests')).requests
  const patches = requests.filter((r) => r.method === 'PATCH')
  t.match(patches, [{ body: { status: 'FAILING_OVER', failover_at: String } }], 'one PATCH, with failover_at')
  await svc.fastify.engine.nextCheck()
  await svc.fastify.engine.nextCheck()

  const clusters = (await svc.get('/clusters')).body
  t.equal(clusters.stream.status, 'FAILING_OVER', 'the API shows the stream failing over')
  t.equal(clusters.phase, 'failover_scheduled', 'the phase says scheduled, not failing over')
  t.equal(clusters.active_cluster_id, PRIMARY, 'the primary is still the active cluster')
  const connection = await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'secret' })
  t.equal(connection.status, 200, `/connection answers (${connection.body.code ?? ''})`)
  t.equal(connection.body.cluster_id, PRIMARY, 'with the primary')
  const ready = await svc.get('/ready')
  t.equal(ready.status, 200, `/ready (${ready.body.reason ?? ''})`)
})
