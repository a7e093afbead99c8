import fc from 'fast-check'
import t from 'tap'
import { checkSeeded, parseChaosArgs, replayCommand } from '../../tools/chaos/chaos.js'
import { scheduleArbitrary, type Schedule } from '../../tools/chaos/schedule.js'

// The command a failing chaos run prints replays its counterexample: the same
// checker as `npm run chaos` (checkSeeded), the same argument parsing
// (parseChaosArgs), on small in-process properties that fail on purpose.

/** The `npm run chaos -- …` command from a run's log, as scripts/chaos.ts would parse it. */
function printedReplay(lines: string[]) {
  const line = lines.find((l) => l.startsWith('failed; replay with: '))
  if (line === undefined) throw new Error(`no replay command in ${JSON.stringify(lines)}`)
  const [, args] = line.split('npm run chaos -- ')
  return parseChaosArgs(args!.split(' '))
}

t.test('the printed seed and path replay the shrunk counterexample in one run', async (t) => {
  const arbitrary = fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 20 })
  // Fails on purpose: any list whose sum passes 1500.
  const tried: number[][] = []
  const predicate = async (xs: number[]) => {
    tried.push(xs)
    if (xs.reduce((a, b) => a + b, 0) > 1500) throw new Error(`sum of ${xs.length} values over 1500`)
  }
  const lines: string[] = []
  const first = await checkSeeded(arbitrary, predicate, { seed: 20260601, runs: 200, timeLimitMs: 30_000, log: (l) => lines.push(l) })
  t.ok(first.failure?.includes('Counterexample'), 'fast-check reports the counterexample')
  t.ok(first.failure?.includes('seed: 20260601'), 'and the seed')
  const shrunk = first.counterexample!
  t.equal(shrunk.reduce((a, b) => a + b, 0), 1501, 'shrunk to the edge')
  const options = printedReplay(lines)
  t.equal(options.seed, 20260601)
  t.match(options.path, /^\d+(:\d+)+$/, 'a path through the shrinking')
  t.ok(tried.length > 1, `the first check played ${tried.length} runs`)

  tried.length = 0
  const replayed = await checkSeeded(arbitrary, predicate, {
    seed: options.seed!,
    path: options.path!,
    runs: options.runs,
    timeLimitMs: options.minutes * 60_000
  })
  t.same(tried, [shrunk], 'the replay plays the counterexample, and only it')
  t.same(replayed.counterexample, shrunk)
  t.equal(replayed.replay, first.replay, 'and prints the same command again')
})

t.test('a path replays the same chaos schedule, quiet outages and dropped bursts included', async (t) => {
  // Fails on purpose on the 7th schedule, whatever it is: no shrinking can make a
  // schedule fail, so the path names that run.
  const seen: Schedule[] = []
  const predicate = async (s: Schedule) => {
    seen.push(s)
    if (seen.length === 7) throw new Error('the seventh schedule')
  }
  const arbitrary = scheduleArbitrary({ totalMs: 5000 })
  const lines: string[] = []
  const first = await checkSeeded(arbitrary, predicate, { seed: 424242, runs: 30, timeLimitMs: 30_000, log: (l) => lines.push(l) })
  const options = printedReplay(lines)
  t.equal(options.path, '6', 'the seventh run, and no shrink step that failed')
  seen.length = 0
  const replayed = await checkSeeded(arbitrary, async (s) => {
    seen.push(s)
    throw new Error('replayed')
  }, { seed: options.seed!, path: options.path!, runs: 30, timeLimitMs: 30_000 })
  t.equal(seen.length, 1)
  t.same(seen[0], first.counterexample, 'the same schedule')
  t.same(replayed.counterexample, first.counterexample)

  // The chaos property runs on real timing, so a replayed schedule may pass: it is
  // still played alone, not followed by the next runs of the seed.
  seen.length = 0
  const passed = await checkSeeded(arbitrary, async (s) => void seen.push(s), { seed: options.seed!, path: options.path!, runs: 30, timeLimitMs: 30_000 })
  t.same(seen, [first.counterexample], 'a replay that passes plays that schedule alone')
  t.same(passed, {})
})

t.test('a run cut by the time limit is finished before the check returns', async (t) => {
  let running = 0
  let finished = 0
  const lines: string[] = []
  const result = await checkSeeded(
    fc.nat(),
    async () => {
      running += 1
      await new Promise((resolve) => setTimeout(resolve, 150))
      finished += 1
    },
    { seed: 1, runs: 100, timeLimitMs: 200, log: (l) => lines.push(l) }
  )
  t.same(result, {})
  t.ok(running >= 2 && running < 100, `${running} runs started`)
  t.equal(finished, running, 'every run started has finished')
  t.match(lines, ['time limit reached; waiting for the run under way', /^time limit reached after \d+ runs$/])
})

t.test('the command line', async (t) => {
  t.equal(replayCommand(7, '3:0:1'), 'npm run chaos -- --seed 7 --path 3:0:1')
  t.same(parseChaosArgs(['--seed', '7', '--path', '3:0:1']), { runs: 30, seed: 7, path: '3:0:1', minutes: 60 })
  t.same(parseChaosArgs(['--runs=5', '--minutes', '2']), { runs: 5, seed: undefined, path: undefined, minutes: 2 })
  t.throws(() => parseChaosArgs(['--path', 'x']), /--path/)
  t.throws(() => parseChaosArgs(['--runs', 'many']), /--runs/)
  t.throws(() => parseChaosArgs(['--bogus']))
})
