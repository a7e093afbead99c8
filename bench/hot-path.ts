import { parseConfig } from '../src/config/index.js'
import { DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID } from '../src/emulator/seed.js'
import { startEmulator } from '../src/emulator/server.js'
import { cloudCost } from './cloud-cost.js'
import { credentials, getJson, waitForOk } from './http.js'
import { runLoad, type LoadOptions } from './load.js'
import { startBaseline, startService, type Entry, type Service } from './processes.js'
import type { CloudCost, HotPath, LoadRun } from './results-schema.js'
import type { Sizes } from './sizes.js'
import { ranks, round } from './stats.js'

// Benchmark 1: the routes applications and probes hit, each against a bare
// Fastify route answering a body of the same size, with the same connections
// and duration, in the same run. The service runs with the default
// configuration, so the Cloud API requests it made meanwhile give benchmark 6,
// the cost at the default interval.

const routes = [
  { route: '/connection', headers: credentials },
  { route: '/health', headers: {} },
  { route: '/ready', headers: {} },
  { route: `/clusters/${DEFAULT_PRIMARY_ID}/active`, headers: {} },
  { route: '/active', headers: {} }
]

const defaultIntervalSeconds = parseConfig({
  COCKROACH_API_SECRET_KEY: 'unused',
  PRIMARY_CLUSTER_ID: DEFAULT_PRIMARY_ID,
  STANDBY_CLUSTER_ID: DEFAULT_STANDBY_ID
}).config.timeline.intervalSeconds

type Target = 'service' | 'baseline'

export async function benchHotPath(sizes: Sizes, entry: Entry, log: (line: string) => void): Promise<{ hotPath: HotPath; cloudCost: CloudCost }> {
  // The Cloud API's 10 requests/s limit stays on: the cost is measured under it.
  const emulator = await startEmulator()
  const startedAt = performance.now()
  let service: Service | undefined
  let baseline: Service | undefined
  try {
    service = await startService({ entry, emulatorUrl: emulator.url })
    await waitForOk(`${service.url}/connection`, credentials)
    const bodies: Record<string, unknown> = {}
    const bytes: Record<string, number> = {}
    for (const { route, headers } of routes) {
      const answer = await getJson(`${service.url}${route}`, headers)
      if (answer.status !== 200) throw new Error(`${route} answered ${answer.status}`)
      bodies[route] = answer.body
      bytes[route] = answer.bytes
    }
    baseline = await startBaseline(bodies)
    const targets: Record<Target, Service> = { service, baseline }
    const results: HotPath['routes'] = []
    for (const { route, headers } of routes) {
      const load = (target: Target, run: Partial<LoadOptions>) =>
        runLoad({ url: `${targets[target].url}${route}`, headers, connections: sizes.connections, pid: targets[target].child.pid, ...run })
      for (const target of ['service', 'baseline'] as const) await load(target, { durationSeconds: sizes.warmupSeconds })
      const rounds: Record<Target, LoadRun[]> = { service: [], baseline: [] }
      for (let i = 0; i < sizes.rounds; i++) {
        // Alternating which goes first, so a drift in the machine's load hits both alike.
        const order: Target[] = i % 2 === 0 ? ['service', 'baseline'] : ['baseline', 'service']
        for (const target of order) rounds[target].push(await load(target, { durationSeconds: sizes.durationSeconds }))
      }
      const summarize = async (target: Target) => {
        const saturation = rounds[target].reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a))
        const rate = Math.max(1, Math.round(saturation.requestsPerSecond * 0.8))
        const at80 = await load(target, { durationSeconds: sizes.durationSeconds, overallRate: rate })
        return { saturation, at80, roundsPerSecond: rounds[target].map((r) => r.requestsPerSecond) }
      }
      const serviceRuns = await summarize('service')
      const baselineRuns = await summarize('baseline')
      // Each round runs both back to back: a pair's ratio is free of the machine's drift from one
      // round to the next (large on a shared host), and the median pair counts.
      const pairs = rounds.service.map((run, i) => run.requestsPerSecond / (rounds.baseline[i] as LoadRun).requestsPerSecond)
      const ratio = round(ranks(pairs)(50))
      results.push({ route, bodyBytes: bytes[route] as number, service: serviceRuns, baseline: baselineRuns, ratio })
      log(
        `${route}: ${serviceRuns.saturation.requestsPerSecond} req/s vs ${baselineRuns.saturation.requestsPerSecond} bare (${Math.round(ratio * 100)}%), ` +
          `p99 ${serviceRuns.at80.latencyMs.p99} ms at 80%`
      )
    }
    const observedSeconds = (performance.now() - startedAt) / 1000
    return {
      hotPath: { connections: sizes.connections, durationSeconds: sizes.durationSeconds, rounds: sizes.rounds, routes: results },
      cloudCost: cloudCost(emulator.requests.list(), defaultIntervalSeconds, observedSeconds)
    }
  } finally {
    await service?.child.stop()
    await baseline?.child.stop()
    await emulator.close()
  }
}
