import type { Stream } from './schemas.js'

// An RFC 3339 time, as the schemas accept it (YYYY-MM-DDTHH:MM:SS, any fraction, Z or an
// offset), in nanoseconds since the epoch. The API writes 0, 3, 6 or 9 fractional digits;
// Date.parse keeps milliseconds only, so two times in the same millisecond would tie.
export function epochNanos(time: string): bigint {
  const rest = time.slice(19)
  const digits = rest.replace(/^(?:\.(\d+))?.*$/, '$1')
  const zone = rest.replace(/^\.\d+/, '')
  return BigInt(Date.parse(time.slice(0, 19) + zone)) * 1_000_000n + BigInt(digits.slice(0, 9).padEnd(9, '0'))
}

// Newest first: by creation time to the nanosecond, then by id, so that every sidecar
// orders the same streams the same way.
export function newestFirst(a: Pick<Stream, 'id' | 'created_at'>, b: Pick<Stream, 'id' | 'created_at'>): number {
  const at = epochNanos(a.created_at)
  const bt = epochNanos(b.created_at)
  if (at !== bt) return at > bt ? -1 : 1
  return a.id > b.id ? -1 : a.id < b.id ? 1 : 0
}

export function newest<S extends Pick<Stream, 'id' | 'created_at'>>(streams: readonly S[]): S | undefined {
  return [...streams].sort(newestFirst)[0]
}
