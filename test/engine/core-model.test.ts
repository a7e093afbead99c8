import fc from 'fast-check'
import t from 'tap'
import type { CorePolicy } from '../../src/engine/core/types.js'
import { maxGapMs } from '../../src/engine/timeline.js'
import { play, type Patch, type Script, type Trace } from './model/play.js'
import { A, B, modelPolicy, type PatchAnswer } from './model/world.js'

// Model-based tests of the decision core: generated worlds (a primary going up and
// down, a dark or inconsistent Cloud API, refused PATCHes, restarts with and without
// a state file, operator requests) played on a fake clock, and the promises of a
// failover tool checked against what an outside observer saw.

const runs = Number(process.env.MODEL_RUNS ?? 10_000)
// CI plays the same sequences every time; MODEL_SEED=<any number> explores new ones
// (docs/reliability.md).
const seed = Number(process.env.MODEL_SEED ?? 20261205)

const policyArb = fc
  .record({
    intervalMs: fc.constantFrom(500, 1000, 1500),
    // SUSPECT_CHECK_INTERVAL: mostly unset (the interval), sometimes a fraction of it.
    suspectFraction: fc.constantFrom(1, 1, 0.5, 0.25),
    timeoutFraction: fc.double({ min: 0.1, max: 1, noNaN: true }),
    threshold: fc.integer({ min: 1, max: 4 }),
    delayMs: fc.constantFrom(0, 500, 1000, 3000),
    maxDataLossSeconds: fc.option(fc.constantFrom(1, 5), { nil: undefined, freq: 2 }),
    autoFailover: fc.constantFrom(true, true, true, false)
  })
  .map(
    (p): CorePolicy =>
      modelPolicy({
        threshold: p.threshold,
        intervalMs: p.intervalMs,
        suspectIntervalMs: p.intervalMs * p.suspectFraction,
        delayMs: p.delayMs,
        timeoutMs: Math.round(p.intervalMs * p.timeoutFraction),
        autoFailover: p.autoFailover,
        maxDataLossSeconds: p.maxDataLossSeconds
      })
  )

const window = (horizon: number) => fc.record({ at: fc.integer({ min: 0, max: horizon }), ms: fc.integer({ min: 100, max: 10_000 }) })
const patchAnswer = fc.constantFrom<PatchAnswer>('applied', 'rate_limited', 'refused', 'unclear_applied', 'unclear_not_applied', 'error_read_back_replicating')

function scriptArb(operatorKinds: Script['operator'][number]['kind'][], answers = patchAnswer): fc.Arbitrary<Script> {
  return fc
    .record({
      primary: fc.array(fc.record({ down: fc.boolean(), ms: fc.integer({ min: 200, max: 15_000 }) }), { minLength: 1, maxLength: 6 }),
      lagMs: fc.integer({ min: 0, max: 3000 }),
      failoverMs: fc.integer({ min: 0, max: 3000 }),
      patches: fc.array(answers, { maxLength: 4 }),
      // Mostly quick answers, some slow enough to miss a check's deadline.
      latencies: fc.array(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 150 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2000 }) }), { minLength: 1, maxLength: 5 })
    })
    .chain((base) => {
      const horizonMs = base.primary.reduce((sum, s) => sum + s.ms, 0)
      return fc.record({
        dark: fc.array(window(horizonMs), { maxLength: 3 }),
        listings: fc.array(fc.record({ at: fc.integer({ min: 0, max: horizonMs }), ms: fc.integer({ min: 100, max: 10_000 }), kind: fc.constantFrom('empty' as const, 'truncated' as const) }), { maxLength: 3 }),
        operator: fc.array(fc.record({ at: fc.integer({ min: 0, max: horizonMs }), kind: fc.constantFrom(...operatorKinds) }), { maxLength: 4 })
      }).map((extra) => ({ ...base, ...extra, horizonMs }))
    })
}

// The longest run of unhealthy counted checks of `clusterId` that ends with the last
// counted check before `at` (unknown checks skipped; a gap longer than maxGap ends it).
function evidenceBefore(trace: Trace, clusterId: string, at: number, process: number, gap: number): number[] {
  const checks = trace.observed.filter((o) => o.counted && o.clusterId === clusterId && o.process === process && o.at <= at && o.verdict !== 'unknown')
  const run: number[] = []
  for (let i = checks.length - 1; i >= 0; i--) {
    const c = checks[i] as (typeof checks)[number]
    if (c.verdict !== 'unhealthy') break
    if (run.length > 0 && (run[0] as number) - c.at > gap) break
    run.unshift(c.at)
  }
  return run
}

// The world applied it (the core may not know: an unclear answer).
const tookEffect = (p: Patch) => p.answer === 'applied' || p.answer === 'unclear_applied'

