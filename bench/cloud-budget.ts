import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { busiestSecond, type LoggedRequest } from '../src/emulator/request-log.js'
import { otherClusterRefreshMs } from '../src/engine/core/check.js'
import { steadyRequestsPerSecond } from '../src/engine/request-rate.js'
import { counterTotal, roleOf, startFleet, type Fleet } from '../tools/fleet.js'
import { admin, PRIMARY, STANDBY, startFakeCloud, startService, type Service } from '../tools/stack.js'
import { waitFor } from '../tools/wait-for.js'
import { limitPerSecond } from './cloud-cost.js'
import { sleep } from './http.js'
import { root } from './processes.js'
import { CloudBudget } from './results-schema.js'
import { round } from './stats.js'
import { withTeardown } from './teardown.js'

// npm run bench:cloud-budget (issue 16): what sidecars sharing one API key cost the
// Cloud API, against its 10 requests/s per key.
// - Steady cost: 1, 10 and 50 real sidecars (in process) with COORDINATION=local and
//   etcd. An hour at the default timeline cannot run here, so the fleets check every
//   --interval seconds, with the emulator's limit and each sidecar's budget scaled by
//   the same factor (30 s ÷ interval). The emulator's request log gives the requests
//   per check by operation; the hour at the default timeline is computed from them.
//   What depends on the interval: a check (stream listing, watched cluster, its nodes)
//   runs every interval, the other cluster is read every max(interval, 30 s); at
//   30 s both happen 120 times an hour.
// - Busiest second: one local sidecar at the default timeline, the emulator at the
//   API's real 10/s, a manual failover and then a full failback.

const defaultIntervalSeconds = 30
const usage = 'usage: npm run bench:cloud-budget -- [--sidecars 1,10,50] [--interval SECONDS] [--seconds N] [--out FILE]'
const { values } = parseArgs({
  options: {
    sidecars: { type: 'string', default: '1,10,50' },
    interval: { type: 'string', default: '1.5' },
    seconds: { type: 'string', default: '35' },
    out: { type: 'string' }
  }
})
const fleets = values.sidecars.split(',').map(Number)
const interval = Number(values.interval)
const seconds = Number(values.seconds)
if (![...fleets, interval, seconds].every((v) => Number.isFinite(v) && v > 0) || !fleets.every(Number.isInteger) || interval > defaultIntervalSeconds) {
  process.stderr.write(`bench:cloud-budget: every option must be a positive number (sidecars whole, interval at most 30)\n${usage}\n`)
  process.exit(2)
}
// 1.5 s is 20 times the default timeline: the emulator takes 200 requests/s, each sidecar's budget 160.
const scale = defaultIntervalSeconds / interval
const checksPerHourAtDefault = 3600 / defaultIntervalSeconds
const refreshesPerHourAtDefault = 3600 / Math.max(defaultIntervalSeconds, otherClusterRefreshMs / 1000)

const refused = (requests: readonly LoggedRequest[]) => requests.filter((r) => r.status === 429 || r.status === 503).length
// getCluster and listNodes name their cluster: the primary is watched, the standby is the other one.
const operationOf = (r: LoggedRequest) =>
  r.operation === 'getCluster' || r.operation === 'listNodes' ? `${r.operation} ${r.path.includes(STANDBY) ? 'other' : 'watched'}` : (r.operation ?? 'unknown')

function countBy(requests: readonly LoggedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of requests) counts[operationOf(r)] = (counts[operationOf(r)] ?? 0) + 1
  return counts
}

const checksOf = async (services: Service[]) =>
  (await Promise.all(services.map((s) => counterTotal(s, 'pcr_checks_total', { cluster_id: PRIMARY })))).reduce((a, b) => a + b, 0)

async function steady(fleet: Fleet, sidecars: number, coordination: 'local' | 'etcd') {
  const log = fleet.cloud.emulator.requests
  const setupStart = log.list().length
  // A prefix of its own: each etcd fleet elects afresh.
  const env = {
    COORDINATION: coordination,
    ETCD_PREFIX: `/pcr-bench/${randomUUID()}/`,
    HEALTH_CHECK_INTERVAL: String(interval),
    HEALTH_CHECK_TIMEOUT: String(Math.min(10, interval)),
    CLOUD_API_RATE_LIMIT: String(8 * scale),
    LOG_LEVEL: 'warn'
  }
  const services: Service[] = []
  try {
    for (let i = 0; i < sidecars; i++) services.push(await fleet.start(`${coordination}-${i}`, env))
    if (coordination === 'etcd') {
      await waitFor('one leader, the rest following', async () => services.filter((s) => roleOf(s) === 'leader').length === 1 && services.every((s) => roleOf(s) !== 'none'), { timeoutMs: 60_000 })
    }
    // Every sidecar has checked, and followers have the leader's view: the window starts clean.
    await sleep(2 * interval * 1000)
    const [before, checksBefore] = [log.list().length, await checksOf(services)]
    await sleep(seconds * 1000)
    const window = log.list().slice(before)
    const sidecarChecks = (await checksOf(services)) - checksBefore
    const ops = countBy(window)
    const apiChecks = ops.listStreams ?? 0
    if (apiChecks === 0) throw new Error(`${sidecars} ${coordination}: no check read the API in the window`)
    const watchedPerCheck = (apiChecks + (ops['getCluster watched'] ?? 0) + (ops['listNodes watched'] ?? 0)) / apiChecks
    // Over the whole setup: each sidecar's first check reads the other cluster, so a short window still sees one.
    const all = countBy(log.list().slice(setupStart))
    const otherPerRefresh = ((all['getCluster other'] ?? 0) + (all['listNodes other'] ?? 0)) / (all['getCluster other'] ?? 1)
    // Of all the checks the sidecars ran, the share that read the API (1 alone, 1/N behind a leader).
    const apiShare = Math.min(1, apiChecks / Math.max(1, sidecarChecks))
    const readers = sidecars * apiShare
    return {
      coordination,
      sidecars,
      sidecarChecks,
      apiChecks,
      requests: window.length,
      refused: refused(window),
      byOperation: ops,
      perCheck: round(window.length / apiChecks, 2),
      modelPerCheck: round(steadyRequestsPerSecond(interval) * interval, 2),
      watchedPerCheck: round(watchedPerCheck, 2),
      otherPerRefresh: round(otherPerRefresh, 2),
      perHourAtDefault: Math.round(readers * (checksPerHourAtDefault * watchedPerCheck + refreshesPerHourAtDefault * otherPerRefresh)),
      modelPerHourAtDefault: Math.round((coordination === 'local' ? sidecars : 1) * steadyRequestsPerSecond(defaultIntervalSeconds) * 3600)
    }
  } finally {
    await Promise.all(services.map((s) => s.close()))
  }
}

