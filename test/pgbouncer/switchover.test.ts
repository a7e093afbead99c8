import t, { type Test } from 'tap'
import { STREAM, PRIMARY, STANDBY, admin } from '../../tools/stack.js'
import { startPooledPair, type PooledPair } from '../../tools/pooled-pair.js'
import { waitFor } from '../../tools/wait-for.js'
import { rowsAfter, startWriteProbe, type WriteProbe } from '../../tools/write-probe.js'

// A planned switchover on real programs: an application writes a row every 10 ms
// through PgBouncer while the sidecar fences, waits for the stream to replicate
// past the fence, fails over to that time and resumes PgBouncer on the new primary.

async function ready(t: Test, env: Record<string, string> = {}): Promise<PooledPair> {
  // Failing over by hand only: a refusal test takes the primary down.
  const pair = await startPooledPair(t, {}, { SWITCHOVER_TIMEOUT: '20', PGBOUNCER_MAX_PAUSE: '30', AUTO_FAILOVER: 'false', ...env })
  const { engine } = pair.svc.fastify
  await waitFor('both clusters healthy, the stream replicating', () => {
    const s = engine.snapshot()
    return s.phase === 'normal' && s.stream?.replicatedTime !== null && s.clusters.every((c) => c.verdict === 'healthy')
  }, { timeoutMs: 60_000 })
  return pair
}

async function writing(t: Test, pair: PooledPair): Promise<WriteProbe> {
  const probe = startWriteProbe(pair.appUrl)
  t.teardown(() => probe.stop())
  await waitFor('the application writes', () => probe.outcomes.filter((o) => o.error === undefined).length >= 10, { timeoutMs: 30_000 })
  return probe
}

async function finished(pair: PooledPair, id: string) {
  return waitFor('the operation ends', async () => {
    const op = (await pair.svc.get(`/admin/operations/${id}`, admin)).body
    return op.status === 'running' ? undefined : op
  }, { timeoutMs: 60_000 })
}

t.test('no write is lost or refused, and none reaches the old primary after the failover point', async (t) => {
  const pair = await ready(t)
  const { svc, cloud, primary, standby } = pair
  // What HAProxy and applications were told while the fence stood.
  const fencedAnswers = new Set<string>()
  svc.fastify.engine.onPublish((s) => {
    if (s.fence === null || s.activeClusterId !== PRIMARY) return
    fencedAnswers.add(`active ${svc.fastify.answers.active().status}, primary ${svc.fastify.answers.clusterActive(PRIMARY).status}`)
  })
  const probe = await writing(t, pair)

  const started = await svc.post('/admin/switchover', {}, admin)
  t.equal(started.status, 202)
  t.match(started.body.operation, { kind: 'switchover', status: 'running', phase: 'fencing' })
  const op = await finished(pair, started.body.operation.id)
  t.equal(op.status, 'succeeded', op.error ?? 'succeeded')
  t.same(
    op.steps.map((s: { phase: string }) => s.phase),
    ['fencing', 'waiting_for_replication', 'failing_over', 'activating'].filter((p) => op.steps.some((s: { phase: string }) => s.phase === p)),
    'the steps in order'
  )
  t.ok(op.steps.length >= 3, 'fencing, waiting for replication, failing over at least')
  t.ok(op.steps.every((s: { duration_ms: number | null }) => typeof s.duration_ms === 'number' && s.duration_ms >= 0), 'each step with its duration')

  // The application goes on, on the new primary.
  const acked = () => probe.outcomes.filter((o) => o.endpoint === standby.port).length
  await waitFor('writes on the new primary', () => acked() >= 10, { timeoutMs: 30_000 })
  const outcomes = await probe.stop()

  t.same(outcomes.filter((o) => o.error !== undefined), [], 'no write was refused')
  const stream = (await cloud.control('GET', '/state')).streams.find((s: { id: string }) => s.id === STREAM)
  t.equal(stream.status, 'COMPLETED')
  const failoverPoint: string = stream.activated_at
  t.equal(await rowsAfter(primary.server.url(), failoverPoint), 0, 'no row on the old primary after the failover point')
  const early = outcomes.filter((o) => o.endpoint === primary.port)
  t.ok(early.length > 0 && early.every((o) => (o.at as string) <= failoverPoint), 'every write the old primary took is before the failover point')
  t.ok(outcomes.every((o) => o.endpoint === primary.port || o.endpoint === standby.port))
  t.ok(Math.max(...outcomes.map((o) => o.waitedMs)) > 0)

  t.same([...fencedAnswers], ['active 503, primary 503'], 'while fenced, /active and the primary\'s /clusters/{id}/active answered 503')
  // Fenced and held before the PATCH; resumed only once PgBouncer sends app to the standby.
  await waitFor('the sync reports PgBouncer serving', () => svc.fastify.engine.snapshot().pooler?.state === 'serving')
  const history = svc.events().reverse()
  const at = (type: string, clusterId?: string) => history.findIndex((e) => e.type === type && (clusterId === undefined || e.data.clusterId === clusterId))
  t.ok(at('fence_raised') < at('pgbouncer_paused') && at('pgbouncer_paused') < at('failover_patched'), 'fenced, held, then the PATCH')
  t.ok(at('failover_patched') < at('pgbouncer_updated', STANDBY) && at('pgbouncer_updated', STANDBY) < at('pgbouncer_resumed'), 'sent to the standby, then resumed')
  t.ok(at('failover_patched') < at('fence_lowered'), 'the fence stands until the failover')
  t.match(history[at('failover_patched')], { data: { failoverAt: String } })
  t.equal(svc.fastify.engine.snapshot().activeClusterId, STANDBY)
})

