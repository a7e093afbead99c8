// How big each benchmark runs. The default keeps `npm run bench` near ten minutes
// on two cores; --full is the size the issue names (a million requests for the
// memory run); --smoke is the tiny run the tests use to keep the scripts working.

export interface Policy {
  intervalSeconds: number
  threshold: number
  delaySeconds: number
  /** SUSPECT_CHECK_INTERVAL; the interval when not set. */
  suspectIntervalSeconds?: number
  /** How long the emulator keeps a stream FAILING_OVER. */
  failoverSeconds: number
}

export interface Sizes {
  connections: number
  durationSeconds: number
  warmupSeconds: number
  /** Saturation runs per target, alternating service and baseline; the best one counts. */
  rounds: number
  scrapes: number
  outages: number
  policy: Policy
  memoryRequests: number
  monitorCycles: number
  monitorIntervalSeconds: number
  startupRuns: number
}

export type Preset = 'smoke' | 'default' | 'full'

const defaults: Sizes = {
  connections: 50,
  durationSeconds: 6,
  warmupSeconds: 3,
  rounds: 4,
  scrapes: 200,
  outages: 20,
  policy: { intervalSeconds: 0.5, threshold: 3, delaySeconds: 1, failoverSeconds: 2 },
  memoryRequests: 1_000_000,
  monitorCycles: 1000,
  monitorIntervalSeconds: 0.01,
  startupRuns: 5
}

export const presets: Record<Preset, Sizes> = {
  default: defaults,
  full: { ...defaults, durationSeconds: 30, rounds: 5, monitorCycles: 5000 },
  smoke: {
    connections: 2,
    durationSeconds: 0.3,
    warmupSeconds: 0.1,
    rounds: 1,
    scrapes: 5,
    outages: 2,
    policy: { intervalSeconds: 0.2, threshold: 2, delaySeconds: 0.2, failoverSeconds: 0.3 },
    memoryRequests: 2000,
    monitorCycles: 20,
    monitorIntervalSeconds: 0.01,
    startupRuns: 1
  }
}
