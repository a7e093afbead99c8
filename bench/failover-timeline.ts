import { DEFAULT_RATE_LIMIT } from '../src/cloud/rate-budget.js'
import { DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID } from '../src/emulator/seed.js'
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js'
import { waitFor } from '../tools/wait-for.js'
import { credentials, getJson, sleep } from './http.js'
import { benchMetricsScrape } from './metrics-scrape.js'
import { startService, type Entry, type Service } from './processes.js'
import type { Failover, MetricsScrape } from './results-schema.js'
import type { Policy, Sizes } from './sizes.js'
import { round, spread } from './stats.js'

// Benchmark 3: outages of the watched cluster against the emulator on a scaled
// policy, each one timed from the outage to the PATCH, to COMPLETED as the
// service saw it, to /connection naming the other cluster. Between outages the
// pair is set up again the other way round (the failed cluster comes back and a
// new stream replicates into it), so one long-running service goes through every
// outage. Benchmark 2 scrapes /metrics of that service at the end.

type Outage = Failover['outages'][number]

interface Pair {
  primary: string
  standby: string
}

interface EventView {
  type: string
  at: string
}

// How often /connection is asked while waiting for the switch: the resolution of the last phase.
const switchPollMs = 5
// The default HEALTH_CHECK_INTERVAL: the policy here is the default one scaled by defaultIntervalSeconds / interval.
const defaultIntervalSeconds = 30

export async function benchFailover(sizes: Sizes, entry: Entry, log: (line: string) => void): Promise<{ failover: Failover; metrics: MetricsScrape }> {
  const { policy } = sizes
  // No rate limit: checks twice a second plus the failover's own requests would
  // run into the real API's 10 requests/s; what is measured here is the timeline.
  const emulator = await startEmulator({
    rateLimit: false,
    // The failback stream between outages: its network setup and initial scan scaled down like the rest.
    timings: {
      failoverSeconds: policy.failoverSeconds,
      startingSeconds: policy.intervalSeconds,
      initialScanSeconds: policy.intervalSeconds,
      replicationStepSeconds: policy.intervalSeconds,
      lagSeconds: 1,
      disruptionApplySeconds: 0
    }
  })
  const timeoutSeconds = round(policy.intervalSeconds * 0.8)
  let service: Service | undefined
  try {
    service = await startService({
      entry,
      emulatorUrl: emulator.url,
      env: {
        HEALTH_CHECK_INTERVAL: String(policy.intervalSeconds),
        HEALTH_CHECK_TIMEOUT: String(timeoutSeconds),
        FAILURE_THRESHOLD: String(policy.threshold),
        FAILOVER_DELAY: String(policy.delaySeconds),
        // The service's own Cloud API budget scaled like the policy: unscaled, checks every 0.5 s and
        // a failover's reads would wait for its 8 slots a second, and the wait would be measured instead.
        CLOUD_API_RATE_LIMIT: String(round((DEFAULT_RATE_LIMIT * defaultIntervalSeconds) / policy.intervalSeconds)),
        ...(policy.suspectIntervalSeconds === undefined ? {} : { SUSPECT_CHECK_INTERVAL: String(policy.suspectIntervalSeconds) })
      }
    })
    const minimumMs = minimum(policy)
    const outages: Outage[] = []
    let pair: Pair = { primary: DEFAULT_PRIMARY_ID, standby: DEFAULT_STANDBY_ID }
    for (let i = 0; i < sizes.outages; i++) {
      const outage = await measureOutage(service, emulator, pair, policy, minimumMs.totalMs)
      outages.push(outage)
      log(`outage ${i + 1}/${sizes.outages}: switched after ${outage.totalMs} ms (${outage.overheadMs} ms beyond the minimum)`)
      pair = failBack(emulator, pair)
    }
    // A few Cloud API errors, as a long-running sidecar meets them, then the scrape.
    emulator.faults.add({ operation: 'getCluster', kind: 'status', status: 503, count: 2 })
    emulator.faults.add({ operation: 'listNodes', kind: 'malformed', count: 1 })
    await sleep(4 * policy.intervalSeconds * 1000)
    const metrics = await benchMetricsScrape(service, sizes.scrapes)
    const pick = (key: keyof Outage) => spread(outages.map((o) => o[key]))
    return {
      failover: {
        policy: { ...policy, suspectIntervalSeconds: policy.suspectIntervalSeconds ?? null, timeoutSeconds },
        minimumMs,
        outages,
        summary: {
          outageToPatchMs: pick('outageToPatchMs'),
          patchToCompletedMs: pick('patchToCompletedMs'),
          completedToSwitchMs: pick('completedToSwitchMs'),
          totalMs: pick('totalMs'),
          detectionMs: pick('detectionMs'),
          overheadMs: pick('overheadMs'),
          apiRequestsToPatch: pick('apiRequestsToPatch')
        }
      },
      metrics
    }
  } finally {
    await service?.child.stop()
    await emulator.close()
  }
}

