import t from 'tap'
import type { CorePolicy } from '../../src/engine/core/types.js'
import { maxGapMs } from '../../src/engine/timeline.js'
import { play, type Script } from './model/play.js'
import { A, B } from './model/world.js'

// A failure seen is not proof the primary stayed down. An operator asks for a failover
// while the primary is down; the attempt's reads are slow, the primary comes back and
// writes for seconds before the PATCH goes out, and no check sees it. The data-loss
// upper bound must cover those writes (found by core-model.test.ts, seed 533172181).

const policy: CorePolicy = {
  pair: { primaryClusterId: A, standbyClusterId: B },
  threshold: 1,
  intervalMs: 500,
  delayMs: 0,
  timeoutMs: 203,
  autoFailover: true,
  maxDataLossSeconds: undefined,
  failoverTimeoutMs: 600_000,
  activationTimeoutMs: 60_000,
  stateMaxAgeMs: 3_600_000,
  evidence: 'both',
  probed: [],
  sql: {}
}

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
  t.ok(patch?.dataLossBound != null && patch.dataLossBound + precision >= patch.lostSeconds, `upper bound ${patch?.dataLossBound} s, lost ${patch?.lostSeconds} s`)
})
