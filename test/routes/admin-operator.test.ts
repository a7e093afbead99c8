import t from 'tap'
import { PRIMARY, STANDBY, STREAM, admin, startFakeCloud, startService, type Service } from '../../tools/stack.js'

async function operation(svc: Service, id: string, until: (o: { status: string }) => boolean) {
  for (;;) {
    const res = await svc.get(`/admin/operations/${id}`, admin)
    if (until(res.body)) return res.body
    await svc.fastify.engine.nextCheck()
  }
}

async function failedOver(svc: Service) {
  await svc.fastify.engine.nextCheck()
  const res = await svc.post('/admin/failover', {}, admin)
  await svc.waitForEvent('failover_completed')
  return res
}

t.test('a manual failover is an operation followed to COMPLETED', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const res = await failedOver(svc)
  t.equal(res.status, 202)
  const done = await operation(svc, res.body.operation_id, (o) => o.status !== 'running')
  t.match(done, { kind: 'failover', status: 'succeeded', stream_id: STREAM, error: null, requested_by: /admin API/ })
  t.match(done.progress, new RegExp(`${STANDBY} is active`))
  const unknown = await svc.get('/admin/operations/nope', admin)
  t.equal(unknown.status, 404)
  t.equal(unknown.body.code, 'unknown_operation')
  t.equal((await svc.get(`/admin/operations/${res.body.operation_id}`)).status, 401, 'operations need the token too')
})

t.test('setup creates the stream for the configured pair, and refuses when it would do harm', async (t) => {
  const cloud = await startFakeCloud(t, { stream: 'none', timings: { startingSeconds: 0.3 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/clusters')).body.stream, null)
  const nothing = await svc.post('/admin/failback', { action: 'create-stream' }, admin)
  t.equal(nothing.body.code, 'no_failover', 'the primary is active: nothing to fail back')
  const created = await svc.post('/admin/setup', undefined, admin)
  t.equal(created.status, 201)
  t.match(created.body.stream, { status: 'STARTING', primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY })
  const again = await svc.post('/admin/setup', undefined, admin)
  t.equal(again.status, 409)
  t.equal(again.body.code, 'stream_exists')
  const event = await svc.waitForEvent('stream_created')
  t.match(event.message, /will be wiped and re-seeded/)
  // Once replicating, past its initial scan, it can fail over; then setup must refuse: it would wipe the active standby.
  await svc.waitForEvent('topology_changed', (e) => e.data.streamStatus === 'REPLICATING')
  while (svc.fastify.engine.snapshot().stream?.replicatedTime === null) await svc.fastify.engine.nextCheck()
  await failedOver(svc)
  const harmful = await svc.post('/admin/setup', undefined, admin)
  t.equal(harmful.status, 409)
  t.equal(harmful.body.code, 'standby_active')
  t.match(harmful.body.message, /would wipe it/)
})

t.test('failback step by step: create-stream, status, initiate', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.3 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const early = await svc.post('/admin/failback', { action: 'create-stream' }, admin)
  t.equal(early.status, 409)
  t.equal(early.body.code, 'stream_exists', 'the stream to the standby is still live')
  const noStream = await svc.post('/admin/failback', { action: 'status' }, admin)
  t.match(noStream.body, { stream: null, ready: false, reason: /no failback stream/ })
  t.equal((await svc.post('/admin/failback', { action: 'initiate' }, admin)).body.code, 'no_failback_stream')

  await failedOver(svc)
  const created = await svc.post('/admin/failback', { action: 'create-stream' }, admin)
  t.equal(created.status, 201)
  t.match(created.body.stream, { status: 'STARTING', primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  t.equal((await svc.post('/admin/failback', { action: 'create-stream' }, admin)).body.code, 'stream_exists')
  const starting = await svc.post('/admin/failback', { action: 'status' }, admin)
  t.match(starting.body, { ready: false, reason: 'the failback stream is STARTING', active_cluster_id: STANDBY })
  const clusters = (await svc.get('/clusters')).body
  t.match(clusters, { active_cluster_id: STANDBY, watched_cluster_id: STANDBY, failover_target_id: PRIMARY })

  let status
  do {
    await svc.fastify.engine.nextCheck()
    status = await svc.post('/admin/failback', { action: 'status', max_lag_seconds: 30 }, admin)
  } while (!status.body.ready)
  t.match(status.body.reason, /replicating with \d+ s of lag/)
  const tight = await svc.post('/admin/failback', { action: 'status', max_lag_seconds: 0.5 }, admin)
  t.match(tight.body, { ready: false, reason: /is above 0.5 s/ })

  const initiated = await svc.post('/admin/failback', { action: 'initiate' }, admin)
  t.equal(initiated.status, 202)
  t.match(initiated.body.plan, { from_cluster_id: STANDBY, to_cluster_id: PRIMARY })
  await svc.waitForEvent('failover_completed', (e) => e.data.activeClusterId === PRIMARY)
  const conn = await svc.get('/connection', { 'x-db-username': 'u', 'x-db-password': 'p' })
  t.equal(conn.body.cluster_id, PRIMARY, '/connection follows the stream back')
  t.equal(await cloud.patches(), 2)
})

t.test('failback full, then setup and a second failover: the whole cycle through the API', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.3 } })
  const svc = await startService(t, cloud)
  await failedOver(svc)
  const started = await svc.post('/admin/failback', { action: 'full', max_lag_seconds: 30 }, admin)
  t.equal(started.status, 202)
  t.match(started.body.operation, { kind: 'failback', status: 'running' })
  const busy = await svc.post('/admin/failover', {}, admin)
  t.equal(busy.status, 409, 'one operation at a time')
  t.equal(busy.body.code, 'operation_in_progress')
  const done = await operation(svc, started.body.operation.id, (o) => o.status !== 'running')
  t.equal(done.status, 'succeeded', done.error ?? '')
  t.equal(svc.fastify.engine.snapshot().activeClusterId, PRIMARY)
  const phases = svc
    .events()
    .filter((e) => e.type === 'operation_progress')
    .map((e) => e.data.phase)
    .reverse()
  const stages = [...new Set(phases)]
  t.equal(stages[0], 'creating_stream')
  t.equal(stages[1], 'stream_starting', 'the new stream is first seen STARTING')
  t.equal(stages.at(-1), 'failing_over')
  // Between them, as fast as the emulator goes: its initial scan, its lag coming down.
  t.ok(stages.slice(2, -1).every((p) => p === 'initial_scan' || p === 'catching_up'), stages.join(', '))

  const setup = await svc.post('/admin/setup', undefined, admin)
  t.equal(setup.status, 201)
  await svc.waitForEvent('topology_changed', (e) => e.data.streamId === setup.body.stream.id && e.data.streamStatus === 'REPLICATING')
  while (svc.fastify.engine.snapshot().stream?.replicatedTime === null) await svc.fastify.engine.nextCheck()
  const second = await svc.post('/admin/failover', {}, admin)
  t.equal(second.status, 202, JSON.stringify(second.body))
  await svc.waitForEvent('failover_completed', (e) => e.data.streamId === second.body.plan.stream_id)
  t.equal(svc.fastify.engine.snapshot().activeClusterId, STANDBY)
  t.equal(await cloud.patches(), 3, 'failover, failback, failover: one PATCH each')
})

