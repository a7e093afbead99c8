import t from 'tap'
import type { EngineEvent } from '../../src/engine/events.js'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService, type Service } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'

// A PATCH the API refused (rate limited: 429, or 503 with Retry-After) was never
// processed: it is asked again once the wait is over, not blocked for good as if it
// had been sent. A PATCH whose outcome is unclear still counts as asked.

// The first event, past or future, that ends the story.
function firstOf(svc: Service, ends: (e: EngineEvent) => boolean, timeoutMs = 15_000): Promise<EngineEvent> {
  const seen = svc.events().reverse().find(ends)
  if (seen !== undefined) return Promise.resolve(seen)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error('no ending event'))), timeoutMs)
    const off = svc.fastify.engine.onEvent((e) => {
      if (!ends(e)) return
      clearTimeout(timer)
      off()
      resolve(e)
    })
  })
}

for (const status of [429, 503]) {
  t.test(`a PATCH refused with ${status} + Retry-After is retried after the wait`, async (t) => {
    const cloud = await startFakeCloud(t)
    const svc = await startService(t, cloud)
    await svc.fastify.engine.nextCheck()
    await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'status', status, retry_after_seconds: 1, count: 1 })
    await cloud.setNodes(PRIMARY, 'NOT_READY')

    // Whichever comes first: the failover done, or the stream blocked for good.
    const end = await firstOf(svc, (e) => e.type === 'failover_completed' || (e.type === 'failover_blocked' && e.data.code === 'already_patched'))
    t.equal(end.type, 'failover_completed', `the failover went through (ended with ${end.type} ${end.message})`)
    const refused = svc.events().find((e) => e.type === 'failover_refused')
    t.ok(refused, 'a failover_refused event says the PATCH was refused and will be asked again')
    t.match(refused?.data, { streamId: String, error: String, retryAt: String })
    t.ok(!Number.isNaN(Date.parse(String(refused?.data.retryAt))), 'retryAt is a time')
    t.notOk(svc.events().some((e) => e.type === 'failover_blocked' && e.data.code === 'already_patched'), 'never blocked as already patched')
    t.equal(await cloud.patches(), 2, 'the refused PATCH, then the one that went through')
    t.match((await svc.get('/metrics')).body, /pcr_failovers_total\{trigger="auto",result="refused"\} 1/)
    t.equal((await svc.get('/clusters')).body.active_cluster_id, STANDBY)
  })
}

t.test('after a refused PATCH, a manual failover gets through (AUTO_FAILOVER=false)', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { AUTO_FAILOVER: 'false' })
  await svc.fastify.engine.nextCheck()
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'status', status: 429, retry_after_seconds: 1, count: 1 })
  const first = await svc.post('/admin/failover', {}, admin)
  t.not(first.status, 202, 'the first PATCH was refused')
  t.equal(await cloud.patches(), 1)
  // The API takes requests again from the time its Retry-After named.
  const retryAt = Date.parse(String(svc.events().find((e) => e.type === 'failover_refused')?.data.retryAt))
  await waitFor('the Retry-After to pass', () => Date.now() >= retryAt, { timeoutMs: 5000 })
  const second = await svc.post('/admin/failover', {}, admin)
  t.equal(second.status, 202, `asked again (${second.status} ${second.body.code ?? ''})`)
  t.not(second.body.code, 'already_patched')
  if (second.status === 202) await svc.waitForEvent('failover_completed')
  t.equal(await cloud.patches(), 2, 'the refused PATCH, then the one that went through')
})

for (const after of [false, true]) {
  t.test(`a PATCH with an unclear outcome (reset, after: ${after}) and a failed read-back counts as asked`, async (t) => {
    const cloud = await startFakeCloud(t)
    const svc = await startService(t, cloud)
    await svc.fastify.engine.nextCheck()
    // The first getStream (the check before the PATCH) goes through; every later one
    // (the read-back) fails. Cut before being served (after: false), the PATCH leaves the
    // stream REPLICATING, so only the sidecar's restraint prevents a second PATCH.
    await cloud.control('POST', '/faults', { operation: 'getStream', kind: 'latency', latency_ms: 1, count: 1 })
    await cloud.control('POST', '/faults', { operation: 'getStream', kind: 'status', status: 500 })
    await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'reset', after, count: 1 })
    await cloud.setNodes(PRIMARY, 'NOT_READY')
    await svc.waitForEvent('failover_requested')
    // The read-back's budget (HEALTH_CHECK_TIMEOUT, 1 s) is spent, then the API is readable again.
    await svc.waitForEvent('failover_failed')
    t.equal(await cloud.patches(), 1)
    // The premise: the PATCH was read back, and the read-back failed.
    const log: Array<{ method: string; operation: string | null; status: number | null }> = (await cloud.control('GET', '/requests')).requests
    const readBack = log.slice(log.findIndex((r) => r.method === 'PATCH')).filter((r) => r.operation === 'getStream')
    t.ok(readBack.length > 0 && readBack.every((r) => r.status === 500), 'the read-back failed')
    await cloud.control('DELETE', '/faults')
    for (let i = 0; i < 10; i++) await svc.fastify.engine.nextCheck()
    t.equal(await cloud.patches(), 1, 'still one PATCH, with the stream readable and the primary down')
    t.notOk(svc.events().some((e) => e.type === 'failover_refused'), 'an unclear PATCH is not a refused one')
    if (after) {
      await svc.waitForEvent('failover_completed')
      t.equal((await svc.get('/clusters')).body.active_cluster_id, STANDBY, 'the PATCH that took effect is followed')
    }
  })
}
