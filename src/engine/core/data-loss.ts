import type { DataLossRange } from './types.js'

// What a failover would lose: the primary's writes after the cut (failover_at, or the
// replicated time the stream fails over to). When the primary stopped writing is only
// known to a check: after the last check that saw it healthy (lower bound) and before
// the first that saw it unhealthy, plus the time since one last saw it down, or now while
// it is not seen down (upper bound).
// The precision is therefore about one check interval; the guard uses the upper bound.
export function dataLossRange(input: { cutAt: number | undefined; lastHealthyAt: number | undefined; endAt: number }): DataLossRange | undefined {
  const { cutAt, lastHealthyAt, endAt } = input
  if (cutAt === undefined) return undefined
  const lowerSeconds = lastHealthyAt === undefined ? 0 : Math.max(0, lastHealthyAt - cutAt) / 1000
  const upperSeconds = Math.max(lowerSeconds, (endAt - cutAt) / 1000)
  return { lowerSeconds, upperSeconds }
}