t.test('failback full refuses without a failover, and reports a failing stream', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const res = await svc.post('/admin/failback', { action: 'full' }, admin)
  t.equal(res.status, 202)
  const done = await operation(svc, res.body.operation.id, (o) => o.status !== 'running')
  t.match(done, { status: 'failed', error: /stream .* is already REPLICATING|no failover has completed/ })
  const finished = await svc.waitForEvent('operation_finished')
  t.equal(finished.severity, 'error')
})

t.test('simulate: disrupt needs the cluster id repeated; restore and status', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const bare = await svc.post('/admin/simulate', { action: 'disrupt' }, admin)
  t.equal(bare.status, 400)
  t.match(bare.body, { code: 'confirmation_required', message: new RegExp(PRIMARY) })
  const wrong = await svc.post('/admin/simulate', { action: 'disrupt', confirm: STANDBY }, admin)
  t.equal(wrong.status, 400)
  const foreign = await svc.post('/admin/simulate', { action: 'disrupt', cluster_id: 'x', confirm: 'x' }, admin)
  t.equal(foreign.status, 404)
  t.equal((await cloud.requests()).filter((r) => r.method === 'PUT').length, 0, 'nothing was disrupted')

  const disrupted = await svc.post('/admin/simulate', { action: 'disrupt', confirm: PRIMARY }, admin)
  t.equal(disrupted.status, 200)
  t.same(disrupted.body, { clusters: [{ cluster_id: PRIMARY, regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] }] })
  const status = await svc.post('/admin/simulate', { action: 'status' }, admin)
  t.equal(status.body.clusters.length, 2)
  t.equal(status.body.clusters[0].regional_disruptor_specifications.length, 1)
  // The drill works: the sidecar sees the outage and fails over.
  await svc.waitForEvent('failover_completed')
  const restored = await svc.post('/admin/simulate', { action: 'restore', cluster_id: PRIMARY }, admin)
  t.same(restored.body, { clusters: [{ cluster_id: PRIMARY, regional_disruptor_specifications: [] }] })
  const state = await cloud.control('GET', '/state')
  const nodes = state.clusters.find((c: { id: string }) => c.id === PRIMARY).nodes
  t.ok(nodes.every((n: { status: string }) => n.status === 'LIVE'), 'the primary is back')
  const events = svc.events().filter((e) => e.type === 'disruption_changed')
  t.equal(events.length, 2)

  const pods = await svc.post('/admin/simulate', { action: 'disrupt', cluster_id: STANDBY, confirm: STANDBY, pods: [nodes[0].name.replace('0', '9')] }, admin)
  t.equal(pods.status, 409, 'the API refuses an unknown pod')
  t.match(pods.body.message, /disrupting the cluster/)
})

