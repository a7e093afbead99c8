import t from 'tap'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService } from '../../tools/stack.js'
import { startPostgres } from '../../tools/postgres.js'
import { startGatedPostgres } from '../../tools/sql-gate.js'

t.test('with a SQL probe, the API alone cannot fail the primary over; SQL failing too does', async (t) => {
  const primarySql = await startPostgres()
  t.teardown(() => primarySql.destroy())
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { PRIMARY_CLUSTER_ENDPOINT: primarySql.url() })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  for (let i = 0; i < 6; i++) await svc.fastify.engine.nextCheck()
  t.equal(await cloud.patches(), 0, 'SQL still answers: not down')
  const view = (await svc.get('/clusters')).body.clusters[0]
  t.match(view, { id: PRIMARY, verdict: 'healthy', reason: '0 of 3 nodes live; SQL answers' })

  await primarySql.stop()
  const completed = await svc.waitForEvent('failover_completed')
  t.equal(completed.data.activeClusterId, STANDBY)
  t.equal(await cloud.patches(), 1)
  const down = svc.events().find((e) => e.type === 'verdict_changed' && e.data.to === 'unhealthy')
  t.match(down?.data.reason, /0 of 3 nodes live; SQL fails: /, "both kinds of evidence are in the reason")
})

t.test('SQL failing alone (our network position) is not an outage', async (t) => {
  const primarySql = await startPostgres()
  t.teardown(() => primarySql.destroy())
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { PRIMARY_CLUSTER_ENDPOINT: primarySql.url() })
  await svc.fastify.engine.nextCheck()
  await primarySql.stop()
  for (let i = 0; i < 8; i++) await svc.fastify.engine.nextCheck()
  t.equal(await cloud.patches(), 0)
  t.equal(svc.fastify.engine.snapshot().clusters[0]?.verdict, 'healthy')
  await primarySql.start()
})

t.test('STANDBY_CLUSTER_ENDPOINT refusing while the standby replicates does not block a failover; applications follow once it serves', async (t) => {
  const cloud = await startFakeCloud(t)
  // Gated by the emulator: offline while the standby replicates, serving once the failover has completed.
  const standbySql = await startGatedPostgres(() => cloud.emulator.state.isSqlAvailable(STANDBY))
  t.teardown(() => standbySql.destroy())
  const svc = await startService(t, cloud, { STANDBY_CLUSTER_ENDPOINT: standbySql.url() })
  await svc.fastify.engine.nextCheck()
  t.match(svc.fastify.engine.snapshot().clusters[1], { id: STANDBY, verdict: 'healthy', reason: /SQL offline as expected while it replicates/ })
  const ok = await svc.post('/admin/failover', {}, admin)
  t.equal(ok.status, 202, JSON.stringify(ok.body))
  const completed = await svc.waitForEvent('failover_completed')
  const switched = await svc.waitForEvent('active_cluster_changed', (e) => e.data.clusterId === STANDBY)
  t.ok(switched.id > completed.id, 'applications are sent to the standby after COMPLETED, once its SQL answers')
  t.notOk(svc.events().some((e) => e.type === 'activation_timeout'), 'it answered: the endpoint serves once COMPLETED')
  t.equal(await cloud.patches(), 1)
  t.notOk(svc.events().some((e) => e.type === 'failover_blocked'))
})

t.test('UNHEALTHY_EVIDENCE=either: SQL failing alone is enough', async (t) => {
  const primarySql = await startPostgres()
  t.teardown(() => primarySql.destroy())
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { PRIMARY_CLUSTER_ENDPOINT: primarySql.url(), UNHEALTHY_EVIDENCE: 'either' })
  await svc.fastify.engine.nextCheck()
  await primarySql.stop()
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
  const down = svc.events().find((e) => e.type === 'verdict_changed' && e.data.to === 'unhealthy')
  t.match(down?.data.reason, /3 of 3 nodes live; SQL fails/)
})
