import fc from 'fast-check'

// A chaos schedule: what happens to the primary, the Cloud API, the sidecar
// process and the primary's SQL endpoint, on a timeline in milliseconds from the
// start of the run. It is data only; the runner plays it and records what
// really happened when.

export type PrimarySegment =
  | { kind: 'healthy' | 'down' | 'one-node-down'; ms: number }
  | { kind: 'flapping'; ms: number; periodMs: number }

export const faultOperations = ['*', 'listStreams', 'getCluster', 'listNodes', 'getStream', 'patchStream'] as const
type FaultOperation = (typeof faultOperations)[number]

export type FaultKind =
  | { kind: 'status'; status: 500 | 502 | 503 }
  | { kind: 'status'; status: 429 | 503; retry_after_seconds: number }
  | { kind: 'hang' }
  | { kind: 'malformed' }
  | { kind: 'reset' }
  /** The stream listing without streams, or without the newest: emulator operation listStreams only. */
  | { kind: 'empty' | 'truncated' }

export type FaultBurst = FaultKind & {
  at: number
  operation: FaultOperation
  ms: number
  /** Serve the request, then fail its answer (a PATCH takes effect unseen). */
  after: boolean
}

export interface Schedule {
  primary: PrimarySegment[]
  faults: FaultBurst[]
  /** SIGKILL then restart the sidecar at these times. */
  kills: number[]
  /** Also kill this long after the emulator logs the PATCH: a restart mid-failover. */
  killAfterPatchMs: number | null
  /** The primary's PostgreSQL stopped for a while, whatever the nodes say. */
  sqlOutages: Array<{ at: number; ms: number }>
  /** Everything stops here; the last segment is cut or stretched to it. */
  totalMs: number
}

// Times on a 50 ms grid keep counterexamples readable.
const ms = (min: number, max: number) => fc.integer({ min: min / 50, max: max / 50 }).map((n) => n * 50)

const segment: fc.Arbitrary<PrimarySegment> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('healthy' as const), ms: ms(200, 1500) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('down' as const), ms: ms(200, 2500) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('one-node-down' as const), ms: ms(200, 1500) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flapping' as const), ms: ms(400, 2000), periodMs: ms(100, 400) }) }
)

// What the API answers to make a client wait: 429 or 503 with Retry-After.
const refusal: fc.Arbitrary<FaultKind> = fc.record({
  kind: fc.constant('status' as const),
  status: fc.constantFrom(429 as const, 503 as const),
  retry_after_seconds: fc.integer({ min: 0, max: 1 })
})

const faultKind: fc.Arbitrary<FaultKind> = fc.oneof(
  fc.record({ kind: fc.constant('status' as const), status: fc.constantFrom(500 as const, 502 as const, 503 as const) }),
  refusal,
  fc.record({ kind: fc.constant('hang' as const) }),
  fc.record({ kind: fc.constant('malformed' as const) }),
  fc.record({ kind: fc.constant('reset' as const) })
)

const listingKind = fc.constantFrom<FaultKind>({ kind: 'empty' }, { kind: 'truncated' })

/** A listing fault: the emulator takes them on listStreams only, and without `after`. */
const listingBurst = (at: fc.Arbitrary<number>): fc.Arbitrary<FaultBurst> =>
  fc.tuple(listingKind, at, ms(100, 1200)).map(([kind, at, ms]) => ({ ...kind, at, operation: 'listStreams', ms, after: false }))

// A refusal only matters while a PATCH is being sent, so the PATCH gets more than its share.
const operation = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...faultOperations) }, { weight: 2, arbitrary: fc.constant('patchStream' as const) })

