import t from 'tap'
import type { SqlProbe } from '../../src/engine/engine.js'
import type { ProbeResult } from '../../src/sql/probe.js'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService } from '../../tools/stack.js'

// The standby's application virtual cluster is offline while its stream
// replicates: its SQL endpoint refusing connections is what a healthy standby
// does, so it is no evidence of anything, and it never stands in the way of a
// failover. Standby usability comes from the API alone.

// A SQL endpoint that refuses, as a real standby's does while it replicates; counts its calls.
function refusingProbe(): SqlProbe & { calls: number } {
  const probe = {
    calls: 0,
    async check(): Promise<ProbeResult> {
      probe.calls += 1
      return { ok: false, kind: 'refused', error: 'connection: connect ECONNREFUSED 127.0.0.1:26257', latencyMs: 1 }
    }
  }
  return probe
}

t.test('a standby whose SQL refuses while it replicates is failed over to (manual)', async (t) => {
  const cloud = await startFakeCloud(t)
  const standbySql = refusingProbe()
  const svc = await startService(t, cloud, {}, { probes: { [STANDBY]: standbySql } })
  await svc.fastify.engine.nextCheck()
  const standby = svc.fastify.engine.snapshot().clusters.find((c) => c.id === STANDBY)
  t.match(standby, { role: 'standby', verdict: 'healthy', reason: /^3 of 3 nodes live; SQL offline as expected while it replicates/ })
  t.equal(standbySql.calls, 0, 'its SQL is not asked while it replicates')

  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 202, JSON.stringify(res.body))
  t.equal(res.body.outcome, 'started')
  await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 1)
  t.notOk(svc.events().some((e) => e.type === 'failover_blocked'), 'nothing blocked the failover')
})

t.test('an automatic failover is not blocked by the standby refusing SQL', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {}, { probes: { [STANDBY]: refusingProbe() } })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const completed = await svc.waitForEvent('failover_completed')
  t.equal(completed.data.activeClusterId, STANDBY)
  t.notOk(svc.events().some((e) => e.type === 'failover_blocked' && e.data.code === 'standby_unusable'))
})

t.test('UNHEALTHY_EVIDENCE=either: a replicating standby refusing SQL is not unhealthy', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { UNHEALTHY_EVIDENCE: 'either' }, { probes: { [STANDBY]: refusingProbe() } })
  await svc.fastify.engine.nextCheck()
  const view = (await svc.get('/clusters')).body.clusters.find((c: { id: string }) => c.id === STANDBY)
  t.match(view, { role: 'standby', verdict: 'healthy', reason: /SQL offline as expected while it replicates/ })
  t.notOk(
    svc.events().some((e) => e.type === 'verdict_changed' && e.data.clusterId === STANDBY && e.data.to === 'unhealthy'),
    'never judged unhealthy'
  )
})

t.test('the standby is still judged on the API: a standby without a node majority is not failed over to', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {}, { probes: { [STANDBY]: refusingProbe() } })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(STANDBY, 'NOT_READY')
  const refused = await svc.post('/admin/failover', {}, admin)
  t.equal(refused.status, 409)
  t.equal(refused.body.code, 'standby_unusable')
  t.match(refused.body.message, /standby \S+ is unhealthy: 0 of 3 nodes live/)
  t.equal(await cloud.patches(), 0)
})