function violations(trace: Trace, policy: CorePolicy, script: Script): string[] {
  const found: string[] = []
  const gap = maxGapMs(policy.intervalMs, policy.timeoutMs)
  // When the primary stopped is known to a check: within the longest gap between checks.
  const precision = gap / 1000
  for (const p of trace.patches.filter((p) => p.trigger === 'auto')) {
    const run = evidenceBefore(trace, A, p.at, p.process, gap)
    const reached = run[policy.threshold - 1]
    if (run.length < policy.threshold + 1 || reached === undefined || (run.at(-1) as number) - reached < policy.delayMs) {
      found.push(`auto PATCH at ${p.at} on too little evidence: unhealthy checks at ${run.join(', ')}`)
    }
    // The guard decides before the PATCH leaves; a primary still writing adds its time in flight.
    if (tookEffect(p) && policy.maxDataLossSeconds !== undefined && p.lostSeconds > policy.maxDataLossSeconds + precision + p.flightSeconds) {
      found.push(`auto PATCH at ${p.at} loses ${p.lostSeconds} s, more than MAX_DATA_LOSS_SECONDS=${policy.maxDataLossSeconds}`)
    }
  }
  for (const p of trace.patches.filter(tookEffect)) {
    if (p.planBound !== null && p.dataLossBound === null) found.push(`PATCH at ${p.at}: its answer gave no data-loss bound`)
    if (p.dataLossBound !== null && p.dataLossBound + precision < p.lostSeconds) {
      found.push(`PATCH at ${p.at}: data-loss upper bound ${p.dataLossBound} s below the real loss ${p.lostSeconds} s`)
    }
  }
  const mayHaveApplied = new Map<number, number>()
  for (const p of trace.patches) {
    if (p.answer === 'applied' || p.answer === 'unclear_applied' || p.answer === 'unclear_not_applied') {
      mayHaveApplied.set(p.epoch, (mayHaveApplied.get(p.epoch) ?? 0) + 1)
    }
  }
  for (const [epoch, n] of mayHaveApplied) if (n > 1) found.push(`${n} PATCHes that may have taken effect in epoch ${epoch}`)
  const completedAt = trace.world.appliedAt() === undefined ? undefined : (trace.world.appliedAt() as number) + script.failoverMs
  let sentToB: number | undefined
  for (const a of trace.active) {
    if (a.clusterId === B && completedAt !== undefined && a.at >= completedAt) sentToB = a.epoch
    if (a.clusterId === A && sentToB === a.epoch) found.push(`applications sent back to the superseded primary at ${a.at}`)
  }
  const ticks = trace.ticks.filter((k) => !k.look)
  for (let i = 1; i < ticks.length; i++) {
    const [prev, tick] = [ticks[i - 1], ticks[i]] as [Trace['ticks'][number], Trace['ticks'][number]]
    if (prev.process !== tick.process || tick.doubleCheck || tick.afterPatch) continue
    const interval = tick.suspect ? policy.suspectIntervalMs : policy.intervalMs
    if (tick.at - prev.at < Math.min(interval, 2000)) found.push(`checks at ${prev.at} and ${tick.at}, closer than the interval`)
  }
  if (trace.unknownMoves.length > 0) found.push(`an unknown check moved the timeline at ${trace.unknownMoves.join(', ')}`)
  return found
}

t.test(`safety over ${runs} generated sequences`, async (t) => {
  const started = Date.now()
  let patched = 0
  fc.assert(
    fc.property(policyArb, scriptArb(['failover', 'look', 'pause', 'resume', 'restart', 'restart_without_state']), (policy, script) => {
      const trace = play(script, policy)
      if (trace.patches.length > 0) patched += 1
      const found = violations(trace, policy, script)
      if (found.length > 0) throw new Error(found.join('\n'))
    }),
    { numRuns: runs, seed }
  )
  t.ok(patched > runs / 10, `the sequences reach a PATCH often enough to mean something (${patched} of ${runs})`)
  t.comment(`${runs} sequences (seed ${seed}) in ${Date.now() - started} ms`)
})

// The quiet tail: after whatever came before, the primary is down for good and the API
// answers. A refused PATCH, a dark period, a restart or an inconsistent listing must
// not have used up the failover: it happens before the run ends.
t.test(`a failover is never given up: ${Math.ceil(runs / 5)} generated sequences with a quiet tail`, async (t) => {
  const answers = fc.constantFrom<PatchAnswer>('applied', 'rate_limited', 'refused', 'unclear_applied', 'error_read_back_replicating')
  fc.assert(
    fc.property(policyArb, scriptArb(['failover', 'look', 'restart', 'restart_without_state'], answers), (policy, script) => {
      const auto = { ...policy, autoFailover: true, maxDataLossSeconds: undefined }
      const start = script.horizonMs
      // Detection, then each scripted refusal costs a check and its Retry-After (1 s here).
      const retry = Math.max(auto.intervalMs, 1000) + auto.timeoutMs
      const tail = auto.threshold * auto.intervalMs + auto.delayMs + (script.patches.length + 6) * retry + 2000
      const quiet: Script = {
        ...script,
        primary: [...script.primary, { down: true, ms: tail }],
        // Faults and operator actions stop where the tail begins.
        dark: script.dark.map((w) => ({ ...w, ms: Math.min(w.ms, Math.max(0, start - w.at)) })),
        listings: script.listings.map((w) => ({ ...w, ms: Math.min(w.ms, Math.max(0, start - w.at)) })),
        latencies: script.latencies.map((l) => Math.min(l, Math.floor(auto.timeoutMs / 3))),
        horizonMs: start + tail
      }
      const trace = play(quiet, auto)
      if (trace.world.appliedAt() === undefined) {
        throw new Error(`no failover by ${quiet.horizonMs} ms; PATCHes: ${JSON.stringify(trace.patches)}; last events: ${trace.events.slice(-6).map((e) => `${e.at} ${e.type}`).join(', ')}`)
      }
    }),
    { numRuns: Math.ceil(runs / 5), seed }
  )
})
