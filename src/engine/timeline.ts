import type { Verdict } from './verdict.js'

// The Python tool's timeline, kept: FAILURE_THRESHOLD consecutive unhealthy
// checks, then FAILOVER_DELAY, then one more check (the double-check); a healthy
// check at any point resets. Checks go on at the interval during the delay, so a
// recovery is seen as soon as it happens, and the double-check falls exactly when
// the delay ends. Unknown verdicts neither count nor reset.

export interface TimelinePolicy {
  threshold: number
  intervalMs: number
  delayMs: number
}

export type TimelineState =
  | { phase: 'normal' }
  | { phase: 'suspect'; failures: number; since: number }
  | { phase: 'delay'; failures: number; since: number; delayEndsAt: number }
  | { phase: 'confirmed'; failures: number; since: number; confirmedAt: number }

export type TimelineStep =
  | { kind: 'failure_counted'; failures: number }
  | { kind: 'threshold_reached'; failures: number; delayEndsAt: number }
  | { kind: 'double_check_inconclusive' }
  | { kind: 'confirmed'; failures: number; since: number }
  | { kind: 'recovered'; from: TimelineState['phase']; failures: number }

export const initialTimeline: TimelineState = { phase: 'normal' }

export function advance(
  state: TimelineState,
  verdict: Verdict,
  at: number,
  policy: TimelinePolicy
): { state: TimelineState; step?: TimelineStep } {
  if (verdict === 'healthy') {
    if (state.phase === 'normal') return { state }
    return { state: initialTimeline, step: { kind: 'recovered', from: state.phase, failures: state.failures } }
  }
  if (verdict === 'unknown') {
    if (state.phase === 'delay' && at >= state.delayEndsAt) return { state, step: { kind: 'double_check_inconclusive' } }
    return { state }
  }
  switch (state.phase) {
    case 'normal':
    case 'suspect': {
      const failures = state.phase === 'normal' ? 1 : state.failures + 1
      const since = state.phase === 'normal' ? at : state.since
      if (failures < policy.threshold) {
        return { state: { phase: 'suspect', failures, since }, step: { kind: 'failure_counted', failures } }
      }
      const delayEndsAt = at + policy.delayMs
      return {
        state: { phase: 'delay', failures, since, delayEndsAt },
        step: { kind: 'threshold_reached', failures, delayEndsAt }
      }
    }
    case 'delay': {
      const failures = state.failures + 1
      if (at < state.delayEndsAt) {
        return { state: { ...state, failures }, step: { kind: 'failure_counted', failures } }
      }
      return {
        state: { phase: 'confirmed', failures, since: state.since, confirmedAt: at },
        step: { kind: 'confirmed', failures, since: state.since }
      }
    }
    case 'confirmed':
      // Still down: the engine may retry a blocked failover, the count goes on.
      return {
        state: { ...state, failures: state.failures + 1 },
        step: { kind: 'confirmed', failures: state.failures + 1, since: state.since }
      }
  }
}

// How long until the next check: the interval, but never past the end of the delay.
export function nextCheckIn(state: TimelineState, now: number, policy: TimelinePolicy): number {
  if (state.phase === 'delay') return Math.max(0, Math.min(policy.intervalMs, state.delayEndsAt - now))
  return policy.intervalMs
}
