// Summaries of measured samples. Percentiles are nearest-rank: always a value
// that was actually measured.

export interface Spread {
  median: number
  p95: number
  max: number
}

/** The samples sorted once; the function answers any percentile of them. */
export function ranks(values: ArrayLike<number>): (p: number) => number {
  const sorted = Float64Array.from(values).sort()
  if (sorted.length === 0) throw new Error('no samples to summarize')
  return (p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number
}

export function spread(values: ArrayLike<number>): Spread {
  const at = ranks(values)
  return { median: at(50), p95: at(95), max: at(100) }
}

/** Rounded for the JSON: three decimals are far below the noise of every figure here. */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals
  return Math.round(value * factor) / factor
}
