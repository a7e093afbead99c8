import { startEmulator } from '../src/emulator/server.js'
import { waitForOk } from './http.js'
import { spawnService, startBaseline, type Entry } from './processes.js'
import type { Startup } from './results-schema.js'
import type { Sizes } from './sizes.js'
import { round, spread } from './stats.js'

// Benchmark 5: from starting the process to /ready answering 200, against a
// Cloud API that takes 50 ms for every answer. Split into the time to listen
// (loading the code, building the app) and from there to the first check that
// tells the active cluster. Each run first starts the bare-Fastify baseline to
// listening: the floor of a Node process that serves HTTP with Fastify.

const apiLatencyMs = 50
// How often /ready is asked while starting: the resolution of the figure.
const readyPollMs = 5

export async function benchStartup(sizes: Sizes, entry: Entry, log: (line: string) => void): Promise<Startup> {
  // No rate limit: runs back to back would otherwise share one budget of 10 requests/s.
  const emulator = await startEmulator({ rateLimit: false })
  emulator.faults.add({ operation: '*', kind: 'latency', latency_ms: apiLatencyMs })
  const runs: Startup['runs'] = []
  try {
    for (let i = 0; i < sizes.startupRuns; i++) {
      const baselineStarted = performance.now()
      const baseline = await startBaseline({ '/ready': {} })
      const baselineListeningMs = performance.now() - baselineStarted
      await baseline.child.stop()
      const started = performance.now()
      const child = spawnService({ entry, emulatorUrl: emulator.url })
      try {
        const url = await child.listening(30_000)
        const listeningMs = performance.now() - started
        await waitForOk(`${url}/ready`, {}, 30_000, readyPollMs)
        runs.push({ baselineListeningMs: round(baselineListeningMs, 1), listeningMs: round(listeningMs, 1), readyMs: round(performance.now() - started, 1) })
      } finally {
        await child.stop()
      }
    }
  } finally {
    await emulator.close()
  }
  const baselineListeningMs = spread(runs.map((r) => r.baselineListeningMs))
  const readyMs = spread(runs.map((r) => r.readyMs))
  const result = { apiLatencyMs, runs, baselineListeningMs, listeningMs: spread(runs.map((r) => r.listeningMs)), readyMs, readyRatio: round(readyMs.median / baselineListeningMs.median) }
  log(
    `startup: ready after ${result.readyMs.median} ms (median of ${runs.length}), listening after ${result.listeningMs.median} ms; ` +
      `bare Fastify listening after ${baselineListeningMs.median} ms (${result.readyRatio}×)`
  )
  return result
}
