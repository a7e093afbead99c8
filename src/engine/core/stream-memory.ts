import type { Stream, StreamStatus } from '../../cloud/schemas.js'
import { newestFirst } from '../../cloud/stream-time.js'

// The newest stream seen is remembered, so one listing can never move the roles back:
// an empty, truncated or inconsistent page, or a stale read of a stream, is not news.

// A stream's status only moves forward; a read showing an earlier one is stale.
const rank: Record<StreamStatus, number> = { STARTING: 0, REPLICATING: 1, FAILING_OVER: 2, COMPLETED: 3, CANCELED: 3 }

// The remembered stream updated by a read of the same stream.
export function merge(remembered: Stream, seen: Stream): Stream {
  return rank[seen.status] < rank[remembered.status] ? remembered : seen
}

export type ListingMeaning =
  | { kind: 'adopt'; stream: Stream | undefined }
  // The listing lacks the remembered stream, or shows only an older one: read it by id.
  | { kind: 'confirm'; streamId: string }

export function readListing(remembered: Stream | undefined, listed: Stream | undefined): ListingMeaning {
  if (remembered === undefined) return { kind: 'adopt', stream: listed }
  if (listed === undefined) return { kind: 'confirm', streamId: remembered.id }
  if (listed.id === remembered.id) return { kind: 'adopt', stream: merge(remembered, listed) }
  return newestFirst(listed, remembered) < 0 ? { kind: 'adopt', stream: listed } : { kind: 'confirm', streamId: remembered.id }
}
