import type { StreamStatus, UpdateStreamSpec } from '../cloud/schemas.js'
import { failedPrecondition, invalidArgument } from './cloud-error.js'
import { advance, gapReached, type Interval } from './availability.js'
import { formatTimestamp, msFromNanos, nanosFromMs, parseTimestamp, replicatedNanos } from './proto-time.js'
import { frontier, type Frontier } from './replication.js'
import type { Timings } from './seed.js'

// A physical replication stream. Only its events are stored (creation, the
// failover or cancel request); its status and times are derived from them,
// the availability of its two clusters and the clock on every read.

export interface StreamRecord {
  id: string
  primaryId: string
  standbyId: string
  createdAt: number
  /** Set by the PATCH that ended replication. */
  stop?:
    | { to: 'CANCELED'; at: number }
    | {
        to: 'FAILING_OVER'
        at: number
        /** The time asked for, or the latest replicated time at the request. */
        target: bigint
        /** Whether the time asked for lay ahead: only then does the stream show failover_at (spec). */
        scheduled: boolean
      }
}

/** What a stream's status and times are derived from. */
export interface StreamContext {
  now: number
  /** When both clusters had a majority of live nodes: replication needs both. */
  bothUp: Interval[]
  /** When the standby had one: the cut-over runs there. */
  standbyUp: Interval[]
  timings: Timings
}

interface ReplicationTimes {
  replicated: bigint
  retained: bigint
  lagSeconds: number
}

type Phase =
  | { status: 'STARTING' }
  /** No times during the initial scan. */
  | { status: 'REPLICATING'; times?: ReplicationTimes }
  | { status: 'FAILING_OVER'; scheduled: boolean; target: bigint }
  | { status: 'COMPLETED'; scheduled: boolean; target: bigint; activatedAt: bigint }
  | { status: 'CANCELED'; canceledAt: number }

const LIVE_STATUSES: readonly StreamStatus[] = ['STARTING', 'REPLICATING', 'FAILING_OVER']
const MAX_SCHEDULE_NS = 3600n * 1_000_000_000n

export function isLive(status: StreamStatus): boolean {
  return LIVE_STATUSES.includes(status)
}

function streamFrontier(stream: StreamRecord, context: StreamContext): Frontier {
  const { timings } = context
  return frontier(context.bothUp, stream.createdAt, {
    startingMs: timings.startingSeconds * 1000,
    initialScanMs: timings.initialScanSeconds * 1000,
    lagMs: timings.lagSeconds * 1000,
    catchUpRate: timings.catchUpRate,
    stepMs: timings.replicationStepSeconds * 1000,
    retentionMs: timings.retentionSeconds * 1000
  })
}

function replicationTimes(f: Frontier, now: number): ReplicationTimes {
  const replicated = replicatedNanos(f.published(now))
  return {
    replicated,
    retained: replicatedNanos(f.retained(now)),
    lagSeconds: Math.floor((now - msFromNanos(replicated)) / 1000)
  }
}

function phase(stream: StreamRecord, context: StreamContext): Phase {
  const { now, timings } = context
  const { stop } = stream
  if (stop?.to === 'CANCELED') return { status: 'CANCELED', canceledAt: stop.at }
  const f = streamFrontier(stream, context)
  if (stop !== undefined) {
    // The standby replicates on until its frontier reaches the failover time,
    // then cuts over, which takes failoverSeconds with the standby up.
    const reached = f.reaches(msFromNanos(stop.target), stop.at)
    const cutOver = advance(context.standbyUp, reached, 0)
    const completes = advance(context.standbyUp, cutOver, timings.failoverSeconds * 1000)
    const { scheduled, target } = stop
    if (now < completes) return { status: 'FAILING_OVER', scheduled, target }
    // A time that is older than retained_time by the cut-over falls back to it (spec: best effort).
    const retained = replicatedNanos(f.retained(cutOver))
    return { status: 'COMPLETED', scheduled, target, activatedAt: target < retained ? retained : target }
  }
  if (now < f.replicatingSince) return { status: 'STARTING' }
  // A stream whose frontier has not moved for this long is canceled (PCR docs).
  const stalled = gapReached(context.bothUp, f.replicatingSince, now, timings.stallCancelSeconds * 1000)
  if (stalled !== undefined) return { status: 'CANCELED', canceledAt: stalled }
  if (now < f.scanEnd) return { status: 'REPLICATING' }
  return { status: 'REPLICATING', times: replicationTimes(f, now) }
}

