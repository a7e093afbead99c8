import t from 'tap'
import { PRIMARY, STANDBY, STREAM, startFakeCloud, startService } from '../../tools/stack.js'

t.test('a primary outage: exactly one PATCH, only after threshold, delay and double-check', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const ready = await svc.get('/ready')
  t.equal(ready.status, 200)
  t.equal(ready.body.active_cluster_id, PRIMARY)

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const completed = await svc.waitForEvent('failover_completed')
  t.equal(completed.data.activeClusterId, STANDBY)
  t.equal(await cloud.patches(), 1, 'one PATCH')

  const events = svc.events().reverse()
  const firstFailure = events.findIndex((e) => e.type === 'failure_counted')
  const threshold = events.find((e) => e.type === 'threshold_reached')!
  const requested = events.find((e) => e.type === 'failover_requested')!
  const between = events.slice(firstFailure, events.indexOf(requested))
  const counted = between.filter((e) => e.type === 'failure_counted' || e.type === 'threshold_reached').length
  t.ok(counted >= 3, `at least FAILURE_THRESHOLD failures were counted before acting (${counted})`)
  t.ok(events.some((e) => e.type === 'failover_confirmed'), 'the double-check confirmed')
  t.ok(Date.parse(requested.at) - Date.parse(threshold.at) >= 100, 'the delay was waited')
  t.same(
    events.filter((e) => e.type.startsWith('failover_')).map((e) => e.type),
    ['failover_confirmed', 'failover_requested', 'failover_patched', 'failover_completed']
  )

  const patch = (await cloud.requests()).find((r) => r.method === 'PATCH')!
  t.equal(patch.path, `/api/v1/physical-replication-streams/${STREAM}`)

  // The old primary stays down; nothing else is patched while we watch the standby.
  for (let i = 0; i < 5; i++) await svc.fastify.engine.nextCheck()
  t.equal(await cloud.patches(), 1, 'still one PATCH')
  const clusters = await svc.get('/clusters')
  t.equal(clusters.body.active_cluster_id, STANDBY)
  t.equal(clusters.body.watched_cluster_id, STANDBY)
  t.equal(clusters.body.phase, 'completed')
  t.equal(clusters.body.stream.status, 'COMPLETED')
})

t.test('SUSPECT_CHECK_INTERVAL: after the first failed check the threshold and double-check come at the shorter interval', async (t) => {
  const cloud = await startFakeCloud(t)
  // A healthy pair is read every 3 s; without suspect mode, 3 failures and the delay would take over 6 s.
  const svc = await startService(t, cloud, { HEALTH_CHECK_INTERVAL: '3', HEALTH_CHECK_TIMEOUT: '1', SUSPECT_CHECK_INTERVAL: '0.05' })
  await svc.fastify.engine.nextCheck()
  t.match(svc.events().find((e) => e.type === 'monitor_started')?.message, /every 3 s, every 0\.05 s after a failed check/)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('failover_requested', undefined, 15_000)
  const events = svc.events().reverse()
  const firstFailure = events.find((e) => e.type === 'failure_counted')!
  const requested = events.find((e) => e.type === 'failover_requested')!
  const tookMs = Date.parse(requested.at) - Date.parse(firstFailure.at)
  t.ok(tookMs < 3000, `from the first failure to the request in ${tookMs} ms, less than one HEALTH_CHECK_INTERVAL`)
  t.ok(tookMs >= 2 * 50 + 100, 'and no sooner than two suspect intervals and the delay')
  t.ok(events.some((e) => e.type === 'failover_confirmed'), 'the double-check confirmed')
})
