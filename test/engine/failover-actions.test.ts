import t from 'tap'
import { PRIMARY, STANDBY, STREAM, admin, startFakeCloud, startService } from '../../tools/stack.js'

t.test('the data-loss guard blocks, and allow_data_loss overrides it', async (t) => {
  // The emulator trails replication by 2 s: a 0.5 s limit must block.
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { MAX_DATA_LOSS_SECONDS: '0.5' })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const blocked = await svc.waitForEvent('failover_blocked')
  t.equal(blocked.data.code, 'data_loss')
  t.match(blocked.message, /data loss may reach \d+\.\d s \(at least \d+\.\d s\), more than MAX_DATA_LOSS_SECONDS=0.5/)
  t.equal(await cloud.patches(), 0)
  const metrics = (await svc.get('/metrics')).body as string
  t.match(metrics, /pcr_failover_blocked_total\{code="data_loss"\} 1/)
  t.match(metrics, /pcr_estimated_data_loss_seconds \d/)

  const refused = await svc.post('/admin/failover', {}, admin)
  t.equal(refused.status, 409)
  t.equal(refused.body.code, 'data_loss')

  const dry = await svc.post('/admin/failover', { allow_data_loss: true, dry_run: true }, admin)
  t.equal(dry.status, 200)
  t.match(dry.body, { outcome: 'dry_run', plan: { from_cluster_id: PRIMARY, to_cluster_id: STANDBY, failover_at: null } })
  t.ok(dry.body.plan.estimated_data_loss_seconds > 0.5)
  t.equal(await cloud.patches(), 0, 'a dry run patches nothing')

  const forced = await svc.post('/admin/failover', { allow_data_loss: true }, admin)
  t.equal(forced.status, 202)
  t.equal(forced.body.outcome, 'started')
  t.equal(forced.body.stream.status, 'FAILING_OVER')
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
  const requested = await svc.waitForEvent('failover_requested')
  t.equal(requested.data.trigger, 'manual')
  t.match(requested.data.requestedBy, /admin API/)
})

t.test('with no healthy sighting of the primary, the loss is still bounded from above', async (t) => {
  const cloud = await startFakeCloud(t)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const svc = await startService(t, cloud, { MAX_DATA_LOSS_SECONDS: '60' })
  // The first check that saw it down bounds when it stopped writing; nothing bounds it from below.
  const requested = await svc.waitForEvent('failover_requested')
  t.equal(requested.data.dataLossLowerSeconds, 0)
  t.ok((requested.data.dataLossUpperSeconds as number) > 0, 'the replication lag at least')
  t.ok((requested.data.dataLossUpperSeconds as number) <= 60)
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})

t.test('a restart in the middle of a failover issues no second PATCH and ends on the standby', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 1 } })
  const first = await startService(t, cloud)
  await first.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await first.waitForEvent('failover_patched')
  await first.close()

  const second = await startService(t, cloud)
  const adopted = await second.waitForEvent('failover_adopted')
  t.match(adopted.message, /already failing over/)
  const during = await second.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'pw' })
  t.equal(during.status, 503, 'no cluster is writable while failing over')
  t.equal(during.headers['retry-after'], '1')
  t.equal(during.body.code, 'failing_over')
  t.equal((await second.get('/ready')).status, 503)
  const completed = await second.waitForEvent('failover_completed')
  t.equal(completed.data.activeClusterId, STANDBY)
  t.equal(completed.data.trigger, 'adopted')
  t.equal(await cloud.patches(), 1, 'one PATCH across both processes')
  const after = await second.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'pw' })
  t.equal(after.body.cluster_id, STANDBY)
})

t.test('two admin failovers at once: one PATCH, one 409', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const answers = await Promise.all([svc.post('/admin/failover', {}, admin), svc.post('/admin/failover', {}, admin)])
  t.same(answers.map((a) => a.status).sort(), [202, 409])
  t.equal(answers.find((a) => a.status === 409)?.body.code, 'operation_in_progress')
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
  const again = await svc.post('/admin/failover', {}, admin)
  t.equal(again.status, 409, 'nothing left to fail over')
  t.equal(again.body.code, 'stream_not_replicating')
})

t.test('a refused PATCH whose stream is already failing over is adopted', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  // The answer is lost after the PATCH took effect: the client reads the stream back.
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 202)
  t.equal(res.body.outcome, 'started')
  const patched = await svc.waitForEvent('failover_patched')
  t.equal(patched.data.confirmedBy, 'read_back')
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})

