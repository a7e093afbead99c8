import { startEmulator, type StartEmulatorOptions } from '../src/emulator/server.js'
import { waitFor } from '../tools/wait-for.js'
import { credentials, waitForOk } from './http.js'
import { connectInspector, type Inspector } from './inspector.js'
import { peakRssBytes } from './proc.js'
import { runLoad } from './load.js'
import { startService, type Entry, type Service } from './processes.js'
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
  return { count, ...(await inspector.memoryAfterGc()), peakRssBytes: peak }
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

export async function benchMemory(sizes: Sizes, entry: Entry, log: (line: string) => void): Promise<Memory> {
  const requests = await withService(entry, {}, {}, async (service, inspector) => {
    const started = performance.now()
    const half = Math.floor(sizes.memoryRequests / 2)
    const samples = [await sample(service, inspector, 0)]
    for (const amount of [half, sizes.memoryRequests - half]) {
      const run = await runLoad({ url: `${service.url}/connection`, headers: credentials, connections: sizes.connections, amount, pid: service.child.pid })
      if (run.non2xx + run.errors > 0) throw new Error(`/connection failed ${run.non2xx + run.errors} times under load`)
      samples.push(await sample(service, inspector, (samples.at(-1) as Sample).count + run.requests))
    }
    return { route: '/connection', connections: sizes.connections, samples, growth: growth(samples), seconds: round((performance.now() - started) / 1000, 1) }
  })
  log(`memory after ${sizes.memoryRequests} requests: RSS ${mb(requests.samples[2]?.rssBytes)} MB, growth ${mb(requests.growth.rssBytes)} MB`)

  const env = { HEALTH_CHECK_INTERVAL: String(sizes.monitorIntervalSeconds), HEALTH_CHECK_TIMEOUT: '1' }
  // No rate limit: a check every 10 ms is the point here.
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
