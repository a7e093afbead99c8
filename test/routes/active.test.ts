import t from 'tap'
import { defaultClusterSeeds } from '../../src/emulator/seed.js'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'

t.test('load-balancer checks and /active follow a failover', async (t) => {
  const cloud = await startFakeCloud(t, {
    clusters: defaultClusterSeeds({ primary: { sqlDns: 'primary-sql.example' }, standby: { sqlDns: 'standby-sql.example' } }),
    // Long enough to look at the failing-over state at leisure.
    timings: { failoverSeconds: 2 }
  })
  const svc = await startService(t, cloud, { STANDBY_SQL_DNS: '127.0.0.1:5433', DB_SSLMODE: 'disable' })
  await svc.fastify.engine.nextCheck()

  const primaryCheck = await svc.get(`/clusters/${PRIMARY}/active`)
  t.equal(primaryCheck.status, 200)
  t.equal(primaryCheck.headers['cache-control'], 'no-store')
  t.same(primaryCheck.body, { active: true, cluster_id: PRIMARY, active_cluster_id: PRIMARY, phase: 'normal' })
  const standbyCheck = await svc.get(`/clusters/${STANDBY.toUpperCase()}/active`)
  t.equal(standbyCheck.status, 503, 'the standby is not writable, whatever the case of its id')
  t.match(standbyCheck.body, { active: false, cluster_id: STANDBY, active_cluster_id: PRIMARY })

  const unknown = await svc.get('/clusters/00000000-0000-4000-8000-000000000000/active')
  t.equal(unknown.status, 404)
  t.equal(unknown.body.code, 'unknown_cluster')
  t.equal((await svc.get(`/clusters/${'x'.repeat(101)}/active`)).status, 400, 'an over-long id is bad input')

  const active = await svc.get('/active')
  t.equal(active.status, 200)
  t.same(active.body, {
    cluster_id: PRIMARY,
    role: 'primary',
    host: 'primary-sql.example',
    port: 26257,
    database: 'defaultdb',
    sslmode: 'disable',
    phase: 'normal',
    // Served from a live check, not from STATE_FILE.
    stale: null
  })

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('active_cluster_changed', (e) => e.data.clusterId === null)
  t.equal((await svc.get(`/clusters/${PRIMARY}/active`)).status, 503, 'no cluster is active while failing over')
  t.equal((await svc.get(`/clusters/${STANDBY}/active`)).status, 503)
  const none = await svc.get('/active')
  t.equal(none.status, 503)
  t.equal(none.body.code, 'failing_over')
  t.ok(Number(none.headers['retry-after']) >= 1)
  await svc.waitForEvent('failover_completed')

  t.equal((await svc.get(`/clusters/${PRIMARY}/active`)).status, 503, 'the old primary is never active again')
  t.equal((await svc.get(`/clusters/${STANDBY}/active`)).status, 200)
  t.match((await svc.get('/active')).body, { cluster_id: STANDBY, role: 'standby', host: '127.0.0.1', port: 5433, phase: 'completed' })
  const connection = await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'pw' })
  t.equal(connection.body.connection_string, 'postgresql://app:pw@127.0.0.1:5433/defaultdb?sslmode=disable', 'the override port is used')

  const changes = svc
    .events()
    .reverse()
    .filter((e) => e.type === 'active_cluster_changed')
    .map((e) => e.data)
  t.same(changes, [
    { clusterId: PRIMARY, host: 'primary-sql.example', port: 26257, previousClusterId: null, phase: 'normal' },
    { clusterId: null, host: null, port: null, previousClusterId: PRIMARY, phase: 'failing_over' },
    { clusterId: STANDBY, host: '127.0.0.1', port: 5433, previousClusterId: PRIMARY, phase: 'completed' }
  ], 'one event per change of where applications should go')
  t.notOk(svc.lines.some((l) => l.includes('/active') && l.includes('"incoming request"')), 'checks are not logged per request')
})

t.test('before the first check nothing is active', async (t) => {
  const cloud = await startFakeCloud(t)
  // The first check is still in flight when asked.
  await cloud.control('POST', '/faults', { operation: 'listStreams', kind: 'latency', latency_ms: 1000, count: 1 })
  const svc = await startService(t, cloud)
  const res = await svc.get(`/clusters/${PRIMARY}/active`)
  t.equal(res.status, 503)
  t.same(res.body, { active: false, cluster_id: PRIMARY, active_cluster_id: null, phase: 'starting' })
  const active = await svc.get('/active')
  t.equal(active.status, 503)
  t.equal(active.body.code, 'unknown')
})
