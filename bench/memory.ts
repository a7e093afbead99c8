import { startEmulator, type StartEmulatorOptions } from '../src/emulator/server.js'
import { waitFor } from '../tools/wait-for.js'
import { credentials, waitForOk } from './http.js'
import { connectInspector, type Inspector } from './inspector.js'
import { currentRssBytes, peakRssBytes } from './proc.js'
import { runLoad } from './load.js'
import { startBaseline, startService, type Entry, type Service } from './processes.js'
import type { Memory } from './results-schema.js'
import type { Sizes } from './sizes.js'
import { round } from './stats.js'

// Benchmark 4: the service's memory after start, halfway and at the end of a
// long run of /connection requests, then of monitor cycles, each sample taken
// after a full GC (forced through the inspector, so the process runs unmodified),
// with the peak RSS so far beside it. The growth from the half to the end is
// what a leak would show as.

type Sample = Memory['requests']['samples'][number]

async function sample(service: Service, inspector: Inspector, count: number): Promise<Sample> {
  // Read before the forced GC, which may raise it for a moment.
  const peak = peakRssBytes(service.child.pid)
  const before = currentRssBytes(service.child.pid)
  return { count, ...(await inspector.memoryAfterGc()), peakRssBytes: peak, rssBeforeGcBytes: before }
}

function growth(samples: Sample[]): Memory['requests']['growth'] {
  const [, half, end] = samples as [Sample, Sample, Sample]
  return { rssBytes: end.rssBytes - half.rssBytes, heapUsedBytes: end.heapUsedBytes - half.heapUsedBytes }
}

type Run<T> = (service: Service, inspector: Inspector, checks: () => number) => Promise<T>

// The service with its inspector open, against its own emulator; checks() counts the checks it ran.
async function withService<T>(entry: Entry, env: Record<string, string>, emulatorOptions: StartEmulatorOptions, run: Run<T>): Promise<T> {
  const emulator = await startEmulator(emulatorOptions)
  let service: Service | undefined
  let inspector: Inspector | undefined
  try {
    service = await startService({ entry, emulatorUrl: emulator.url, env, inspect: true })
    inspector = await connectInspector(service.inspectorUrl as string)
    await waitForOk(`${service.url}/connection`, credentials)
    return await run(service, inspector, () => emulator.requests.list().filter((r) => r.operation === 'listStreams').length)
  } finally {
    inspector?.close()
    await service?.child.stop()
    await emulator.close()
  }
}

// The same requests in two halves, with a sample before, between and after.
async function loadInHalves<S extends { count: number }>(sizes: Sizes, service: Service, headers: Record<string, string>, take: (count: number) => Promise<S>): Promise<S[]> {
  const half = Math.floor(sizes.memoryRequests / 2)
  const samples = [await take(0)]
  for (const amount of [half, sizes.memoryRequests - half]) {
    const run = await runLoad({ url: `${service.url}/connection`, headers, connections: sizes.connections, amount, pid: service.child.pid })
    if (run.non2xx + run.errors > 0) throw new Error(`/connection failed ${run.non2xx + run.errors} times under load`)
    samples.push(await take((samples.at(-1) as S).count + run.requests))
  }
  return samples
}

// The bare-Fastify baseline answering /connection's body, under the same load: what Node and Fastify alone hold.
async function baselineMemory(sizes: Sizes, body: unknown): Promise<Memory['requests']['baseline']> {
  const baseline = await startBaseline({ '/connection': body })
  try {
    const samples = await loadInHalves(sizes, baseline, {}, async (count) => ({ count, rssBytes: currentRssBytes(baseline.child.pid) }))
    const [, half, end] = samples
    const growthRssBytes = half?.rssBytes == null || end?.rssBytes == null ? null : end.rssBytes - half.rssBytes
    return { samples, growthRssBytes }
  } finally {
    await baseline.child.stop()
  }
}

export async function benchMemory(sizes: Sizes, entry: Entry, log: (line: string) => void): Promise<Memory> {
  let body: unknown
  const served = await withService(entry, {}, {}, async (service, inspector) => {
    const started = performance.now()
    body = await (await fetch(`${service.url}/connection`, { headers: credentials })).json()
    const samples = await loadInHalves(sizes, service, credentials, (count) => sample(service, inspector, count))
    return { route: '/connection', connections: sizes.connections, samples, growth: growth(samples), seconds: round((performance.now() - started) / 1000, 1) }
  })
  const requests = { ...served, baseline: await baselineMemory(sizes, body) }
  log(
    `memory after ${sizes.memoryRequests} requests: RSS ${mb(requests.samples[2]?.rssBeforeGcBytes ?? 0)} MB (${mb(requests.samples[2]?.rssBytes)} after a GC), ` +
      `bare ${mb(requests.baseline.samples[2]?.rssBytes ?? 0)} MB; growth ${mb(requests.growth.rssBytes)} MB`
  )

  // No rate limit, here or in the service's own budget (8 requests a second unless told): a check every 10 ms is the point.
  const env = { HEALTH_CHECK_INTERVAL: String(sizes.monitorIntervalSeconds), HEALTH_CHECK_TIMEOUT: '1', CLOUD_API_RATE_LIMIT: '100000' }
  const monitorCycles = await withService(entry, env, { rateLimit: false }, async (service, inspector, checks) => {
    const started = performance.now()
    const samples = [await sample(service, inspector, checks())]
    for (const mark of [Math.floor(sizes.monitorCycles / 2), sizes.monitorCycles]) {
      const waitMs = (mark * sizes.monitorIntervalSeconds + 60) * 1000
      await waitFor(`${mark} checks`, async () => checks() >= mark, { timeoutMs: waitMs, intervalMs: 10 })
      samples.push(await sample(service, inspector, checks()))
    }
    return { intervalSeconds: sizes.monitorIntervalSeconds, samples, growth: growth(samples), seconds: round((performance.now() - started) / 1000, 1) }
  })
  log(`memory after ${sizes.monitorCycles} checks: RSS ${mb(monitorCycles.samples[2]?.rssBytes)} MB, growth ${mb(monitorCycles.growth.rssBytes)} MB`)
  return { requests, monitorCycles }
}

const mb = (bytes = 0) => (bytes / 2 ** 20).toFixed(1)
