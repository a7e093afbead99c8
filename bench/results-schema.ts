import { z } from 'zod'

// The shape of bench/results/results.json: the types the benchmarks fill in, and
// what the smoke tests check a run produced. Durations are milliseconds, memory
// bytes, CPU in cores (1 = one core busy for the whole run).

const count = z.int().nonnegative()
const ms = z.number().nonnegative()

export const Spread = z.object({ median: ms, p95: ms, max: ms })

export const LoadRun = z.object({
  requests: count,
  seconds: z.number().positive(),
  requestsPerSecond: count,
  latencyMs: z.object({ p50: ms, p99: ms, max: ms }),
  errors: count,
  non2xx: count,
  cpu: z.object({ server: z.number().nullable(), client: z.number(), other: z.number().nullable() })
})

const TargetRuns = z.object({
  /** The round with the most requests per second. */
  saturation: LoadRun,
  /** Paced at 80% of that rate. */
  at80: LoadRun,
  /** Requests per second of every saturation round, in order. */
  roundsPerSecond: z.array(count)
})

export const HotPath = z.object({
  connections: z.int().positive(),
  durationSeconds: z.number().positive(),
  rounds: z.int().positive(),
  routes: z.array(
    z.object({
      route: z.string(),
      bodyBytes: z.int().positive(),
      service: TargetRuns,
      baseline: TargetRuns,
      /** Service ÷ baseline, requests per second at saturation: the median over the rounds of each round's pair. */
      ratio: z.number().positive()
    })
  )
})

export const HotPathProfile = z.object({
  route: z.string(),
  /** Requests served while each process was profiled. */
  requests: z.object({ service: z.int().positive(), baseline: z.int().positive() }),
  /** CPU microseconds per request, by part of a request's life. */
  parts: z.array(z.object({ part: z.string(), serviceUs: z.number().nonnegative(), baselineUs: z.number().nonnegative() }))
})

export const MetricsScrape = z.object({
  scrapes: z.int().positive(),
  bytes: z.int().positive(),
  series: z.int().positive(),
  latencyMs: z.object({ p50: ms, p99: ms, max: ms })
})

const Phases = z.object({
  outageToPatchMs: ms,
  patchToCompletedMs: ms,
  completedToSwitchMs: ms,
  totalMs: ms
})

export const Failover = z.object({
  policy: z.object({
    intervalSeconds: z.number().positive(),
    timeoutSeconds: z.number().positive(),
    threshold: z.int().positive(),
    delaySeconds: z.number().nonnegative(),
    suspectIntervalSeconds: z.number().positive().nullable(),
    failoverSeconds: z.number().positive()
  }),
  /** What the policy allows at the earliest: (threshold − 1) × interval + delay, then the failover itself. */
  minimumMs: Phases,
  outages: z.array(
    Phases.extend({
      /** Outage to the first failure counted: waiting for the next check, up to one interval. */
      detectionMs: ms,
      /** Total beyond the minimum. */
      overheadMs: z.number(),
      /** Cloud API requests from the outage to the PATCH. */
      apiRequestsToPatch: count
    })
  ),
  summary: z.object({
    outageToPatchMs: Spread,
    patchToCompletedMs: Spread,
    completedToSwitchMs: Spread,
    totalMs: Spread,
    detectionMs: Spread,
    overheadMs: Spread,
    apiRequestsToPatch: Spread
  })
})

const MemorySample = z.object({
  /** Requests served, or checks run, when the sample was taken. */
  count,
  rssBytes: z.int().positive(),
  heapUsedBytes: z.int().positive(),
  heapTotalBytes: z.int().positive(),
  /** The most RSS the process has had so far, GC or not (VmHWM). */
  peakRssBytes: z.int().positive().nullable(),
  /** RSS just before the forced GC (VmRSS): what the OS and a container limit see. */
  rssBeforeGcBytes: z.int().positive().nullable()
})

/** The bare-Fastify baseline under the same load, read from /proc only (no forced GC). */
const BaselineMemory = z.object({
  samples: z.array(z.object({ count, rssBytes: z.int().positive().nullable() })).length(3),
  growthRssBytes: z.int().nullable()
})

const MemoryRun = z.object({
  /** After start, at half the run, at the end; each after a full GC. */
  samples: z.array(MemorySample).length(3),
  /** From the half to the end. */
  growth: z.object({ rssBytes: z.int(), heapUsedBytes: z.int() }),
  seconds: z.number().positive()
})

export const Memory = z.object({
  requests: MemoryRun.extend({ route: z.string(), connections: z.int().positive(), baseline: BaselineMemory }),
  monitorCycles: MemoryRun.extend({ intervalSeconds: z.number().positive() })
})

export const Startup = z.object({
  apiLatencyMs: z.int().nonnegative(),
  /** Each run starts the bare-Fastify baseline, then the service. */
  runs: z.array(z.object({ baselineListeningMs: ms, listeningMs: ms, readyMs: ms })).min(1),
  baselineListeningMs: Spread,
  listeningMs: Spread,
  readyMs: Spread,
  /** The service's median start to /ready over the baseline's median start to listening. */
  readyRatio: z.number().positive()
})

export const CloudCost = z.object({
  intervalSeconds: z.number().positive(),
  observedSeconds: z.number().positive(),
  checks: z.int().positive(),
  requests: count,
  byOperation: z.record(z.string(), count),
  perCheck: z.number().nonnegative(),
  /** perCheck × the checks an hour holds at this interval. */
  perHour: z.number().nonnegative(),
  /** The most requests seen in any one-second window. */
  peakPerSecond: count,
  limitPerSecond: z.int().positive(),
  rateLimited: count
})

