import { busiestSecond, type LoggedRequest } from '../src/emulator/request-log.js'
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
    peakPerSecond: busiestSecond(requests),
    limitPerSecond,
    rateLimited: requests.filter((r) => r.status === 429).length
  }
}
