import t from 'tap'
import type { SqlProbe } from '../../src/engine/engine.js'
import type { ProbeResult } from '../../src/sql/probe.js'
import { pcr, remote } from '../cli/fixtures/pcr.js'
import { PRIMARY, STANDBY, STREAM, admin, startFakeCloud, startService, type Service } from '../../tools/stack.js'

// After COMPLETED the former standby's virtual cluster is brought online; with a
// SQL probe configured for it, applications are sent there once it answers, or
// after ACTIVATION_TIMEOUT, and not before.

const credentials = { 'x-db-username': 'app', 'x-db-password': 'pw' }

// A SQL endpoint that refuses until told to answer.
function switchableProbe(): SqlProbe & { answers: boolean } {
  const probe = {
    answers: false,
    async check(): Promise<ProbeResult> {
      return probe.answers ? { ok: true, latencyMs: 1 } : { ok: false, kind: 'refused', error: 'connection: connect ECONNREFUSED 127.0.0.1:26257', latencyMs: 1 }
    }
  }
  return probe
}

// Fails over by hand; resolves with the operation's id once the stream is COMPLETED.
async function failOver(svc: Service): Promise<string> {
  await svc.fastify.engine.nextCheck()
  const res = await svc.post('/admin/failover', {}, admin)
  if (res.status !== 202) throw new Error(`failover refused: ${JSON.stringify(res.body)}`)
  await svc.waitForEvent('failover_completed')
  return res.body.operation_id
}

const changesTo = (svc: Service, id: string | null) => svc.events().filter((e) => e.type === 'active_cluster_changed' && e.data.clusterId === id)

t.test('COMPLETED with a probe for the new primary: 503 "activating" until it answers SQL, then the switch', async (t) => {
  const cloud = await startFakeCloud(t)
  const probe = switchableProbe()
  const svc = await startService(t, cloud, {}, { probes: { [STANDBY]: probe } })
  const operationId = await failOver(svc)

  const waiting = await svc.waitForEvent('activation_waiting')
  t.match(waiting, { severity: 'warn', data: { clusterId: STANDBY, timeoutSeconds: 60 } })
  t.match(waiting.message, new RegExp(`${STANDBY} .*answer.* SQL`))
  // A few checks later, still held back.
  for (let i = 0; i < 3; i++) await svc.fastify.engine.nextCheck()

  const connection = await svc.get('/connection', credentials)
  t.equal(connection.status, 503)
  t.equal(connection.body.code, 'activating')
  t.match(connection.body.message, new RegExp(STANDBY))
  t.ok(Number(connection.headers['retry-after']) >= 1)
  const active = await svc.get('/active')
  t.equal(active.status, 503)
  t.equal(active.body.code, 'activating')
  const lb = await svc.get(`/clusters/${STANDBY}/active`)
  t.equal(lb.status, 503, 'the load-balancer check holds the new primary back too')
  t.same(lb.body, { active: false, cluster_id: STANDBY, active_cluster_id: null, phase: 'activating' })
  t.equal((await svc.get(`/clusters/${PRIMARY}/active`)).status, 503)
  const ready = await svc.get('/ready')
  t.equal(ready.status, 503)
  t.match(ready.body, { phase: 'activating', reason: new RegExp(STANDBY) })
  const clusters = (await svc.get('/clusters')).body
  t.match(clusters, { phase: 'activating', active_cluster_id: null, watched_cluster_id: STANDBY, stream: { status: 'COMPLETED' } })
  t.match(clusters.clusters.find((c: { id: string }) => c.id === STANDBY).reason, /SQL does not answer yet \(activating after the failover\): connection: connect ECONNREFUSED/)
  t.same(changesTo(svc, STANDBY), [], 'no active_cluster_changed to the new primary yet')
  const running = await svc.get(`/admin/operations/${operationId}`, admin)
  t.match(running.body, { status: 'running', phase: 'activating', progress: new RegExp(`COMPLETED; waiting for ${STANDBY} to answer SQL`) })
  const early = await svc.post('/admin/failback', { action: 'create-stream' }, admin)
  t.equal(early.status, 409, 'no failback stream while the new primary activates')
  t.match(early.body, { code: 'activating', message: new RegExp(`${STANDBY} is activating`) })
  const status = await pcr([...remote(svc), 'status'])
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, new RegExp(`^active +none until ${STANDBY} \\(pcr-standby\\) answers SQL \\(activating after the failover\\)$`, 'm'))

  probe.answers = true
  const changed = await svc.waitForEvent('active_cluster_changed', (e) => e.data.clusterId === STANDBY)
  t.match(changed.data, { previousClusterId: PRIMARY, phase: 'completed' })
  const completed = svc.events().find((e) => e.type === 'failover_completed')!
  t.ok(changed.id > completed.id)
  const after = await svc.get('/connection', credentials)
  t.equal(after.status, 200)
  t.equal(after.body.cluster_id, STANDBY)
  t.equal((await svc.get(`/clusters/${STANDBY}/active`)).status, 200)
  t.equal((await svc.get('/clusters')).body.phase, 'completed')
  t.notOk(svc.events().some((e) => e.type === 'activation_timeout'))
  t.equal(changesTo(svc, STANDBY).length, 1, 'one switch')
  const done = await svc.get(`/admin/operations/${operationId}`, admin)
  t.match(done.body, { status: 'succeeded', progress: `stream ${STREAM} COMPLETED; ${STANDBY} is active` })
})

t.test('a new primary that never answers SQL: past ACTIVATION_TIMEOUT an event says so and applications are sent there anyway', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { ACTIVATION_TIMEOUT: '0.3' }, { probes: { [STANDBY]: switchableProbe() } })
  await failOver(svc)
  t.equal((await svc.get('/active')).status, 503)
  const timeout = await svc.waitForEvent('activation_timeout')
  t.match(timeout, { severity: 'error', data: { clusterId: STANDBY, timeoutSeconds: 0.3, error: /ECONNREFUSED/ } })
  t.match(timeout.message, /ACTIVATION_TIMEOUT/)
  const changed = await svc.waitForEvent('active_cluster_changed', (e) => e.data.clusterId === STANDBY)
  t.ok(changed.id > timeout.id, 'the switch follows the timeout')
  const active = await svc.get('/active')
  t.equal(active.status, 200)
  t.match(active.body, { cluster_id: STANDBY, phase: 'completed' })
})

t.test('without a probe for the new primary, applications switch at COMPLETED', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await failOver(svc)
  const connection = await svc.get('/connection', credentials)
  t.equal(connection.status, 200)
  t.equal(connection.body.cluster_id, STANDBY)
  t.notOk(svc.events().some((e) => e.type === 'activation_waiting' || e.type === 'activation_timeout'))
})

t.test('UNHEALTHY_EVIDENCE=either: the new primary not answering SQL while it activates counts no failures', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { UNHEALTHY_EVIDENCE: 'either' }, { probes: { [STANDBY]: switchableProbe() } })
  await failOver(svc)
  for (let i = 0; i < 6; i++) await svc.fastify.engine.nextCheck()
  const s = svc.fastify.engine.snapshot()
  t.equal(s.phase, 'activating')
  t.equal(s.consecutiveFailures, 0)
  t.notOk(svc.events().some((e) => e.type === 'failure_counted' && e.data.clusterId === STANDBY))
})
