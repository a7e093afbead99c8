import fc from 'fast-check'
import { startPostgres } from '../helpers/postgres.js'
import { startFakeCloud } from '../helpers/stack.js'
import { violations, watchableOutages } from './invariants.js'
import { runSchedule, type ChaosContext } from './runner.js'
import { scheduleArbitrary } from './schedule.js'

// Seeded schedules through fast-check: each is played for real and judged; a
// violation fails the property, so fast-check shrinks it and reports the seed
// and counterexample to replay.

export interface ChaosOptions {
  seed: number
  runs: number
  /** Stop starting schedules (or shrinking) after this long. */
  timeLimitMs: number
  /** Replays one counterexample: fast-check's path from the failure report. */
  path?: string
  totalMs?: number
  log?: (line: string) => void
}

export interface ChaosSummary {
  schedules: number
  faults: number
  restarts: number
  sqlStops: number
  patches: number
  /** Outages invariant 2 applied to (long, the API reachable, no restart). */
  outagesToAct: number
  violations: number
  maxRssMb: number
  /** fast-check's report (seed, path, shrunk counterexample, the violations) when a schedule failed. */
  failure?: string
}

export async function withChaosContext<T>(fn: (ctx: ChaosContext) => Promise<T>): Promise<T> {
  const closers: Array<() => unknown> = []
  try {
    const cloud = await startFakeCloud({ teardown: (f) => closers.push(f) }, { timings: { failoverSeconds: 0.5 } })
    const postgres = await startPostgres()
    closers.push(() => postgres.destroy())
    return await fn({ cloud, postgres })
  } finally {
    for (const close of closers.reverse()) await close()
  }
}

export async function runChaos(ctx: ChaosContext, options: ChaosOptions): Promise<ChaosSummary> {
  const summary: ChaosSummary = { schedules: 0, faults: 0, restarts: 0, sqlStops: 0, patches: 0, outagesToAct: 0, violations: 0, maxRssMb: 0 }
  const property = fc.asyncProperty(scheduleArbitrary({ totalMs: options.totalMs ?? 5000 }), async (schedule) => {
    const trace = await runSchedule(ctx, schedule)
    const found = violations(trace)
    summary.schedules += 1
    summary.faults += trace.faults.length
    summary.restarts += trace.kills.length
    summary.sqlStops += trace.sqlUp.filter((c) => !c.value).length
    summary.patches += trace.patches.length
    summary.outagesToAct += watchableOutages(trace).length
    summary.violations += found.length
    summary.maxRssMb = Math.max(summary.maxRssMb, Math.round(trace.maxRssKb / 1024))
    options.log?.(
      `schedule ${summary.schedules}: ${trace.faults.length} faults, ${trace.kills.length} restarts, ${trace.patches.length} PATCH, ${found.length} violations`
    )
    if (found.length > 0) throw new Error(found.join('\n'))
  })
  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.runs,
    interruptAfterTimeLimit: options.timeLimitMs,
    ...(options.path !== undefined && { path: options.path, endOnFailure: true })
  })
  if (details.failed) summary.failure = fc.defaultReportMessage(details)
  return summary
}