/** What a quiet long outage must last: invariant 2's threshold × interval + delay + two intervals, and room for a loaded machine (kept equal to invariants.ts's mustActMs). */
export const quietOutageMinMs = 3 * 100 + 200 + 2 * 100 + 800
/** Room kept clear before a quiet outage: a burst's span lingers a timeout past its end, a 429 may ask to wait a second, and a check must start before the outage. */
const quietLeadInMs = 300 + 100 + 1000 + 300 + 150
export function scheduleArbitrary(options: { totalMs: number }): fc.Arbitrary<Schedule> {
  const { totalMs } = options
  const at = ms(0, totalMs - 200)
  const burst: fc.Arbitrary<FaultBurst> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(faultKind, fc.record({ at, operation, ms: ms(100, 1200), after: fc.boolean() }))
        .map(([kind, rest]) => ({ ...kind, ...rest }))
    },
    { weight: 1, arbitrary: listingBurst(at) }
  )
  const any = fc.record({
    primary: fc.array(segment, { minLength: 1, maxLength: 5 }),
    faults: fc.array(burst, { maxLength: 5 }),
    kills: fc.array(at, { maxLength: 1 }),
    killAfterPatchMs: fc.option(ms(0, 400), { nil: null }),
    sqlOutages: fc.array(fc.record({ at, ms: ms(100, 1000) }), { maxLength: 2 }),
    totalMs: fc.constant(totalMs)
  })
  // A quiet long outage: the primary healthy, then down long enough for invariant 2,
  // with no fault burst and no restart in the window where invariant 2 wants the
  // PATCH (from a check before the outage to quietOutageMinMs into it). Anything
  // may happen before (far enough) and after. Bursts and kills that would touch
  // the window are dropped by a map, so shrinking keeps the schedule quiet.
  const quiet = fc
    .record({
      leadMs: ms(300, 1500),
      // 0.4 s over: stopping PostgreSQL on a loaded machine may eat into it.
      downMs: ms(quietOutageMinMs + 400, quietOutageMinMs + 1200),
      after: fc.array(segment, { maxLength: 2 }),
      faults: fc.array(burst, { maxLength: 5 }),
      kills: fc.array(at, { maxLength: 1 }),
      killAfterPatchMs: fc.option(ms(0, 400), { nil: null }),
      sqlOutages: fc.array(fc.record({ at, ms: ms(100, 1000) }), { maxLength: 2 })
    })
    .map(({ leadMs, downMs, after, faults, kills, killAfterPatchMs, sqlOutages }): Schedule => {
      const windowEnd = leadMs + quietOutageMinMs
      return {
        primary: [{ kind: 'healthy', ms: leadMs }, { kind: 'down', ms: downMs }, ...after],
        faults: faults.filter((f) => f.at + f.ms + quietLeadInMs <= leadMs || f.at >= windowEnd),
        kills: kills.filter((k) => k >= windowEnd + 300),
        killAfterPatchMs,
        sqlOutages,
        totalMs
      }
    })
  // The failover is asked for, and the PATCH refused by a 429 or 503 with Retry-After:
  // the primary stays down to the end, long enough to try again once the API takes it.
  const refusedPatch = fc
    .record({ leadMs: ms(300, 600), refusal, fromMs: ms(0, 400), burstMs: ms(400, 1000) })
    .map(({ leadMs, refusal, fromMs, burstMs }): Schedule => ({
      ...calm(totalMs, leadMs),
      faults: [{ ...refusal, at: leadMs + fromMs, operation: 'patchStream', ms: burstMs, after: false }]
    }))
  // The whole API dark from before the primary dies until after: nothing to see, then an
  // outage seen only once the API is back, with time left to act on it.
  const dark = fc
    .record({ leadMs: ms(300, 800), kind: faultKind, beforeMs: ms(100, 600), afterMs: ms(100, 800) })
    .map(({ leadMs, kind, beforeMs, afterMs }): Schedule => ({
      ...calm(totalMs, leadMs),
      faults: [{ ...kind, at: leadMs - Math.min(beforeMs, leadMs), operation: '*', ms: Math.min(beforeMs, leadMs) + afterMs, after: false }]
    }))
  // A rate-limit storm: for a stretch the API refuses every operation, or several, with
  // 429 (sometimes 503) and Retry-After, as it does a key over its limit; most often
  // across the start of an outage that goes on, which must be acted on once the storm
  // passes, else with the primary healthy throughout, where nothing may fail over.
  const storm = fc
    .record({
      leadMs: ms(300, 700),
      fromMs: ms(-400, 300),
      stormMs: ms(300, 1000),
      operations: fc.oneof(fc.constant<FaultOperation[]>(['*']), fc.subarray(faultOperations.slice(1), { minLength: 2 })),
      status: fc.oneof({ weight: 3, arbitrary: fc.constant(429 as const) }, { weight: 1, arbitrary: fc.constant(503 as const) }),
      retryAfterSeconds: fc.integer({ min: 0, max: 1 }),
      outage: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
    })
    .map(({ leadMs, fromMs, stormMs, operations, status, retryAfterSeconds, outage }): Schedule => ({
      ...calm(totalMs, leadMs),
      ...(!outage && { primary: [{ kind: 'healthy', ms: totalMs }] }),
      faults: operations.map((operation) => ({
        kind: 'status',
        status,
        retry_after_seconds: retryAfterSeconds,
        at: Math.max(0, leadMs + fromMs),
        operation,
        ms: stormMs,
        after: false
      }))
    }))
  // A quiet long outage, failed over, then the primary back and the listing empty or
  // without the stream: nothing may send applications back to the old primary.
  const listingAfterFailover = fc
    .record({ leadMs: ms(300, 1000), downMs: ms(quietOutageMinMs + 400, quietOutageMinMs + 1200), faults: fc.array(listingBurst(ms(0, 2000)), { minLength: 1, maxLength: 3 }) })
    .map(({ leadMs, downMs, faults }): Schedule => {
      const windowEnd = leadMs + quietOutageMinMs
      return {
        ...calm(totalMs, leadMs),
        primary: [{ kind: 'healthy', ms: leadMs }, { kind: 'down', ms: downMs }, { kind: 'healthy', ms: totalMs }],
        faults: faults.map((f) => ({ ...f, at: windowEnd + f.at })).filter((f) => f.at < totalMs - 100)
      }
    })
  return fc.oneof(
    { weight: 3, arbitrary: any },
    { weight: 1, arbitrary: quiet },
    { weight: 1, arbitrary: refusedPatch },
    { weight: 1, arbitrary: dark },
    { weight: 1, arbitrary: storm },
    { weight: 1, arbitrary: listingAfterFailover }
  )
}

