import t from 'tap'
import { maxGapMs } from '../../src/engine/timeline.js'
import { play, type Script } from './model/play.js'
import { modelPolicy } from './model/world.js'

// A failure seen is not proof the primary stayed down. An operator asks for a failover
// while the primary is down; the attempt's reads are slow, the primary comes back and
// writes for seconds before the PATCH goes out, and no check sees it. The data-loss
// upper bound must cover those writes (found by core-model.test.ts, seed 533172181).

const policy = modelPolicy({ threshold: 1, intervalMs: 500, delayMs: 0, timeoutMs: 203, autoFailover: true, maxDataLossSeconds: undefined })

const script: Script = {
  primary: [
    { down: false, ms: 3151 },
    { down: true, ms: 1620 },
    { down: false, ms: 14_982 }
  ],
  lagMs: 2185,
  failoverMs: 2776,
  patches: [],
  latencies: [1853, 1378, 141, 62],
  dark: [],
  listings: [],
  operator: [{ at: 3516, kind: 'failover' }],
  horizonMs: 19_753
}

t.test('a primary back during a slow manual attempt: the bound covers what it wrote since', async (t) => {
  const trace = play(script, policy)
  const [patch] = trace.patches
  t.ok(patch !== undefined, 'the failover is sent')
  t.ok(trace.world.primaryDown(3516) && !trace.world.primaryDown(patch?.at ?? 0), 'down when asked, back when sent')
  const precision = maxGapMs(policy.intervalMs, policy.timeoutMs) / 1000
  t.ok(patch?.planBound != null && patch.planBound + precision >= patch.lostSeconds, `upper bound ${patch?.planBound} s, lost ${patch?.lostSeconds} s`)
})

// The same outage: the primary is back 0.3 s before the PATCH leaves, and the PATCH takes
// 1.9 s to arrive. The bound given when it left cannot know that; the answer's bound adds
// the time in flight (seed 987781075).
t.test('a PATCH slow to arrive: the bound in its answer adds the time it was in flight', async (t) => {
  const slow: Script = {
    primary: [
      { down: true, ms: 3080 },
      { down: false, ms: 12_931 }
    ],
    lagMs: 2927,
    failoverMs: 6,
    patches: [],
    latencies: [1915, 44, 98, 117, 45],
    dark: [],
    listings: [],
    operator: [{ at: 3191, kind: 'failover' }],
    horizonMs: 16_011
  }
  const trace = play(slow, { ...policy, delayMs: 500, timeoutMs: 142 })
  const [patch] = trace.patches
  t.equal(patch?.answer, 'applied')
  t.ok(patch !== undefined && patch.flightSeconds > 1, `in flight ${patch?.flightSeconds} s`)
  t.ok(patch?.planBound != null && patch.planBound < patch.lostSeconds, `as sent: ${patch?.planBound} s, below the ${patch?.lostSeconds} s lost`)
  t.equal(patch?.dataLossBound, ((patch?.planBound ?? 0) * 1000 + (patch?.flightSeconds ?? 0) * 1000) / 1000, 'answered: the bound plus the flight')
  t.ok(patch?.dataLossBound != null && patch.dataLossBound >= patch.lostSeconds, `answered: ${patch?.dataLossBound} s, covering the loss`)
  const patched = trace.events.find((e) => e.type === 'failover_patched')
  t.equal(patched?.data.dataLossUpperSeconds, patch?.dataLossBound, 'failover_patched says so')
})
