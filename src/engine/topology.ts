import type { Stream } from '../cloud/schemas.js'
import { newest } from '../cloud/stream-time.js'

// Which cluster is active and which one is watched, derived from the newest stream
// between the pair, so a restarted sidecar, or a second one, reaches the same answer
// from the same API. Which stream is the newest is remembered (stream-memory.ts).

export interface Pair {
  primaryClusterId: string
  standbyClusterId: string
}

export interface Topology {
  // The writable cluster; undefined while a failover is under way.
  activeClusterId: string | undefined
  // The cluster the monitor checks and may fail over from.
  watchedClusterId: string
  // Where a failover would go: the standby of the newest live stream.
  failoverTargetId: string | undefined
  // The newest stream between the two clusters, in either direction.
  stream: Stream | undefined
}

const liveStatuses = new Set(['STARTING', 'REPLICATING', 'FAILING_OVER'])

export function isLive(stream: { status: Stream['status'] }): boolean {
  return liveStatuses.has(stream.status)
}

function belongsToPair(stream: Stream, pair: Pair): boolean {
  const ids = [pair.primaryClusterId, pair.standbyClusterId]
  return (
    stream.primary_cluster_id !== stream.standby_cluster_id &&
    ids.includes(stream.primary_cluster_id) &&
    ids.includes(stream.standby_cluster_id)
  )
}

// A stream FAILING_OVER to a future failover_at: the primary serves until that time.
export function isScheduled(stream: Pick<Stream, 'status' | 'failover_at'>, now: number): boolean {
  return stream.status === 'FAILING_OVER' && stream.failover_at !== undefined && Date.parse(stream.failover_at) > now
}

export function deriveTopology(streams: readonly Stream[], pair: Pair, now = Number.NEGATIVE_INFINITY): Topology {
  const stream = newest(streams.filter((s) => belongsToPair(s, pair)))
  if (stream === undefined) {
    return {
      activeClusterId: pair.primaryClusterId,
      watchedClusterId: pair.primaryClusterId,
      failoverTargetId: undefined,
      stream: undefined
    }
  }
  switch (stream.status) {
    case 'STARTING':
    case 'REPLICATING':
      return {
        activeClusterId: stream.primary_cluster_id,
        watchedClusterId: stream.primary_cluster_id,
        failoverTargetId: stream.standby_cluster_id,
        stream
      }
    case 'CANCELED':
      return {
        activeClusterId: stream.primary_cluster_id,
        watchedClusterId: stream.primary_cluster_id,
        failoverTargetId: undefined,
        stream
      }
    case 'FAILING_OVER':
      return {
        activeClusterId: isScheduled(stream, now) ? stream.primary_cluster_id : undefined,
        watchedClusterId: stream.primary_cluster_id,
        failoverTargetId: stream.standby_cluster_id,
        stream
      }
    case 'COMPLETED':
      return {
        activeClusterId: stream.standby_cluster_id,
        watchedClusterId: stream.standby_cluster_id,
        failoverTargetId: undefined,
        stream
      }
  }
}