export function streamStatus(stream: StreamRecord, context: StreamContext): StreamStatus {
  return phase(stream, context).status
}

/** Applies a PATCH at context.now, or throws the refusal the API would answer. */
export function applyPatch(stream: StreamRecord, spec: UpdateStreamSpec, context: StreamContext): void {
  const to = spec.status
  if (to === undefined) throw invalidArgument('status is required')
  if (to !== 'FAILING_OVER' && to !== 'CANCELED') {
    throw invalidArgument(`status can only be set to FAILING_OVER or CANCELED, not ${to}`)
  }
  const current = phase(stream, context)
  if (current.status !== 'REPLICATING') {
    throw failedPrecondition(
      `replication stream ${stream.id} is ${current.status}; only a REPLICATING stream can move to ${to}`
    )
  }
  const { now } = context
  if (to === 'CANCELED') {
    if (spec.failover_at !== undefined) throw invalidArgument('failover_at applies only to FAILING_OVER')
    stream.stop = { to, at: now }
    return
  }
  const { times } = current
  if (times === undefined) {
    throw failedPrecondition(`replication stream ${stream.id} is still in its initial scan: there is no consistent time to fail over to yet`)
  }
  const target = spec.failover_at === undefined ? times.replicated : checkFailoverAt(spec.failover_at, times, now)
  stream.stop = { to, at: now, target, scheduled: target > nanosFromMs(now) }
}

/** failover_at: from retained_time to one hour ahead (spec). */
function checkFailoverAt(text: string, times: ReplicationTimes, now: number): bigint {
  const asked = parseTimestamp(text)
  if (asked === undefined) throw invalidArgument(`failover_at ${text} is not an RFC 3339 time`)
  if (asked < times.retained) {
    throw invalidArgument(`failover_at ${text} is before the retained time ${formatTimestamp(times.retained)}`)
  }
  if (asked > nanosFromMs(now) + MAX_SCHEDULE_NS) {
    throw invalidArgument(`failover_at ${text} is more than one hour in the future`)
  }
  return asked
}

export function streamJson(stream: StreamRecord, context: StreamContext) {
  const current = phase(stream, context)
  const base = {
    id: stream.id,
    status: current.status,
    primary_cluster_id: stream.primaryId,
    standby_cluster_id: stream.standbyId,
    created_at: formatTimestamp(nanosFromMs(stream.createdAt))
  }
  switch (current.status) {
    case 'STARTING':
      return base
    case 'REPLICATING': {
      // Present only while REPLICATING, and not yet during the initial scan (spec).
      const { times } = current
      if (times === undefined) return base
      return {
        ...base,
        replicated_time: formatTimestamp(times.replicated),
        retained_time: formatTimestamp(times.retained),
        replication_lag_seconds: times.lagSeconds
      }
    }
    case 'FAILING_OVER':
      return { ...base, ...(current.scheduled && { failover_at: formatTimestamp(current.target) }) }
    case 'COMPLETED':
      return {
        ...base,
        ...(current.scheduled && { failover_at: formatTimestamp(current.target) }),
        activated_at: formatTimestamp(current.activatedAt)
      }
    case 'CANCELED':
      return { ...base, canceled_at: formatTimestamp(nanosFromMs(current.canceledAt)) }
  }
}