const Window = z.object({
  requests: count,
  seconds: z.number().positive(),
  /** The most requests in any one-second window, and how many the API refused (429 or 503). */
  busiestSecond: count,
  refused: count
})

/** bench/results/cloud-budget.json (npm run bench:cloud-budget). */
export const CloudBudget = z.object({
  at: z.iso.datetime(),
  /** The short interval the fleets ran at; the emulator's limit and each budget scaled by 30 s ÷ it. */
  intervalSeconds: z.number().positive(),
  scale: z.number().positive(),
  windowSeconds: z.number().positive(),
  steady: z.array(
    z.object({
      coordination: z.enum(['local', 'etcd']),
      sidecars: z.int().positive(),
      /** Checks the sidecars ran (pcr_checks_total of the watched cluster), and those that read the API (its listStreams). */
      sidecarChecks: count,
      apiChecks: z.int().positive(),
      requests: count,
      refused: count,
      byOperation: z.record(z.string(), count),
      /** Measured at intervalSeconds, and what steadyRequestsPerSecond(intervalSeconds) × intervalSeconds says. */
      perCheck: z.number().positive(),
      modelPerCheck: z.number().positive(),
      /** The stream listing, the watched cluster and its nodes, per API check; the other cluster's reads per refresh. */
      watchedPerCheck: z.number().positive(),
      otherPerRefresh: z.number().positive(),
      /** Computed for the default timeline from the measured figures, and the model's figure. */
      perHourAtDefault: z.number().nonnegative(),
      modelPerHourAtDefault: z.number().nonnegative()
    })
  ),
  /** Local sidecars on one key from which the steady rate at the default timeline exceeds half the API's limit, and all of it. */
  etcdRequiredFrom: z.object({ perSidecarHour: z.number().positive(), halfLimit: z.int().positive(), limit: z.int().positive() }),
  /** One sidecar at the default timeline, the emulator at the API's real limit. */
  busiest: z.object({ limitPerSecond: z.int().positive(), failover: Window, failback: Window })
})

export const Results = z.object({
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  commit: z.string().nullable(),
  /** dist: the build, as in production; src: the sources through tsx. */
  entry: z.enum(['dist', 'src']),
  preset: z.enum(['smoke', 'default', 'full']),
  machine: z.object({
    cpu: z.string(),
    cores: z.int().positive(),
    memoryBytes: z.int().positive(),
    os: z.string(),
    node: z.string(),
    /** The 1-minute load average before the run: above 0 means neighbours were busy. */
    loadBefore: z.number().nonnegative()
  }),
  hotPath: HotPath.optional(),
  profile: HotPathProfile.optional(),
  cloudCost: CloudCost.optional(),
  failover: Failover.optional(),
  metrics: MetricsScrape.optional(),
  memory: Memory.optional(),
  startup: Startup.optional()
})

export type LoadRun = z.infer<typeof LoadRun>
export type HotPath = z.infer<typeof HotPath>
export type HotPathProfile = z.infer<typeof HotPathProfile>
export type MetricsScrape = z.infer<typeof MetricsScrape>
export type Failover = z.infer<typeof Failover>
export type Memory = z.infer<typeof Memory>
export type Startup = z.infer<typeof Startup>
export type CloudCost = z.infer<typeof CloudCost>
export type Results = z.infer<typeof Results>
export type CloudBudget = z.infer<typeof CloudBudget>

// npm run bench:writes (bench/switch-writes.ts): an application writing through PgBouncer during a switch.
const WriteRound = z.object({
  writes: z.number().int(),
  errors: z.number().int(),
  // What the application was told, once each.
  errorMessages: z.array(z.string()),
  // Errors of writes sent before the act and still waiting at it.
  inFlightErrors: z.number().int(),
  // From the act to the end of the first and the last failed write.
  errorWindowMs: z.tuple([z.number(), z.number()]).nullable(),
  longestWaitMs: z.number(),
  // From the act to the first write the new primary acknowledged.
  toStandbyMs: z.number(),
  // Rows the old primary holds after the failover point, and of them those written after the act.
  lostRows: z.number().int(),
  lostAfterActRows: z.number().int(),
  // Planned switchover only: POST to the operation's end, and each step's duration.
  endToEndMs: z.number().optional(),
  steps: z.record(z.string(), z.number()).optional()
})

export const SwitchWritesScenario = z.object({
  errorsMedian: z.number(),
  errorsMax: z.number(),
  inFlightErrorsMedian: z.number(),
  errorWindowMs: z.tuple([z.number(), z.number()]).nullable(),
  longestWaitMsMedian: z.number(),
  longestWaitMsMax: z.number(),
  toStandbyMsMedian: z.number(),
  lostRowsMedian: z.number(),
  lostRowsMax: z.number(),
  lostAfterActRowsMedian: z.number(),
  lostAfterActRowsMax: z.number(),
  endToEndMsMedian: z.number().optional(),
  stepsMsMedian: z.record(z.string(), z.number()).optional(),
  rounds: z.array(WriteRound)
})

export const SwitchWrites = z.object({
  rounds: z.number().int(),
  at: z.string(),
  scenarios: z.record(z.string(), SwitchWritesScenario)
})
export type SwitchWrites = z.infer<typeof SwitchWrites>
export type SwitchWritesScenario = z.infer<typeof SwitchWritesScenario>
export type WriteRound = z.infer<typeof WriteRound>