t.test('a PATCH answered 500 whose stream reads back REPLICATING was not applied: it may be asked again', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'status', status: 500, count: 1 })
  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'failover_refused')
  const refused = await svc.waitForEvent('failover_refused')
  t.match(refused.data.error, /reads REPLICATING/)
  t.notOk(svc.events().some((e) => e.type === 'failover_failed'), 'not reported as a PATCH that may have taken effect')
  const again = await svc.post('/admin/failover', {}, admin)
  t.equal(again.status, 202)
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 2)
})

t.test('past FAILOVER_TIMEOUT an event is raised and polling goes on', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 1.5 } })
  const svc = await startService(t, cloud, { FAILOVER_TIMEOUT: '0.3' })
  await svc.fastify.engine.nextCheck()
  const started = await svc.post('/admin/failover', { failover_at: undefined }, admin)
  t.equal(started.status, 202)
  const timeout = await svc.waitForEvent('failover_timeout')
  t.equal(timeout.severity, 'error')
  t.equal((await svc.get('/clusters')).body.failover.timed_out, true)
  // The operation ends there, so that another can begin; the engine follows the stream on.
  const finished = await svc.waitForEvent('operation_finished')
  t.match(finished.message, `failed: stream ${STREAM} still FAILING_OVER after FAILOVER_TIMEOUT=0.3 s`)
  const operation = await svc.get(`/admin/operations/${started.body.operation_id}`, admin)
  t.match(operation.body, { status: 'failed', error: `stream ${STREAM} still FAILING_OVER after FAILOVER_TIMEOUT=0.3 s` })
  const again = await svc.post('/admin/failover', {}, admin)
  t.equal(again.status, 409)
  t.equal(again.body.code, 'in_progress', 'refused by the stream failing over, not by operation_in_progress')
  await svc.waitForEvent('failover_completed')
  t.match((await svc.get('/metrics')).body, /pcr_failovers_total\{trigger="manual",result="timeout"\} 1/)
  t.equal(await cloud.patches(), 1)
})

t.test('closing the service ends a running failover operation', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 60 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const started = await svc.post('/admin/failover', {}, admin)
  t.equal(started.status, 202)
  await svc.close()
  t.match(svc.fastify.operator.operation(started.body.operation_id), { status: 'failed', error: 'service stopped' })
  const finished = svc.events().find((e) => e.type === 'operation_finished')
  t.match(finished, { severity: 'error', message: `operation ${started.body.operation_id} failed: service stopped` })
})

t.test('FAILOVER_AT_TIMESTAMP and failover_at are sent to the API', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const at = new Date(Date.now() - 1000).toISOString()
  const res = await svc.post('/admin/failover', { failover_at: at }, admin)
  t.equal(res.status, 202)
  t.equal(res.body.plan.failover_at, at)
  const patch = (await cloud.requests()).find((r) => r.method === 'PATCH') as unknown as { body: unknown }
  t.same(patch.body, { status: 'FAILING_OVER', failover_at: at })
})

t.test('the coordinator decides; one that refuses or cannot answer blocks', async (t) => {
  const cloud = await startFakeCloud(t)
  let answer: () => Promise<{ allowed: boolean; reason?: string }> = async () => ({ allowed: false, reason: 'not the leader' })
  const asked: string[] = []
  const svc = await startService(t, cloud, {}, {
    coordinator: {
      name: 'test',
      mayAct: (action, context) => {
        asked.push(`${action} ${context.trigger} ${context.streamId}`)
        return answer()
      }
    }
  })
  await svc.fastify.engine.nextCheck()
  const refused = await svc.post('/admin/failover', {}, admin)
  t.equal(refused.status, 409)
  t.same(refused.body, { error: 'Conflict', message: 'not the leader', code: 'coordinator' })
  answer = async () => {
    throw new Error('etcd unreachable')
  }
  const unreachable = await svc.post('/admin/failover', {}, admin)
  t.equal(unreachable.status, 409)
  t.match(unreachable.body.message, /coordinator test could not be asked: etcd unreachable/)
  answer = async () => ({ allowed: true })
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  t.same(asked, Array(3).fill(`failover manual ${STREAM}`))
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})

t.test('a stream that cannot be read blocks the failover; nothing is patched blind', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { HEALTH_CHECK_TIMEOUT: '0.3' })
  await svc.fastify.engine.nextCheck()
  await cloud.control('POST', '/faults', { operation: 'getStream', kind: 'status', status: 503 })
  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 409)
  t.equal(res.body.code, 'api_unavailable')
  t.match(res.body.message, /the stream could not be read/)
  t.equal(await cloud.patches(), 0)
})

t.test('a PATCH refused after another request already started the failover is adopted', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  // The API takes the PATCH, then answers 400 as if it had refused it.
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'status', status: 400, code: 9, after: true, count: 1 })
  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 202)
  t.equal(res.body.outcome, 'adopted')
  t.equal(res.body.stream.status, 'FAILING_OVER')
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})