/** The earliest each phase can end under the policy, if the outage falls just before a check. */
function minimum(policy: Policy): Failover['minimumMs'] {
  const outageToPatchMs = ((policy.threshold - 1) * (policy.suspectIntervalSeconds ?? policy.intervalSeconds) + policy.delaySeconds) * 1000
  const patchToCompletedMs = policy.failoverSeconds * 1000
  return { outageToPatchMs, patchToCompletedMs, completedToSwitchMs: 0, totalMs: outageToPatchMs + patchToCompletedMs }
}

async function measureOutage(service: Service, emulator: RunningEmulator, pair: Pair, policy: Policy, minimumTotalMs: number): Promise<Outage> {
  await waitFor(
    'the service to watch a replicating stream',
    async () => {
      const { body } = await getJson(`${service.url}/clusters`)
      // Past its initial scan (a replicated_time): before, there is nothing to fail over to.
      return body.phase === 'normal' && body.active_cluster_id === pair.primary && body.stream?.status === 'REPLICATING' && body.stream.replicated_time !== null
    },
    { timeoutMs: 30_000 }
  )
  // A real outage falls anywhere between two checks.
  await sleep(Math.random() * policy.intervalSeconds * 1000)
  // Straight on the emulator's state: the outage starts exactly at outageAt.
  const outageAt = Date.now()
  emulator.state.setNodeStatus(pair.primary, 'NOT_READY')
  let switchedAt = 0
  await waitFor(
    `/connection to name ${pair.standby}`,
    async () => {
      const { body } = await getJson(`${service.url}/connection`, credentials)
      switchedAt = Date.now()
      return body?.cluster_id === pair.standby
    },
    { timeoutMs: minimumTotalMs + 60_000, intervalMs: switchPollMs }
  )
  const patch = emulator.requests.list().find((r) => r.method === 'PATCH' && Date.parse(r.at) >= outageAt)
  const { body } = await getJson(`${service.url}/events?limit=500`)
  // Newest first: the last failure_counted is the first one since the outage.
  const since = (body.events as EventView[]).filter((e) => Date.parse(e.at) >= outageAt)
  const firstFailure = since.findLast((e) => e.type === 'failure_counted')
  const completed = since.find((e) => e.type === 'failover_completed')
  if (patch === undefined || firstFailure === undefined || completed === undefined) {
    throw new Error(`outage of ${pair.primary}: no PATCH, failure_counted or failover_completed after it`)
  }
  const patchAt = Date.parse(patch.at)
  const completedAt = Date.parse(completed.at)
  // What the incident cost the Cloud API before the PATCH (suspect mode adds checks there).
  const apiRequestsToPatch = emulator.requests.list().filter((r) => Date.parse(r.at) >= outageAt && Date.parse(r.at) < patchAt).length
  const totalMs = switchedAt - outageAt
  return {
    outageToPatchMs: patchAt - outageAt,
    patchToCompletedMs: completedAt - patchAt,
    completedToSwitchMs: switchedAt - completedAt,
    totalMs,
    detectionMs: Date.parse(firstFailure.at) - outageAt,
    overheadMs: totalMs - minimumTotalMs,
    apiRequestsToPatch
  }
}

/** The failed cluster comes back, and a new stream replicates into it from the one now active. */
function failBack(emulator: RunningEmulator, pair: Pair): Pair {
  emulator.state.setNodeStatus(pair.primary, 'LIVE')
  emulator.state.createStream({ primary_cluster_id: pair.standby, standby_cluster_id: pair.primary })
  return { primary: pair.standby, standby: pair.primary }
}
