import { advance, type Interval } from './availability.js'

// The replication frontier of a stream, integrated over the intervals in which
// both clusters serve: ingestion runs on the standby and reads from the
// primary, so it needs both. All times are milliseconds, and may be fractional.

export interface ReplicationTimings {
  /** STARTING: network setup, counted while both clusters are up. */
  startingMs: number
  /** The initial scan, a full copy, counted while both clusters are up. */
  initialScanMs: number
  /** How far the frontier trails the clock once caught up. */
  lagMs: number
  /** Milliseconds of data replicated per millisecond while catching up. */
  catchUpRate: number
  /** The frontier is published at checkpoints this far apart (0: continuously). */
  stepMs: number
  /** How far back retained_time reaches. */
  retentionMs: number
}

export interface Frontier {
  /** When STARTING ends and the initial scan begins; Infinity while not yet. */
  replicatingSince: number
  /** When the initial scan ends and replicated_time first shows; Infinity while not yet. */
  scanEnd: number
  /** The frontier at t ≥ scanEnd. */
  at(t: number): number
  /** The first moment from `from` on at which the frontier has reached `target`; Infinity when not in the history. */
  reaches(target: number, from: number): number
  /** replicated_time at t ≥ scanEnd: the frontier at the last checkpoint. */
  published(t: number): number
  /** retained_time at t ≥ scanEnd: back to the retention, never before the first replicated time nor after replicated_time. */
  retained(t: number): number
}

/** The frontier of a stream created at `createdAt`, given when both of its clusters were up. */
export function frontier(bothUp: Interval[], createdAt: number, timings: ReplicationTimings): Frontier {
  const { lagMs, catchUpRate, stepMs } = timings
  const replicatingSince = advance(bothUp, createdAt, timings.startingMs)
  const scanEnd = advance(bothUp, replicatingSince, timings.initialScanMs)
  // The scan copies the data as of its start; a scan shorter than the lag
  // still cannot be ahead of now − lag.
  const first = Math.min(replicatingSince, scanEnd - lagMs)
  // Only the up intervals after the scan move the frontier, each from its
  // start, where the frontier is at most start − lag: it gains `catchUpRate`
  // per millisecond until it trails the clock by the lag, then keeps pace.
  const segments = bothUp
    .filter(({ end }) => end > scanEnd)
    .map(({ start, end }) => ({ start: Math.max(start, scanEnd), end }))
  const grow = (f: number, from: number, to: number) => Math.min(to - lagMs, f + catchUpRate * (to - from))

  function at(t: number): number {
    let f = first
    for (const { start, end } of segments) {
      if (start >= t) break
      f = grow(f, start, Math.min(end, t))
    }
    return f
  }

  function reaches(target: number, from: number): number {
    if (at(from) >= target) return from
    let f = first
    for (const { start, end } of segments) {
      if (end <= from) {
        f = grow(f, start, end)
        continue
      }
      const begin = Math.max(start, from)
      f = grow(f, start, begin)
      const reached = Math.max(target + lagMs, begin + (target - f) / catchUpRate)
      if (reached <= end) return reached
      f = grow(f, begin, end)
    }
    return Infinity
  }

  function published(t: number): number {
    return at(stepMs > 0 ? scanEnd + Math.floor((t - scanEnd) / stepMs) * stepMs : t)
  }

  function retained(t: number): number {
    return Math.min(Math.max(first, t - timings.retentionMs), published(t))
  }

  return { replicatingSince, scanEnd, at, reaches, published, retained }
}
