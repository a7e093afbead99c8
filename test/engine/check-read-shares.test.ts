import t from 'tap'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'

// Issue 16: discovery used to read every page of the pair's ascending history inside
// HEALTH_CHECK_TIMEOUT, and the cluster and node reads got what the listing left: on a
// slow API with a long history every check was "unknown", and a real outage was never
// acted on. Discovery now reads the newest page, and each read has a share of its own.

t.test('a long stream history on a slow API: each check still reads the cluster and judges it', async (t) => {
  const cloud = await startFakeCloud(t, { stream: 'none' })
  const state = cloud.emulator.state
  // 250 failed-back or canceled streams before the live one: three pages of the API's 100.
  for (let i = 0; i < 250; i++) {
    const old = state.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY })
    state.advanceClock(3600)
    state.patchStream(old.id, { status: 'CANCELED' })
  }
  state.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY })
  state.advanceClock(3600)
  for (const operation of ['listStreams', 'getCluster', 'listNodes']) {
    await cloud.control('POST', '/faults', { operation, kind: 'latency', latency_ms: 700, count: 1000 })
  }
  // Three reads of 0.7 s fit a 3 s check; three pages and two reads did not.
  const svc = await startService(t, cloud, { HEALTH_CHECK_INTERVAL: '5', HEALTH_CHECK_TIMEOUT: '3' })
  const s = await svc.fastify.engine.nextCheck()
  t.match(s.stream, { status: 'REPLICATING' })
  const primary = s.clusters.find((c) => c.id === PRIMARY)
  t.match(primary, { verdict: 'healthy' }, primary?.reason ?? 'no primary')
})
