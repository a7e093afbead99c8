import t from 'tap'
import { runChaos, withChaosContext } from '../chaos-lib/chaos.js'

// A fixed seed and a few schedules, bounded in time; `npm run chaos -- --runs N`
// plays more. A failure prints fast-check's seed and shrunk counterexample.

t.setTimeout(240_000)

t.test('seeded chaos schedules keep the six invariants', async (t) => {
  const summary = await withChaosContext((ctx) =>
    runChaos(ctx, { seed: 20260601, runs: 8, timeLimitMs: 110_000, log: (line) => t.comment(line) })
  )
  t.comment(JSON.stringify({ ...summary, failure: undefined }))
  t.equal(summary.failure, undefined, summary.failure ?? "no failing schedule")
  t.ok(summary.schedules >= 1, 'schedules were played')
  t.equal(summary.violations, 0)
})
