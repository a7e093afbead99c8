import type { Verdict } from './verdict.js'

// The Python tool's timeline, kept: FAILURE_THRESHOLD consecutive unhealthy
// checks, then FAILOVER_DELAY, then one more check (the double-check); a healthy
// check at any point resets. Checks go on at the interval during the delay, so a
// recovery is seen as soon as it happens, and the double-check falls exactly when
// the delay ends. Unknown verdicts neither count nor reset. "Consecutive" is
// consecutive in time: a failure more than maxGapMs after the previous one starts
// the count again, so old evidence never completes a new count.

export interface TimelinePolicy {
  threshold: number
  intervalMs: number
  // SUSPECT_CHECK_INTERVAL: the interval from a failed check until a healthy one (the
  // interval unless told), so that the same threshold and double-check are met sooner.
  suspectIntervalMs?: number
  delayMs: number
  // 2 × interval + timeout: the longest gap between two readable checks in a row.
  maxGapMs: number
}

export type TimelineState =
  | { phase: 'normal' }
  | { phase: 'suspect'; failures: number; since: number; lastAt: number }
  | { phase: 'delay'; failures: number; since: number; lastAt: number; delayEndsAt: number; inconclusive: boolean }
  | { phase: 'confirmed'; failures: number; since: number; lastAt: number; confirmedAt: number }

export type TimelineStep =
  | { kind: 'failure_counted'; failures: number }
  | { kind: 'threshold_reached'; failures: number; delayEndsAt: number }
  | { kind: 'double_check_inconclusive' }
  | { kind: 'confirmed'; failures: number; since: number }
  | { kind: 'recovered'; from: TimelineState['phase']; failures: number }

export interface Advance {
  state: TimelineState
  step?: TimelineStep
  // The count that was dropped because its last failure was too long ago.
  expired?: { failures: number; gapMs: number }
}

export const initialTimeline: TimelineState = { phase: 'normal' }

export function maxGapMs(intervalMs: number, timeoutMs: number): number {
  return 2 * intervalMs + timeoutMs
}

function countFrom(failures: number, since: number, at: number, policy: TimelinePolicy): Omit<Advance, 'expired'> {
  if (failures < policy.threshold) {
    return { state: { phase: 'suspect', failures, since, lastAt: at }, step: { kind: 'failure_counted', failures } }
  }
  const delayEndsAt = at + policy.delayMs
  return {
    state: { phase: 'delay', failures, since, lastAt: at, delayEndsAt, inconclusive: false },
    step: { kind: 'threshold_reached', failures, delayEndsAt }
  }
}

export function advance(state: TimelineState, verdict: Verdict, at: number, policy: TimelinePolicy): Advance {
  if (verdict === 'healthy') {
    if (state.phase === 'normal') return { state }
    return { state: initialTimeline, step: { kind: 'recovered', from: state.phase, failures: state.failures } }
  }
  if (verdict === 'unknown') {
    // Said once per delay: an unreadable double-check is retried at the interval.
    if (state.phase === 'delay' && at >= state.delayEndsAt && !state.inconclusive) {
      return { state: { ...state, inconclusive: true }, step: { kind: 'double_check_inconclusive' } }
    }
    return { state }
  }
  if (state.phase !== 'normal' && at - state.lastAt > policy.maxGapMs) {
    return { ...countFrom(1, at, at, policy), expired: { failures: state.failures, gapMs: at - state.lastAt } }
  }
  switch (state.phase) {
    case 'normal':
      return countFrom(1, at, at, policy)
    case 'suspect':
      return countFrom(state.failures + 1, state.since, at, policy)
    case 'delay': {
      const failures = state.failures + 1
      if (at < state.delayEndsAt) {
        return { state: { ...state, failures, lastAt: at }, step: { kind: 'failure_counted', failures } }
      }
      return {
        state: { phase: 'confirmed', failures, since: state.since, lastAt: at, confirmedAt: at },
        step: { kind: 'confirmed', failures, since: state.since }
      }
    }
    case 'confirmed':
      // Still down: a blocked or refused failover is tried again, the count goes on.
      return {
        state: { ...state, failures: state.failures + 1, lastAt: at },
        step: { kind: 'confirmed', failures: state.failures + 1, since: state.since }
      }
  }
}

// How long until the next check: the interval, except that the double-check falls
// when the delay ends. An unreadable double-check is tried again at the interval.
export function nextCheckIn(state: TimelineState, now: number, policy: TimelinePolicy): number {
  if (state.phase === 'normal') return policy.intervalMs
  const interval = policy.suspectIntervalMs ?? policy.intervalMs
  if (state.phase === 'delay' && !state.inconclusive) return Math.max(0, Math.min(interval, state.delayEndsAt - now))
  return interval
}
