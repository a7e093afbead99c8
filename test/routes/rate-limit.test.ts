import t from 'tap'
import { busiestSecond } from '../../src/emulator/request-log.js'
import { requestsPerCheck } from '../../src/engine/request-rate.js'
import { directEnv, pcr, remote } from '../cli/fixtures/pcr.js'
import { admin, startFakeCloud, startService, type Cloud, type Service } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'

// Issue 16: the Cloud API at its real limit, 10 requests a second per key, with the
// sidecar and the CLI at their default budget (8). Before the rate budget, a full
// failback through the admin API ended failed on its first 429, and `pcr failback full`
// sent ten reads within 20 ms and failed on the eleventh.

const limit = { rateLimit: { perSecond: 10 } }
// Checks every second, as the operator ran it; the default budget.
const sidecar = { HEALTH_CHECK_INTERVAL: '1', HEALTH_CHECK_TIMEOUT: '1', CLOUD_API_RATE_LIMIT: '8' }

function finished(svc: Service, id: string) {
  return waitFor(
    `operation ${id} finished`,
    async () => {
      const { body } = await svc.get(`/admin/operations/${id}`, admin)
      return body.status !== 'running' && body
    },
    { timeoutMs: 60_000, intervalMs: 100 }
  )
}

// The most requests the emulator took in any one second, and how many it refused.
async function load(cloud: Cloud) {
  const requests = await cloud.requests()
  const busiest = busiestSecond(requests)
  return { busiest, refused: requests.filter((r) => r.status === 429 || r.status === 503).length, total: requests.length }
}

t.test('admin API at 10 requests a second: a manual failover then a full failback, five times in a row, all succeed', { timeout: 180_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { ...limit, timings: { startingSeconds: 0.1 } })
  const svc = await startService(t, cloud, sidecar)
  await svc.fastify.engine.nextCheck()
  for (let round = 1; round <= 5; round++) {
    if (round > 1) {
      // A full failback leaves no stream behind: protect the primary again first.
      t.equal((await svc.post('/admin/setup', {}, admin)).status, 201, `round ${round}: stream set up`)
      while (svc.fastify.engine.snapshot().stream?.status !== 'REPLICATING') await svc.fastify.engine.nextCheck()
    }
    const failover = await svc.post('/admin/failover', {}, admin)
    t.equal(failover.status, 202, `round ${round}: failover accepted`)
    t.match(await finished(svc, failover.body.operation_id), { status: 'succeeded' }, `round ${round}: failover done`)
    const failback = await svc.post('/admin/failback', { action: 'full' }, admin)
    t.equal(failback.status, 202, `round ${round}: failback accepted`)
    const done = await finished(svc, failback.body.operation.id)
    t.match(done, { status: 'succeeded' }, `round ${round}: full failback done (${done.error ?? done.progress})`)
    t.equal(svc.fastify.engine.snapshot().activeClusterId, svc.config.pair.primaryClusterId, `round ${round}: the original primary serves again`)
  }
  const { busiest, refused, total } = await load(cloud)
  t.ok(busiest <= 10, `never above the API's limit: busiest second ${busiest} of ${total} requests`)
  t.equal(refused, 0, 'the API never had to refuse a request')
})

t.test('pcr failback full --yes in direct mode at 10 requests a second succeeds', { timeout: 120_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { ...limit, timings: { startingSeconds: 0.1 } })
  const env = directEnv(cloud, { CLOUD_API_RATE_LIMIT: '8' })
  const failover = await pcr(['failover', '--yes'], { env })
  t.equal(failover.code, 0, failover.stdout + failover.stderr)
  const failback = await pcr(['failback', 'full', '--yes'], { env })
  t.equal(failback.code, 0, failback.stdout + failback.stderr)
  t.match(failback.stdout, /failback completed: stream \S+ COMPLETED/)
  // Two processes, each within its own budget, may meet in one second: the API's
  // refusal is waited out, once, not pressed.
  const { refused } = await load(cloud)
  t.ok(refused <= 2, `refused ${refused}`)
})

t.test('pcr failback full --yes through a service at 10 requests a second succeeds', { timeout: 120_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { ...limit, timings: { startingSeconds: 0.1 } })
  const svc = await startService(t, cloud, sidecar)
  await svc.fastify.engine.nextCheck()
  const failover = await pcr([...remote(svc), 'failover', '--yes'], { env: {} })
  t.equal(failover.code, 0, failover.stdout + failover.stderr)
  const failback = await pcr([...remote(svc), 'failback', 'full', '--yes'], { env: {} })
  t.equal(failback.code, 0, failback.stdout + failback.stderr)
  t.equal(svc.fastify.engine.snapshot().activeClusterId, svc.config.pair.primaryClusterId)
  const { busiest, refused } = await load(cloud)
  t.ok(busiest <= 10, `busiest second ${busiest}`)
  t.equal(refused, 0)
})

t.test('a refusal of an operator read is waited out, counted, and its wait measured', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await cloud.control('POST', '/faults', { operation: 'getDisruption', kind: 'status', status: 429, retry_after_seconds: 1, count: 1 })
  const res = await svc.post('/admin/simulate', { action: 'status' }, admin)
  t.equal(res.status, 200, JSON.stringify(res.body))
  const metrics = (await svc.get('/metrics')).body as string
  t.match(metrics, /^pcr_cloud_api_throttled_total\{operation="getDisruption"\} 1$/m)
  t.match(metrics, /^pcr_cloud_api_wait_seconds_count\{operation="getDisruption",cause="retry_after"\} 1$/m)
  t.match(metrics, /^pcr_cloud_api_requests_total\{operation="getDisruption",status="429"\} 1$/m)
})

t.test('a steady check costs the requests README and request-rate.ts state: the newest stream page, the watched cluster, its nodes', async (t) => {
  const cloud = await startFakeCloud(t)
  // 0.3 s between checks: the log is cleared well before the next one starts.
  const svc = await startService(t, cloud, { HEALTH_CHECK_INTERVAL: '0.3' })
  // The first check also reads the other cluster; the next is due only in 30 s.
  await svc.fastify.engine.nextCheck()
  await cloud.control('DELETE', '/requests')
  for (let i = 0; i < 10; i++) await svc.fastify.engine.nextCheck()
  await svc.close()
  const requests = await cloud.requests()
  const checks = requests.filter((r) => r.operation === 'listStreams').length
  t.ok(checks >= 10, `${checks} checks`)
  t.same(
    [...new Set(requests.map((r) => r.operation))].sort(),
    ['getCluster', 'listNodes', 'listStreams'],
    'nothing else is read'
  )
  t.equal(requests.length, checks * requestsPerCheck, `${requests.length} requests for ${checks} checks`)
})
