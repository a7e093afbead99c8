import type { StreamStatus, UpdateStreamSpec } from '../cloud/schemas.js'
import { failedPrecondition, invalidArgument } from './api-error.js'
import type { Timings } from './seed.js'

// A physical replication stream. Only the events are stored (creation, the
// failover or cancel request); the status and the replication times are
// derived from them and the clock on every read.

export interface StreamRecord {
  id: string
  primaryId: string
  standbyId: string
  createdAt: number
  /** Set by the PATCH that ended replication, with the times frozen at that moment. */
  stop?: {
    to: 'FAILING_OVER' | 'CANCELED'
    at: number
    failoverAt?: number
    replicated: number
    retained: number
  }
}

export interface ReplicationTimes {
  replicated: number
  retained: number
}

const LIVE_STATUSES: readonly StreamStatus[] = ['STARTING', 'REPLICATING', 'FAILING_OVER']
const MAX_SCHEDULE_MS = 3600 * 1000

export function streamStatus(stream: StreamRecord, now: number, timings: Timings): StreamStatus {
  const { stop } = stream
  if (stop?.to === 'CANCELED') return 'CANCELED'
  if (stop !== undefined) return now >= completesAt(stop, timings) ? 'COMPLETED' : 'FAILING_OVER'
  return now >= replicatingSince(stream, timings) ? 'REPLICATING' : 'STARTING'
}

export function isLive(status: StreamStatus): boolean {
  return LIVE_STATUSES.includes(status)
}

function replicatingSince(stream: StreamRecord, timings: Timings): number {
  return stream.createdAt + timings.startingSeconds * 1000
}

function completesAt(stop: NonNullable<StreamRecord['stop']>, timings: Timings): number {
  return Math.max(stop.at, stop.failoverAt ?? stop.at) + timings.failoverSeconds * 1000
}

/**
 * Replication times of a replicating stream. The frontier trails the clock by
 * the lag, and stands still from the moment the primary went down: without its
 * source, replication cannot advance. It never goes below the first replicated
 * time, and retained_time never passes replicated_time, so every time between
 * the two is a valid failover point.
 */
export function replicationTimes(
  stream: StreamRecord,
  now: number,
  primaryDownSince: number | null,
  timings: Timings
): ReplicationTimes {
  const lag = timings.lagSeconds * 1000
  const first = replicatingSince(stream, timings) - lag
  const replicated = Math.max((primaryDownSince ?? now) - lag, first)
  const retained = Math.min(Math.max(first, now - timings.retentionSeconds * 1000), replicated)
  return { replicated, retained }
}

/** Applies a PATCH at `now`, or throws the refusal the API would answer. */
export function applyPatch(
  stream: StreamRecord,
  spec: UpdateStreamSpec,
  now: number,
  times: ReplicationTimes,
  timings: Timings
): void {
  const to = spec.status
  if (to === undefined) throw invalidArgument('status is required')
  if (to !== 'FAILING_OVER' && to !== 'CANCELED') {
    throw invalidArgument(`status can only be set to FAILING_OVER or CANCELED, not ${to}`)
  }
  const current = streamStatus(stream, now, timings)
  if (current !== 'REPLICATING') {
    throw failedPrecondition(`replication stream ${stream.id} is ${current}; only a REPLICATING stream can move to ${to}`)
  }
  const failoverAt = spec.failover_at === undefined ? undefined : Date.parse(spec.failover_at)
  if (failoverAt !== undefined) {
    if (to === 'CANCELED') throw invalidArgument('failover_at applies only to FAILING_OVER')
    if (failoverAt < times.retained) {
      throw invalidArgument(`failover_at ${spec.failover_at} is before the retained time ${iso(times.retained)}`)
    }
    if (failoverAt > now + MAX_SCHEDULE_MS) {
      throw invalidArgument(`failover_at ${spec.failover_at} is more than one hour in the future`)
    }
  }
  stream.stop = { to, at: now, ...(failoverAt !== undefined && { failoverAt }), ...times }
}

export function streamJson(stream: StreamRecord, now: number, primaryDownSince: number | null, timings: Timings) {
  const status = streamStatus(stream, now, timings)
  const base = {
    id: stream.id,
    status,
    primary_cluster_id: stream.primaryId,
    standby_cluster_id: stream.standbyId,
    created_at: iso(stream.createdAt)
  }
  const { stop } = stream
  if (stop === undefined) {
    if (status === 'STARTING') return base
    const { replicated, retained } = replicationTimes(stream, now, primaryDownSince, timings)
    return {
      ...base,
      replicated_time: iso(replicated),
      retained_time: iso(retained),
      replication_lag_seconds: Math.floor((now - replicated) / 1000)
    }
  }
  // Replication stopped with the PATCH: the times stay where they were, and a
  // lag no longer means anything.
  return {
    ...base,
    replicated_time: iso(stop.replicated),
    retained_time: iso(stop.retained),
    ...(stop.failoverAt !== undefined && { failover_at: iso(stop.failoverAt) }),
    ...(status === 'COMPLETED' && { activated_at: iso(stop.failoverAt ?? stop.replicated) }),
    ...(status === 'CANCELED' && { canceled_at: iso(stop.at) })
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
