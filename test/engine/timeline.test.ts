import t from 'tap'
import fc from 'fast-check'
import { advance, initialTimeline, nextCheckIn, type TimelineState, type TimelineStep } from '../../src/engine/timeline.js'
import type { Verdict } from '../../src/engine/verdict.js'

const policy = { threshold: 3, intervalMs: 30_000, delayMs: 60_000, maxGapMs: 90_000 }

// Feeds verdicts one interval apart, starting at 0, and returns the steps.
function run(verdicts: Verdict[], p = policy, start: TimelineState = initialTimeline) {
  let state = start
  const steps: Array<TimelineStep['kind'] | null> = []
  verdicts.forEach((v, i) => {
    const r = advance(state, v, i * p.intervalMs, p)
    state = r.state
    steps.push(r.step?.kind ?? null)
  })
  return { state, steps }
}

t.test('the Python tool timeline: 3 failures, 60 s delay, double-check', async (t) => {
  // T+0:00 healthy; failures at 0:30, 1:00, 1:30 (threshold); 2:00 inside the delay; 2:30 is the double-check.
  const { state, steps } = run(['healthy', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy'])
  t.same(steps, [null, 'failure_counted', 'failure_counted', 'threshold_reached', 'failure_counted', 'confirmed'])
  t.match(state, { phase: 'confirmed', failures: 5, since: 30_000, confirmedAt: 150_000 })
})

t.test('the double-check falls exactly when the delay ends', async (t) => {
  let s = run(['unhealthy', 'unhealthy', 'unhealthy']).state
  t.match(s, { phase: 'delay', delayEndsAt: 60_000 + 60_000 })
  t.equal(nextCheckIn(s, 60_000, policy), 30_000)
  t.equal(nextCheckIn(s, 100_000, policy), 20_000, 'shortened to the end of the delay')
  t.equal(nextCheckIn(s, 130_000, policy), 0, 'a double-check that is late is due at once')
  t.equal(nextCheckIn(initialTimeline, 0, policy), 30_000)
  s = advance(s, 'unhealthy', 119_999, policy).state
  t.equal(s.phase, 'delay', 'one millisecond early is not the double-check')
  t.equal(advance(s, 'unhealthy', 120_000, policy).state.phase, 'confirmed')
})

t.test('a healthy check at any point resets', async (t) => {
  for (const prefix of [['unhealthy'], ['unhealthy', 'unhealthy', 'unhealthy'], ['unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy']] as Verdict[][]) {
    const { state, steps } = run([...prefix, 'healthy'])
    t.same(state, initialTimeline, `after ${prefix.length} failures`)
    t.equal(steps.at(-1), 'recovered')
  }
  const r = advance({ phase: 'delay', failures: 4, since: 0, lastAt: 0, delayEndsAt: 10, inconclusive: false }, 'healthy', 5, policy)
  t.same(r.step, { kind: 'recovered', from: 'delay', failures: 4 })
  t.same(advance(initialTimeline, 'healthy', 0, policy), { state: initialTimeline }, 'healthy while normal: nothing to say')
})

t.test('flapping below the threshold never confirms', async (t) => {
  const { state, steps } = run(['unhealthy', 'unhealthy', 'healthy', 'unhealthy', 'unhealthy', 'healthy', 'unhealthy', 'unhealthy'])
  t.equal(state.phase, 'suspect')
  t.notOk(steps.includes('threshold_reached'))
  t.notOk(steps.includes('confirmed'))
})

t.test('unknown neither counts nor resets', async (t) => {
  const { state, steps } = run(['unhealthy', 'unknown', 'unknown', 'unhealthy', 'unknown', 'unhealthy'])
  t.same(steps, ['failure_counted', null, null, 'failure_counted', null, 'threshold_reached'])
  t.match(state, { phase: 'delay', failures: 3, since: 0 })
  const allUnknown = run(Array<Verdict>(50).fill('unknown'))
  t.same(allUnknown.state, initialTimeline, 'an API outage alone never moves the timeline')
})

t.test('an unknown double-check is inconclusive and the next check decides', async (t) => {
  let s = run(['unhealthy', 'unhealthy', 'unhealthy']).state
  const inside = advance(s, 'unknown', 90_000, policy)
  t.equal(inside.step, undefined, 'unknown inside the delay says nothing')
  const r = advance(s, 'unknown', 120_000, policy)
  t.same(r.step, { kind: 'double_check_inconclusive' })
  t.same(r.state, { ...s, inconclusive: true }, 'the count is unchanged')
  s = r.state
  t.equal(advance(s, 'unknown', 150_000, policy).step, undefined, 'said once per delay, not at every unreadable check')
  t.equal(nextCheckIn(s, 120_000, policy), 30_000, 'tried again at the interval, never at once')
  t.equal(advance(s, 'unhealthy', 150_000, policy).state.phase, 'confirmed')
  t.equal(advance(s, 'healthy', 150_000, policy).state.phase, 'normal')
})

t.test('failures further apart than the longest gap between checks start the count again', async (t) => {
  const s = run(['unhealthy', 'unhealthy']).state
  t.match(s, { phase: 'suspect', failures: 2, lastAt: 30_000 })
  const onTime = advance(s, 'unhealthy', 30_000 + policy.maxGapMs, policy)
  t.equal(onTime.step?.kind, 'threshold_reached', 'a gap of exactly 2 × interval + timeout still counts')
  const late = advance(s, 'unhealthy', 30_001 + policy.maxGapMs, policy)
  t.same(late.expired, { failures: 2, gapMs: policy.maxGapMs + 1 })
  t.same(late.state, { phase: 'suspect', failures: 1, since: 30_001 + policy.maxGapMs, lastAt: 30_001 + policy.maxGapMs })
  t.same(late.step, { kind: 'failure_counted', failures: 1 })
  const confirmed: TimelineState = { phase: 'confirmed', failures: 5, since: 0, lastAt: 100, confirmedAt: 100 }
  t.equal(advance(confirmed, 'unhealthy', 100 + policy.maxGapMs + 1, policy).state.phase, 'suspect', 'a confirmation expires too')
})

t.test('confirmed stays confirmed while down, and counts', async (t) => {
  const s: TimelineState = { phase: 'confirmed', failures: 5, since: 0, lastAt: 100, confirmedAt: 100 }
  const r = advance(s, 'unhealthy', 200, policy)
  t.same(r.state, { ...s, failures: 6, lastAt: 200 })
  t.same(r.step, { kind: 'confirmed', failures: 6, since: 0 })
  t.same(advance(s, 'unknown', 300, policy), { state: s })
  t.equal(advance(s, 'healthy', 300, policy).state.phase, 'normal')
})

t.test('threshold 1 and delay 0', async (t) => {
  const p = { threshold: 1, intervalMs: 1000, delayMs: 0, maxGapMs: 3000 }
  const first = advance(initialTimeline, 'unhealthy', 0, p)
  t.same(first.step, { kind: 'threshold_reached', failures: 1, delayEndsAt: 0 })
  t.equal(nextCheckIn(first.state, 0, p), 0, 'the double-check follows at once')
  t.equal(advance(first.state, 'unhealthy', 0, p).state.phase, 'confirmed', 'still a second, confirming check')
})

t.test('suspect mode: after a failed check the next ones come at SUSPECT_CHECK_INTERVAL until a healthy check', async (t) => {
  const p = { ...policy, suspectIntervalMs: 5_000 }
  t.equal(nextCheckIn(initialTimeline, 0, p), 30_000, 'a healthy pair is checked at the interval')
  let s = advance(initialTimeline, 'unhealthy', 0, p).state
  t.equal(nextCheckIn(s, 0, p), 5_000, 'a first failure brings the next check closer')
  s = advance(s, 'unhealthy', 5_000, p).state
  s = advance(s, 'unhealthy', 10_000, p).state
  t.match(s, { phase: 'delay', delayEndsAt: 70_000 }, 'the threshold is met two suspect intervals after the first failure')
  t.equal(nextCheckIn(s, 10_000, p), 5_000, 'checks go on at the suspect interval during the delay')
  t.equal(nextCheckIn(s, 67_000, p), 3_000, 'and the double-check still falls when the delay ends')
  t.equal(advance(s, 'unhealthy', 70_000, p).state.phase, 'confirmed', 'confirmed 70 s after the first failure, not 120 s')
  const recovered = advance(s, 'healthy', 15_000, p).state
  t.equal(nextCheckIn(recovered, 15_000, p), 30_000, 'a healthy check goes back to the interval')
  const inconclusive = advance(advance(s, 'unhealthy', 70_000, { ...p, threshold: 99 }).state, 'unknown', 70_000, p).state
  t.equal(nextCheckIn(inconclusive, 70_000, p), 5_000)
})

t.test('suspect mode never meets the threshold later than the plain timeline, and never sooner than its own policy allows', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 60 }).map((s) => s * 1000),
      fc.integer({ min: 0, max: 120 }).map((s) => s * 1000),
      fc.integer({ min: 1, max: 60 }).map((s) => s * 1000),
      (threshold, intervalMs, delayMs, suspect) => {
        const base = { threshold, intervalMs, delayMs, maxGapMs: 2 * intervalMs + 1000 }
        const confirmedAt = (p: typeof base & { suspectIntervalMs?: number }) => {
          let s: TimelineState = initialTimeline
          let at = 0
          for (let i = 0; i < 1000; i++) {
            s = advance(s, 'unhealthy', at, p).state
            if (s.phase === 'confirmed') return at
            at += nextCheckIn(s, at, p)
          }
          throw new Error('never confirmed')
        }
        const suspectIntervalMs = Math.min(suspect, intervalMs)
        const plain = confirmedAt(base)
        const sooner = confirmedAt({ ...base, suspectIntervalMs })
        return sooner <= plain && sooner >= (threshold - 1) * suspectIntervalMs + delayMs && plain === confirmedAt({ ...base, suspectIntervalMs: intervalMs })
      }
    )
  )
  t.pass()
})
