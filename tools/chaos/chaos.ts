import fc from 'fast-check'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startGatedPostgres } from '../sql-gate.js'
import { PRIMARY, startFakeCloud } from '../stack.js'
import { busiestSecond, maxFds, violations, watchableOutages, watchableResumptions } from './invariants.js'
import { apiRateLimit, removeTempDirs, runSchedule, type ChaosContext } from './runner.js'
import { scheduleArbitrary, storms } from './schedule.js'
import { killAllSidecars } from './sidecar.js'

// Seeded schedules through fast-check: each is played for real and judged; a
// violation fails the property, so fast-check shrinks it and reports the seed
// and path to replay it with.

export interface CheckOptions {
  seed: number
  runs: number
  /** Stop starting runs (or shrinking) after this long. */
  timeLimitMs: number
  /** Replays one counterexample: fast-check's path from the failure report. */
  path?: string
  log?: (line: string) => void
}

export interface ChaosOptions extends CheckOptions {
  totalMs?: number
  /** Where to write the trace of a schedule that broke an invariant (JSON), for a closer look. */
  traceDir?: string
  /** Filled in as schedules are played, so a runner that is interrupted can still print it. */
  summary?: ChaosSummary
}

export interface ChaosSummary {
  schedules: number
  faults: number
  /** Rate-limit storms: the whole API, or several operations, refusing with Retry-After. */
  storms: number
  restarts: number
  sqlStops: number
  patches: number
  /** Outages invariant 2 applied to (long, the API reachable, no restart before the PATCH was due). */
  outagesToAct: number
  /** Times invariant 2 applied again within an outage, once the API took requests again (after a refused PATCH, or dark). */
  resumptionsToAct: number
  violations: number
  maxRssMb: number
  /** The most open file descriptors a service process had. */
  maxFds: number
  /** The most API requests a service process sent in any one second (invariant 8 bounds it). */
  maxRequestsPerSecond: number
  /** fast-check's report (seed, path, shrunk counterexample, the violations) when a schedule failed. */
  failure?: string
  /** The command that replays the failure. */
  replay?: string
}

export const emptySummary = (): ChaosSummary => ({
  schedules: 0,
  faults: 0,
  storms: 0,
  restarts: 0,
  sqlStops: 0,
  patches: 0,
  outagesToAct: 0,
  resumptionsToAct: 0,
  violations: 0,
  maxRssMb: 0,
  maxFds: 0,
  maxRequestsPerSecond: 0
})

/** The command that replays fast-check's run `path` of `seed`: what the runner prints on a failure. */
export function replayCommand(seed: number, path: string): string {
  return `npm run chaos -- --seed ${seed} --path ${path}`
}

/** The options of `npm run chaos` (scripts/chaos.ts), from its arguments; throws on a bad one. */
export function parseChaosArgs(args: string[]): { runs: number; seed: number | undefined; path: string | undefined; minutes: number } {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string', default: '30' },
      seed: { type: 'string' },
      path: { type: 'string' },
      minutes: { type: 'string', default: '60' }
    }
  })
  const whole = (name: string, v: string) => {
    if (!/^-?\d+$/.test(v)) throw new Error(`--${name} must be a whole number, not ${v}`)
    return Number(v)
  }
  if (values.path !== undefined && !/^\d+(:\d+)*$/.test(values.path)) throw new Error(`--path must look like 12:0:3, not ${values.path}`)
  return {
    runs: whole('runs', values.runs),
    seed: values.seed === undefined ? undefined : whole('seed', values.seed),
    path: values.path,
    minutes: whole('minutes', values.minutes)
  }
}

/**
 * Checks a property with fast-check the way the chaos runner does: seeded,
 * bounded in time, and on a failure the report with the seed, the path and the
 * shrunk counterexample, and the command that replays it. With `path`, only
 * that run is played (and shrunk no further).
 */
export async function checkSeeded<T>(
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  options: CheckOptions
): Promise<{ failure?: string; replay?: string; counterexample?: T }> {
  // fast-check's time limit races the run under way and returns without it: each
  // run is kept so it can finish (and stop its processes) before this returns.
  const inFlight = new Set<Promise<void>>()
  const tracked = (value: T) => {
    const run = predicate(value)
    inFlight.add(run)
    const done = () => void inFlight.delete(run)
    run.then(done, done)
    return run
  }
  const details = await fc.check(
    fc.asyncProperty(arbitrary, tracked),
    {
      seed: options.seed,
      // With a path fast-check starts at that run and would go on with the next
      // ones: a replay plays that one alone.
      numRuns: options.path === undefined ? options.runs : 1,
      interruptAfterTimeLimit: options.timeLimitMs,
      ...(options.path !== undefined && { path: options.path, endOnFailure: true })
    }
  )
  if (inFlight.size > 0) options.log?.(`time limit reached; waiting for the run under way`)
  await Promise.allSettled([...inFlight])
  if (details.interrupted) options.log?.(`time limit reached after ${details.numRuns} runs`)
  if (!details.failed || details.counterexample === null) return {}
  const replay = replayCommand(details.seed, details.counterexamplePath ?? '')
  options.log?.(`failed; replay with: ${replay}`)
  // fast-check's report names the counterexample; the predicate's error says what it broke.
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  const failure = `${fc.defaultReportMessage(details)}\nGot error: ${error}`
  return { failure, replay, counterexample: details.counterexample[0] }
}

