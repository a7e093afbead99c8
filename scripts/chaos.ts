import { emptySummary, openChaosContext, parseChaosArgs, runChaos } from '../tools/chaos/chaos.js'

// npm run chaos -- --runs N [--seed S] [--path P] [--minutes M]
// (CHAOS_TRACES=dir: write the trace of a schedule that breaks an invariant there.)
// Plays N seeded chaos schedules and prints a summary; exits 1 on a violation,
// after printing fast-check's seed, path and shrunk counterexample, and the
// command that replays it (--seed S --path P). On SIGINT or SIGTERM it stops the
// processes it started and removes its temp dirs, prints the partial summary and
// exits 130 (SIGINT) or 143 (SIGTERM).

let options: ReturnType<typeof parseChaosArgs>
try {
  options = parseChaosArgs(process.argv.slice(2))
} catch (err) {
  process.stderr.write(`chaos: ${(err as Error).message}\n`)
  process.exit(2)
}
const print = (line: string) => process.stdout.write(line + '\n')
const seed = options.seed ?? Date.now() % 2 ** 31
const summary = emptySummary()
print(`chaos: ${options.runs} schedules, seed ${seed}${options.path === undefined ? '' : `, replaying path ${options.path}`}`)

const opening = openChaosContext()
let interrupted = false

async function stop(signal: NodeJS.Signals): Promise<void> {
  if (interrupted) return
  interrupted = true
  print(`chaos: ${signal}, stopping`)
  // The schedule being played fails in all sorts of ways once its processes are
  // gone; none of that matters any more.
  process.on('unhandledRejection', () => undefined)
  setTimeout(() => {
    print('chaos: cleanup took more than 15 s, exiting anyway')
    process.exit(1)
  }, 15_000)
  try {
    const run = await opening
    const { sidecarPids, tempDirs } = await run.close(true)
    print(`chaos: killed service processes [${sidecarPids.join(', ')}], removed ${tempDirs.length} service dirs, stopped PostgreSQL and the emulator`)
  } catch (err) {
    print(`chaos: cleanup failed: ${(err as Error).message}`)
  }
  print(`summary: ${JSON.stringify({ seed, interrupted: signal, ...summary })}`)
  process.exit(signal === 'SIGINT' ? 130 : 143)
}
process.on('SIGINT', (s) => void stop(s))
process.on('SIGTERM', (s) => void stop(s))

const run = await opening
try {
  await runChaos(run.ctx, {
    seed,
    runs: options.runs,
    timeLimitMs: options.minutes * 60_000,
    summary,
    ...(process.env.CHAOS_TRACES !== undefined && { traceDir: process.env.CHAOS_TRACES }),
    ...(options.path !== undefined && { path: options.path }),
    log: (line) => {
      if (!interrupted) print(line)
    }
  })
} catch (err) {
  if (!interrupted) throw err
}
if (interrupted) await new Promise(() => undefined)
await run.close()
const { failure, replay, ...figures } = summary
print(`summary: ${JSON.stringify({ seed, ...figures })}`)
if (failure !== undefined) {
  print(failure)
  print(`replay: ${replay}`)
  process.exitCode = 1
}
