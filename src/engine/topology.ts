import type { Stream } from '../cloud/schemas.js'

// Which cluster is active and which one is watched, derived from the stream
// history alone. Nothing about roles is remembered in process memory, so a
// restarted sidecar, or a second one, reaches the same answer from the same API.

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

// Newest first: by creation time, then by id so that equal timestamps still give
// every sidecar the same order.
export function newestFirst(a: Stream, b: Stream): number {
  const byTime = Date.parse(b.created_at) - Date.parse(a.created_at)
  return byTime !== 0 ? byTime : b.id < a.id ? -1 : b.id > a.id ? 1 : 0
}

export function deriveTopology(streams: readonly Stream[], pair: Pair): Topology {
  const stream = streams.filter((s) => belongsToPair(s, pair)).sort(newestFirst)[0]
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
        activeClusterId: undefined,
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