/** The primary healthy for leadMs, then down to the end; nothing else happens. */
function calm(totalMs: number, leadMs: number): Schedule {
  return {
    primary: [{ kind: 'healthy', ms: leadMs }, { kind: 'down', ms: totalMs }],
    faults: [],
    kills: [],
    killAfterPatchMs: null,
    sqlOutages: [],
    totalMs
  }
}

/** The rate-limit storms of a schedule: refusals with Retry-After of the whole API, or of several operations at once. */
export function storms(s: Schedule): Array<{ at: number; ms: number; operations: FaultOperation[] }> {
  const found = new Map<string, { at: number; ms: number; operations: FaultOperation[] }>()
  for (const f of s.faults) {
    if (!('retry_after_seconds' in f)) continue
    const key = `${f.at}/${f.ms}`
    const storm = found.get(key) ?? { at: f.at, ms: f.ms, operations: [] }
    storm.operations.push(f.operation)
    found.set(key, storm)
  }
  return [...found.values()].filter((storm) => storm.operations.includes('*') || storm.operations.length >= 2)
}

export type PrimaryState = 'healthy' | 'down' | 'one-node-down'

/** The primary's intended state over time: flapping expanded, cut at totalMs. */
export function primaryPlan(s: Schedule): Array<{ at: number; state: PrimaryState }> {
  const plan: Array<{ at: number; state: PrimaryState }> = []
  let t = 0
  for (const seg of s.primary) {
    if (t >= s.totalMs) break
    if (seg.kind !== 'flapping') {
      plan.push({ at: t, state: seg.kind })
    } else {
      for (let f = 0; f * seg.periodMs < seg.ms; f++) plan.push({ at: t + f * seg.periodMs, state: f % 2 === 0 ? 'down' : 'healthy' })
    }
    t += seg.ms
  }
  return plan.filter((p) => p.at < s.totalMs)
}
