import type { PageRequest } from './pagination.js'
import type { EmulatorState, StreamFilter } from './state.js'

// The stream listing under an `empty` or `truncated` fault: a well-formed page
// that misses streams, as a lagging read of a real API may answer. Neither
// has a next page, so a client cannot tell it from the whole list.

type ListingFaultKind = 'empty' | 'truncated'

export function faultyStreamListing(state: EmulatorState, kind: ListingFaultKind, filter: StreamFilter, page: PageRequest) {
  if (kind === 'empty') return { physical_replication_streams: [], pagination: {} }
  // Every matching stream, oldest first, whatever page was asked for; then the newest is left out.
  const all = state.listStreams(filter, { order: 'ASC', limit: Number.POSITIVE_INFINITY, asOf: page.asOf })
  const older = all.physical_replication_streams.slice(0, -1)
  const items = page.order === 'ASC' ? older : older.reverse()
  return { physical_replication_streams: items.slice(0, page.limit), pagination: {} }
}
