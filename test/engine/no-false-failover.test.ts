import t from 'tap'
import { PRIMARY, STANDBY, STREAM, admin, startFakeCloud, startService, type Service } from '../../tools/stack.js'

async function checks(svc: Service, n: number) {
  for (let i = 0; i < n; i++) await svc.fastify.engine.nextCheck()
}

t.test('a Cloud API error storm never fails over, even with the primary really down', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { HEALTH_CHECK_TIMEOUT: '0.3' })
  await checks(svc, 1)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  for (const fault of [
    { kind: 'status', status: 503 },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 429, retry_after_seconds: 1 },
    { kind: 'malformed' },
    { kind: 'reset' },
    { kind: 'hang' }
  ]) {
    await cloud.control('POST', '/faults', { operation: '*', ...fault })
    await checks(svc, 4)
    await cloud.control('DELETE', '/faults')
    t.equal(svc.fastify.engine.snapshot().consecutiveFailures, 0, `${fault.kind} ${fault.status ?? ''}: nothing counted`)
  }
  t.equal(await cloud.patches(), 0)
  const unknown = svc.events().filter((e) => e.type === 'verdict_changed' && e.data.to === 'unknown')
  t.ok(unknown.length >= 1, 'the checks said unknown')
  // Once the API answers again, the real outage is acted on.
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})

t.test('one node of three down is not an outage', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await checks(svc, 1)
  const state = await cloud.control('GET', '/state')
  const primary = state.clusters.find((c: { id: string }) => c.id === PRIMARY)
  await cloud.setNodes(PRIMARY, 'NOT_READY', [primary.nodes[0].name])
  await checks(svc, 8)
  t.equal(await cloud.patches(), 0)
  const view = (await svc.get('/clusters')).body.clusters.find((c: { id: string }) => c.id === PRIMARY)
  t.match(view, { verdict: 'healthy', nodes_live: 2, nodes_total: 3 })
})

t.test('a stream that is not REPLICATING blocks the failover, with an event saying so', async (t) => {
  for (const seed of ['starting', 'canceled'] as const) {
    t.test(seed, async (t) => {
      const cloud = await startFakeCloud(t, { stream: seed === 'starting' ? 'starting' : 'replicating' })
      if (seed === 'canceled') {
        const res = await fetch(`${cloud.url}/api/v1/physical-replication-streams/${STREAM}`, {
          method: 'PATCH',
          headers: { authorization: 'Bearer emulator-secret-key', 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'CANCELED' })
        })
        t.equal(res.status, 200)
      }
      const svc = await startService(t, cloud)
      await checks(svc, 1)
      await cloud.setNodes(PRIMARY, 'NOT_READY')
      const blocked = await svc.waitForEvent('failover_blocked')
      t.equal(blocked.data.code, 'stream_not_replicating')
      t.match(blocked.message, seed === 'starting' ? /is STARTING/ : /is CANCELED/)
      await checks(svc, 3)
      t.equal(svc.events().filter((e) => e.type === 'failover_blocked').length, 1, 'said once, not on every check')
      t.equal((await svc.get('/clusters')).body.phase, 'blocked')
      t.match((await svc.get('/clusters')).body.blocked_reason, /only a REPLICATING stream can fail over/)
      const ownCancel = seed === 'canceled' ? 1 : 0
      t.equal(await cloud.patches(), ownCancel, 'no PATCH from the sidecar')
    })
  }
})

t.test('an unusable standby blocks the failover until it is usable again', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await checks(svc, 1)
  await cloud.setNodes(STANDBY, 'NOT_READY')
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const blocked = await svc.waitForEvent('failover_blocked')
  t.equal(blocked.data.code, 'standby_unusable')
  t.equal(await cloud.patches(), 0)
  await cloud.setNodes(STANDBY, 'LIVE')
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})

t.test('AUTO_FAILOVER=false and a pause report everything and patch nothing', async (t) => {
  t.test('AUTO_FAILOVER=false', async (t) => {
    const cloud = await startFakeCloud(t)
    const svc = await startService(t, cloud, { AUTO_FAILOVER: 'false' })
    await checks(svc, 1)
    await cloud.setNodes(PRIMARY, 'NOT_READY')
    const blocked = await svc.waitForEvent('failover_blocked')
    t.equal(blocked.data.code, 'auto_disabled')
    t.equal(await cloud.patches(), 0)
    const res = await svc.post('/admin/failover', {}, admin)
    t.equal(res.status, 202, 'a manual failover is still possible')
    await svc.waitForEvent('failover_completed')
    t.equal(await cloud.patches(), 1)
  })
  t.test('pause and resume', async (t) => {
    const cloud = await startFakeCloud(t)
    const svc = await startService(t, cloud)
    await checks(svc, 1)
    t.same((await svc.post('/admin/pause', undefined, admin)).body, { paused: true, changed: true })
    t.same((await svc.post('/admin/pause', undefined, admin)).body, { paused: true, changed: false })
    t.equal((await svc.get('/clusters')).body.paused, true)
    await cloud.setNodes(PRIMARY, 'NOT_READY')
    const blocked = await svc.waitForEvent('failover_blocked')
    t.equal(blocked.data.code, 'paused')
    t.match(blocked.message, /paused by admin API/)
    t.equal(await cloud.patches(), 0)
    t.same((await svc.post('/admin/resume', undefined, admin)).body, { paused: false, changed: true })
    t.same((await svc.post('/admin/resume', undefined, admin)).body, { paused: false, changed: false })
    await svc.waitForEvent('failover_completed')
    t.equal(await cloud.patches(), 1)
    const types = svc.events().map((e) => e.type)
    t.ok(types.includes('paused') && types.includes('resumed'))
  })
})

t.test('nodes that cannot be read make the check unknown', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { HEALTH_CHECK_TIMEOUT: '0.3' })
  await checks(svc, 1)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await cloud.control('POST', '/faults', { operation: 'listNodes', kind: 'malformed' })
  await checks(svc, 5)
  const view = (await svc.get('/clusters')).body.clusters[0]
  t.match(view, { id: PRIMARY, verdict: 'unknown', reason: /nodes not readable/ })
  t.equal(await cloud.patches(), 0)
})
