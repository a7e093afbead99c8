import { parseArgs } from 'node:util'
import { runChaos, withChaosContext } from '../test/chaos-lib/chaos.js'

// npm run chaos -- --runs N [--seed S] [--path P] [--minutes M]
// Plays N seeded chaos schedules and prints a summary; exits 1 on a violation,
// after printing fast-check's seed and shrunk counterexample.

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    seed: { type: 'string' },
    path: { type: 'string' },
    minutes: { type: 'string', default: '60' }
  }
})
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed)
const runs = Number(values.runs)
process.stdout.write(`chaos: ${runs} schedules, seed ${seed}\n`)
const summary = await withChaosContext((ctx) =>
  runChaos(ctx, {
    seed,
    runs,
    timeLimitMs: Number(values.minutes) * 60_000,
    ...(values.path !== undefined && { path: values.path }),
    log: (line) => process.stdout.write(line + '\n')
  })
)
const { failure, ...figures } = summary
process.stdout.write(`summary: ${JSON.stringify({ seed, ...figures })}\n`)
if (failure !== undefined) {
  process.stdout.write(failure + '\n')
  process.exitCode = 1
}