async function operationDone(svc: Service, id: string): Promise<void> {
  let body: { status: string; error?: string | null } = { status: 'running' }
  await waitFor(`operation ${id}`, async () => (body = (await svc.get(`/admin/operations/${id}`, admin)).body).status !== 'running', { timeoutMs: 120_000, intervalMs: 100 })
  if (body.status !== 'succeeded') throw new Error(`operation ${id} ${body.status}: ${body.error}`)
}

// The API's load while `run` ran, from the request log.
async function during(log: { list(): LoggedRequest[] }, run: () => Promise<void>) {
  const [first, started] = [log.list().length, performance.now()]
  await run()
  const requests = log.list().slice(first)
  return { requests: requests.length, seconds: round((performance.now() - started) / 1000, 1), busiestSecond: busiestSecond(requests), refused: refused(requests) }
}

function busiest() {
  return withTeardown(async (t) => {
    const cloud = await startFakeCloud(t, { rateLimit: { perSecond: limitPerSecond }, timings: { startingSeconds: 0.1 } })
    const svc = await startService(t, cloud, { HEALTH_CHECK_INTERVAL: '30', HEALTH_CHECK_TIMEOUT: '10', CLOUD_API_RATE_LIMIT: '8', LOG_LEVEL: 'warn' })
    await svc.fastify.engine.nextCheck()
    const log = cloud.emulator.requests
    const failover = await during(log, async () => operationDone(svc, (await svc.post('/admin/failover', {}, admin)).body.operation_id))
    const failback = await during(log, async () => operationDone(svc, (await svc.post('/admin/failback', { action: 'full' }, admin)).body.operation.id))
    return { limitPerSecond, failover, failback }
  })
}

const steadyResults = await withTeardown(async (t) => {
  const fleet = await startFleet(t, { rateLimit: { perSecond: limitPerSecond * scale } })
  const results = []
  for (const coordination of ['local', 'etcd'] as const) {
    for (const n of fleets) {
      process.stderr.write(`steady: ${n} sidecar(s), COORDINATION=${coordination}\n`)
      results.push(await steady(fleet, n, coordination))
    }
  }
  return results
})
process.stderr.write('busiest second: a failover and a full failback\n')
const busiestResults = await busiest()

// Per local sidecar, from the largest local fleet; the smallest N whose N × rate exceeds half the limit, and all of it.
const largest = steadyResults.filter((s) => s.coordination === 'local').at(-1) as (typeof steadyResults)[number]
const perSidecarHour = round(largest.perHourAtDefault / largest.sidecars, 1)
const from = (perSecond: number) => Math.floor((perSecond * 3600) / perSidecarHour) + 1
const result = CloudBudget.parse({
  at: new Date().toISOString(),
  intervalSeconds: interval,
  scale,
  windowSeconds: seconds,
  steady: steadyResults,
  etcdRequiredFrom: { perSidecarHour, halfLimit: from(limitPerSecond / 2), limit: from(limitPerSecond) },
  busiest: busiestResults
})
await writeFile(values.out ?? join(root, 'bench', 'results', 'cloud-budget.json'), `${JSON.stringify(result, null, 2)}\n`)

const row = (s: CloudBudget['steady'][number]) =>
  `| ${s.sidecars} | ${s.coordination} | ${s.perCheck} (model ${s.modelPerCheck}) | ${s.apiChecks} of ${s.sidecarChecks} | ${s.perHourAtDefault.toLocaleString('en-US')} (model ${s.modelPerHourAtDefault.toLocaleString('en-US')}) | ${round(s.perHourAtDefault / 3600, 2)} |`
const windowRow = (what: string, w: CloudBudget['busiest']['failover']) => `| ${what} | ${w.seconds} s | ${w.requests} | ${w.busiestSecond} | ${w.refused} |`
process.stdout.write(
  [
    `| Sidecars on one key | COORDINATION | Requests per API check at ${interval} s (measured, model) | Checks that read the API, of all run | Requests per hour at 30 s (computed, model) | per second |`,
    '|---|---|---|---|---|---|',
    ...result.steady.map(row),
    '',
    `From ${result.etcdRequiredFrom.halfLimit} local sidecars per key the steady rate exceeds half of ${limitPerSecond}/s, from ${result.etcdRequiredFrom.limit} all of it (${perSidecarHour} requests an hour each).`,
    '',
    `| One sidecar, API at ${limitPerSecond}/s | took | requests | busiest second | refused |`,
    '|---|---|---|---|---|',
    windowRow('manual failover', result.busiest.failover),
    windowRow('full failback', result.busiest.failback)
  ].join('\n') + '\n'
)
