import { otherClusterRefreshMs } from './core/check.js'

// What the monitor asks of the Cloud API in steady state, for the warning at start and
// the README's figures (bench/ measures the same against the emulator).

// One check: the stream listing (its first page), the watched cluster and its nodes.
export const requestsPerCheck = 3

// The other cluster and its nodes are read again every 30 s, or every check if slower.
export function steadyRequestsPerSecond(intervalSeconds: number): number {
  return requestsPerCheck / intervalSeconds + 2 / Math.max(intervalSeconds, otherClusterRefreshMs / 1000)
}