t.test('a switchover that runs out of time before the failover lowers the fence: the primary serves again', async (t) => {
  const pair = await ready(t)
  const { svc, cloud } = pair
  const probe = await writing(t, pair)
  // The stream trails by 2 s: it cannot replicate past the fence in 0.3 s.
  const started = await svc.post('/admin/switchover', { timeout_seconds: 0.3 }, admin)
  t.equal(started.status, 202)
  const op = await finished(pair, started.body.operation.id)
  t.equal(op.status, 'failed')
  t.match(op.error, /^stream \S+ did not replicate up to the fence \S+ within 0\.3 s \(SWITCHOVER_TIMEOUT, or timeout_seconds\); last replicated_time \S+; the primary serves again$/)
  await waitFor('PgBouncer serves again', () => svc.fastify.engine.snapshot().pooler?.state === 'serving', { timeoutMs: 30_000 })
  const before = probe.outcomes.length
  await waitFor('writes go on', () => probe.outcomes.length >= before + 10, { timeoutMs: 30_000 })
  const outcomes = await probe.stop()
  t.same(outcomes.filter((o) => o.error !== undefined), [], 'held, then resumed: no write refused')
  t.ok(outcomes.every((o) => o.endpoint === pair.primary.port), 'every write on the primary')
  t.equal(await cloud.patches(), 0, 'no failover was asked for')
  t.equal(svc.fastify.engine.snapshot().fence, null)
  t.equal((await svc.get('/active')).status, 200)
})

t.test('refused, with the reason, when a cluster is not healthy; nothing is fenced', async (t) => {
  const pair = await ready(t)
  const { svc, cloud } = pair
  // The monitor reads the standby every 30 s: the switchover reads it afresh.
  await cloud.setNodes(STANDBY, 'NOT_READY')
  const refused = await svc.post('/admin/switchover', {}, admin)
  t.equal(refused.status, 409)
  t.match(refused.body, { code: 'standby_unusable', message: new RegExp(`^standby ${STANDBY} is unhealthy: `) })
  await cloud.setNodes(STANDBY, 'LIVE')
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const primaryDown = await svc.post('/admin/switchover', {}, admin)
  t.equal(primaryDown.status, 409)
  t.match(primaryDown.body, { code: 'cluster_unhealthy', message: new RegExp(`^cluster ${PRIMARY} is unhealthy: `) })
  t.notOk(svc.events().some((e) => e.type === 'fence_raised' || e.type === 'pgbouncer_paused'))
  t.equal(svc.fastify.engine.snapshot().fence, null)
})

t.test('bad input is a 400 and changes nothing', async (t) => {
  const pair = await ready(t)
  for (const body of [{ timeout_seconds: 0 }, { timeout_seconds: 'soon' }, { unfenced: 'yes' }, { extra: 1 }]) {
    const res = await pair.svc.post('/admin/switchover', body, admin)
    t.equal(res.status, 400, JSON.stringify(body))
  }
  t.notOk(pair.svc.events().some((e) => e.type === 'operation_started'))
})
