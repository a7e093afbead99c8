import t from 'tap'
import { startFakeCloud, startService } from '../../tools/stack.js'

// /ready tells a load balancer or an orchestrator that this sidecar can hand out a
// cluster; /connection is what applications then ask. They must agree: a ready sidecar
// answering 503 on /connection sends applications away empty-handed.

t.test('/ready is 200 only when /connection can answer', async (t) => {
  const cloud = await startFakeCloud(t)
  // The first check learns the topology from the streams, then reads the cluster (its SQL
  // host): held back here, so the moment in between lasts long enough to be seen.
  await cloud.control('POST', '/faults', { operation: 'getCluster', kind: 'latency', latency_ms: 600, count: 1 })
  const svc = await startService(t, cloud)
  const headers = { 'x-db-username': 'app', 'x-db-password': 'secret' }

  const disagreements: string[] = []
  let samples = 0
  let unavailable = 0
  for (const started = Date.now(); Date.now() - started < 10_000; ) {
    samples++
    const ready = await svc.fastify.inject({ method: 'GET', url: '/ready' })
    const connection = await svc.fastify.inject({ method: 'GET', url: '/connection', headers })
    if (connection.statusCode !== 200) unavailable++
    if (ready.statusCode === 200 && connection.statusCode !== 200) {
      disagreements.push(`${ready.body} then ${connection.statusCode} ${connection.body}`)
    }
    if (ready.statusCode === 200 && connection.statusCode === 200) break
    // inject answers without I/O: let the engine's own requests progress between samples.
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.ok(unavailable > 0, `sampled before the first check had ended (${unavailable} of ${samples} samples without a connection)`)
  t.same(disagreements.slice(0, 1), [], `no sample ready with /connection 503 (${disagreements.length} of ${samples})`)
  t.equal((await svc.get('/connection', headers)).status, 200, 'both answer in the end')
})