export interface ChaosRun {
  ctx: ChaosContext
  /**
   * Stops every process the run started (service, PostgreSQL, emulator) and removes
   * its temp dirs; safe to call twice. `interrupted`: while a schedule is still
   * playing (a signal): the service processes are killed and no more are started.
   */
  close(interrupted?: boolean): Promise<{ sidecarPids: number[]; tempDirs: string[] }>
}

export async function openChaosContext(): Promise<ChaosRun> {
  const closers: Array<() => unknown> = []
  let closing: Promise<{ sidecarPids: number[]; tempDirs: string[] }> | undefined
  const close = (interrupted = false) =>
    (closing ??= (async () => {
      const sidecarPids = interrupted ? await killAllSidecars() : []
      const tempDirs = interrupted ? removeTempDirs() : []
      for (const closer of closers.reverse()) await closer()
      return { sidecarPids, tempDirs }
    })())
  try {
    const cloud = await startFakeCloud({ teardown: (f) => closers.push(f) }, { rateLimit: { perSecond: apiRateLimit }, timings: { failoverSeconds: 0.5 } })
    // The primary's SQL endpoint, gated by the emulator: it serves while the primary does.
    const postgres = await startGatedPostgres(() => cloud.emulator.state.isSqlAvailable(PRIMARY))
    closers.push(() => postgres.destroy())
    return { ctx: { cloud, postgres }, close }
  } catch (err) {
    await close()
    throw err
  }
}

export async function withChaosContext<T>(fn: (ctx: ChaosContext) => Promise<T>): Promise<T> {
  const run = await openChaosContext()
  try {
    return await fn(run.ctx)
  } finally {
    await run.close()
  }
}

export async function runChaos(ctx: ChaosContext, options: ChaosOptions): Promise<ChaosSummary> {
  const summary = options.summary ?? emptySummary()
  const result = await checkSeeded(
    scheduleArbitrary({ totalMs: options.totalMs ?? 5000 }),
    async (schedule) => {
      options.log?.(`schedule ${summary.schedules + 1}: playing`)
      const began = Date.now()
      const trace = await runSchedule(ctx, schedule)
      const found = violations(trace)
      const toAct = watchableOutages(trace).length
      const resumed = watchableResumptions(trace).length
      const stormed = storms(schedule).length
      const busiest = busiestSecond(trace)
      summary.schedules += 1
      summary.faults += trace.faults.length
      summary.storms += stormed
      summary.restarts += trace.kills.length
      summary.sqlStops += trace.sqlUp.filter((c) => !c.value).length
      summary.patches += trace.patches.length
      summary.outagesToAct += toAct
      summary.resumptionsToAct += resumed
      summary.violations += found.length
      summary.maxRssMb = Math.max(summary.maxRssMb, Math.round(trace.maxRssKb / 1024))
      summary.maxFds = Math.max(summary.maxFds, maxFds(trace))
      summary.maxRequestsPerSecond = Math.max(summary.maxRequestsPerSecond, busiest)
      options.log?.(
        `schedule ${summary.schedules}: ${trace.faults.length} faults (${stormed} storms), ${trace.kills.length} restarts, ${trace.patches.length} PATCH, ` +
          `${toAct} outages for invariant 2 (${resumed} once the API was back), ${Math.round(trace.maxRssKb / 1024)} MB, ${maxFds(trace)} fds, ${busiest} requests in the busiest second, ${found.length} violations ` +
          `(${((Date.now() - began) / 1000).toFixed(1)} s)`
      )
      for (const v of found) options.log?.(`  violation ${v}`)
      if (found.length > 0 && options.traceDir !== undefined) {
        const file = join(options.traceDir, `chaos-trace-${options.seed}-${summary.schedules}.json`)
        writeFileSync(file, JSON.stringify({ violations: found, trace }, (_, v: unknown) => (v === Infinity ? 'Infinity' : v)))
        options.log?.(`  trace written to ${file}`)
      }
      if (found.length > 0) throw new Error(found.join('\n'))
    },
    options
  )
  if (result.failure !== undefined) summary.failure = result.failure
  if (result.replay !== undefined) summary.replay = result.replay
  return summary
}
