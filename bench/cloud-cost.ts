import type { LoggedRequest } from '../src/emulator/request-log.js'
import type { CloudCost } from './results-schema.js'
import { round } from './stats.js'

// What the monitor costs in Cloud API requests, read from the emulator's request
// log of a service that ran at the given interval. Every check starts with one
// listStreams, so those count the checks.

// The Cloud API's own limit (and the emulator's default).
export const limitPerSecond = 10

export function cloudCost(requests: readonly LoggedRequest[], intervalSeconds: number, observedSeconds: number): CloudCost {
  const byOperation: Record<string, number> = {}
  for (const r of requests) byOperation[r.operation ?? 'unknown'] = (byOperation[r.operation ?? 'unknown'] ?? 0) + 1
  const checks = byOperation.listStreams ?? 0
  if (checks === 0) throw new Error('the service ran no check while it was observed')
  const perCheck = requests.length / checks
  return {
    intervalSeconds,
    observedSeconds: round(observedSeconds, 1),
    checks,
    requests: requests.length,
    byOperation,
    perCheck: round(perCheck, 2),
    perHour: Math.round((perCheck * 3600) / intervalSeconds),
    peakPerSecond: peakPerSecond(requests.map((r) => Date.parse(r.at))),
    limitPerSecond,
    rateLimited: requests.filter((r) => r.status === 429).length
  }
}

/** The most requests in any one-second window. */
export function peakPerSecond(times: number[]): number {
  times.sort((a, b) => a - b)
  let peak = 0
  let first = 0
  for (let last = 0; last < times.length; last++) {
    while ((times[last] as number) - (times[first] as number) >= 1000) first++
    peak = Math.max(peak, last - first + 1)
  }
  return peak
}
