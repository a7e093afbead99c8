import autocannon from 'autocannon'
import { cpuUsage } from 'node:process'
import { machineBusySeconds, processCpuSeconds } from './proc.js'
import type { LoadRun } from './results-schema.js'
import { ranks, round } from './stats.js'

// One autocannon run against one URL, summarized. Latencies are taken from each
// response (autocannon's own histogram keeps whole milliseconds only). The CPU
// used by the process under test, by the load generator (this process) and by
// anything else on the machine is recorded too, so a run where the generator or
// a neighbour was the bottleneck shows as one.

export interface LoadOptions {
  url: string
  headers?: Record<string, string>
  connections: number
  /** Seconds, unless amount is given. */
  durationSeconds?: number
  /** A fixed number of requests instead of a duration. */
  amount?: number
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number
  /** The process under test, for its CPU use. */
  pid: number
}

// Past its planned length a run is stopped: a stuck server must not stall the benchmark.
const graceSeconds = 60
// The slowest rate assumed when only an amount bounds a run.
const slowestRate = 500

export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const latencies: number[] = []
  const serverBefore = processCpuSeconds(options.pid)
  const machineBefore = machineBusySeconds()
  const clientBefore = cpuUsage()
  const started = performance.now()
  let instance: autocannon.Instance | undefined
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        headers: options.headers,
        connections: options.connections,
        ...(options.amount === undefined ? { duration: options.durationSeconds ?? 10 } : { amount: options.amount }),
        ...(options.overallRate !== undefined && { overallRate: options.overallRate }),
        timeout: 10
      },
      (error, result) => (error ? reject(error) : resolve(result))
    )
  })
  instance?.on('response', (_client, _status, _bytes, ms) => latencies.push(ms))
  const plannedSeconds = options.amount === undefined ? (options.durationSeconds ?? 10) : options.amount / slowestRate
  const guard = setTimeout(() => instance?.stop(), (plannedSeconds + graceSeconds) * 1000)
  const result = await finished.finally(() => clearTimeout(guard))
  const seconds = (performance.now() - started) / 1000
  const server = delta(serverBefore, processCpuSeconds(options.pid))
  const machine = delta(machineBefore, machineBusySeconds())
  const clientUsage = cpuUsage(clientBefore)
  const client = (clientUsage.user + clientUsage.system) / 1e6
  const at = ranks(latencies)
  return {
    requests: latencies.length,
    seconds: round(seconds),
    requestsPerSecond: Math.round(latencies.length / seconds),
    latencyMs: { p50: round(at(50)), p99: round(at(99)), max: round(at(100)) },
    errors: result.errors,
    non2xx: result.non2xx,
    cpu: {
      server: server === null ? null : round(server / seconds, 2),
      client: round(client / seconds, 2),
      other: server === null || machine === null ? null : round(Math.max(0, machine - server - client) / seconds, 2)
    }
  }
}

function delta(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before
}
