import t from 'tap'
import { PRIMARY, admin, startFakeCloud, startService, type Service } from '../../tools/stack.js'

// A new stream is REPLICATING from the start of its initial scan, a full copy,
// but has no replicated_time until the scan ends: there is no consistent time to
// fail over to yet, and the API refuses the PATCH. The sidecar says so and sends
// none (a refused PATCH would leave the stream marked as asked once).

async function scanning(svc: Service): Promise<void> {
  await svc.waitForEvent('topology_changed', (e) => e.data.streamStatus === 'REPLICATING')
}

t.test('no failover during the initial scan: blocked before any PATCH, manual and automatic', async (t) => {
  const cloud = await startFakeCloud(t, { stream: 'none', timings: { startingSeconds: 0.1, initialScanSeconds: 600 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/setup', undefined, admin)).status, 201)
  await scanning(svc)
  t.equal(svc.fastify.engine.snapshot().stream?.replicatedTime, null, 'no replicated_time during the scan')

  const manual = await svc.post('/admin/failover', {}, admin)
  t.equal(manual.status, 409)
  t.equal(manual.body.code, 'initial_scan')
  t.match(manual.body.message, /still in its initial scan \(no replicated_time yet\)/)

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const blocked = await svc.waitForEvent('failover_blocked', (e) => e.data.trigger === 'auto')
  t.equal(blocked.data.code, 'initial_scan')
  t.equal(await cloud.patches(), 0, 'nothing was patched')
  t.notOk(svc.events().some((e) => e.type === 'failover_failed'))
})

t.test('once the scan has ended the same stream fails over', async (t) => {
  const cloud = await startFakeCloud(t, { stream: 'none', timings: { startingSeconds: 0.1, initialScanSeconds: 0.3 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/setup', undefined, admin)).status, 201)
  await scanning(svc)
  while (svc.fastify.engine.snapshot().stream?.replicatedTime === null) await svc.fastify.engine.nextCheck()
  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 202, JSON.stringify(res.body))
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
})