t.test('bad operator input is a 400 that changes nothing', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  for (const body of [{ action: 'sideways' }, { action: 'full', max_lag_seconds: -1 }, { action: 'status', extra: 1 }, {}]) {
    const res = await svc.post('/admin/failback', body, admin)
    t.equal(res.status, 400, JSON.stringify(body))
  }
  t.equal((await svc.post('/admin/simulate', { action: 'disrupt', confirm: PRIMARY, pods: 'all' }, admin)).status, 400)
  t.equal((await cloud.requests()).filter((r) => r.method !== 'GET').length, 0)
})

t.test('without the token, a bad body is refused as unauthenticated: authentication comes before the body is read', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  for (const [path, body] of [['/admin/failback', { action: 'sideways' }], ['/admin/failover', { dry_run: 'yes' }], ['/admin/simulate', {}], ['/admin/setup', { x: 1 }]] as const) {
    const res = await svc.post(path, body, { authorization: 'Bearer wrong' })
    t.equal(res.status, 401, `${path} ${JSON.stringify(body)}`)
    t.equal(res.body.code, 'unauthorized')
  }
  t.equal((await cloud.requests()).filter((r) => r.method !== 'GET').length, 0)
})

t.test('failback full: a stream that never catches up times out; a canceled one fails; one operation at a time', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.2 } })
  const svc = await startService(t, cloud)
  await failedOver(svc)
  // A lag limit no stream can meet keeps the operation waiting.
  const first = await svc.post('/admin/failback', { action: 'full', max_lag_seconds: 0.001, timeout_seconds: 600 }, admin)
  t.equal(first.status, 202)
  const second = await svc.post('/admin/failback', { action: 'full' }, admin)
  t.equal(second.status, 409)
  t.equal(second.body.code, 'operation_in_progress')
  const waiting = await operation(svc, first.body.operation.id, (o) => /REPLICATING/.test((o as unknown as { progress: string }).progress))
  const cancel = await fetch(`${cloud.url}/api/v1/physical-replication-streams/${waiting.stream_id}`, {
    method: 'PATCH',
    headers: { authorization: 'Bearer emulator-secret-key', 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'CANCELED' })
  })
  t.equal(cancel.status, 200)
  const failed = await operation(svc, first.body.operation.id, (o) => o.status !== 'running')
  t.match(failed, { status: 'failed', error: 'the failback stream is CANCELED' })

  const slow = await svc.post('/admin/failback', { action: 'full', max_lag_seconds: 0.001, timeout_seconds: 0.2 }, admin)
  const timedOut = await operation(svc, slow.body.operation.id, (o) => o.status !== 'running')
  t.match(timedOut, { status: 'failed', error: /did not reach REPLICATING with lag under 0.001 s within 0.2 s/ })
  t.equal(await cloud.patches(), 2, 'the first failover and the test\'s own cancel')
})

t.test('failback full stops at the data-loss guard like any failover', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.2 } })
  const svc = await startService(t, cloud, { MAX_DATA_LOSS_SECONDS: '0.5' })
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/failover', { allow_data_loss: true }, admin)).status, 202)
  await svc.waitForEvent('failover_completed')
  const full = await svc.post('/admin/failback', { action: 'full', max_lag_seconds: 30 }, admin)
  const done = await operation(svc, full.body.operation.id, (o) => o.status !== 'running')
  t.match(done, { status: 'failed', error: /data loss may reach [0-9.]+ s \(at least [0-9.]+ s\), more than MAX_DATA_LOSS_SECONDS=0.5; a manual failover with allow_data_loss is needed/ })
  t.equal(await cloud.patches(), 1)
})
