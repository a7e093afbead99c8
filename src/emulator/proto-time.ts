// Times as the Cloud API writes them: protojson's google.protobuf.Timestamp,
// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, the fewest that hold
// the value. They are bigint nanoseconds here, because a double of
// milliseconds cannot hold nanoseconds at today's dates.

const NS_PER_MS = 1_000_000n
const NS_PER_S = 1_000_000_000n

/** A clock reading (milliseconds, possibly fractional) as nanoseconds, to the whole millisecond. */
export function nanosFromMs(ms: number): bigint {
  return BigInt(Math.floor(ms)) * NS_PER_MS
}

/** Nanoseconds as milliseconds; split so that whole milliseconds stay exact. */
export function msFromNanos(ns: bigint): number {
  const whole = ns / NS_PER_MS - (ns % NS_PER_MS < 0n ? 1n : 0n)
  return Number(whole) + Number(ns - whole * NS_PER_MS) / 1e6
}

export function formatTimestamp(ns: bigint): string {
  const fraction = ((ns % NS_PER_S) + NS_PER_S) % NS_PER_S
  const seconds = (ns - fraction) / NS_PER_S
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19)
  if (fraction === 0n) return `${base}Z`
  const digits = fraction.toString().padStart(9, '0')
  const kept = fraction % 1_000_000n === 0n ? 3 : fraction % 1000n === 0n ? 6 : 9
  return `${base}.${digits.slice(0, kept)}Z`
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/

/** An RFC 3339 time with its nanoseconds, or undefined when it is not one protojson would read. */
export function parseTimestamp(text: string): bigint | undefined {
  const match = RFC3339.exec(text)
  if (match === null) return undefined
  const [, base, fraction = '', offset] = match
  const ms = Date.parse(`${base}${offset}`)
  if (Number.isNaN(ms)) return undefined
  return BigInt(ms) * NS_PER_MS + BigInt(fraction.padEnd(9, '0'))
}

/** A 32-bit hash of an integer number of milliseconds (which exceeds 32 bits). */
function hash(ms: number): number {
  let h = Math.imul((ms >>> 0) ^ Math.imul(Math.floor(ms / 2 ** 32), 0x27d4eb2d), 0x9e3779b1)
  h ^= h >>> 15
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}

/**
 * A replicated time as the standby publishes it: an HLC wall time with
 * nanoseconds. The sub-millisecond part is derived from the millisecond, so
 * the same frontier always reads the same; a quarter of the values are whole
 * milliseconds, a quarter whole microseconds, the rest full nanoseconds, so
 * clients meet every precision. It lies within the millisecond below `ms`:
 * never later than the frontier, and a later frontier never reads earlier.
 */
export function replicatedNanos(ms: number): bigint {
  const whole = Math.floor(ms)
  return BigInt(whole) * NS_PER_MS - BigInt(belowMillisecond(hash(whole)))
}

/** Nanoseconds below a whole millisecond: none, whole microseconds, or any. */
function belowMillisecond(h: number): number {
  switch (h % 4) {
    case 0:
      return 0
    case 1:
      return (((h >>> 2) % 999) + 1) * 1000
    default:
      return ((h >>> 2) % 999_999) + 1
  }
}

/** The control API's and the request log's own times: JavaScript's ISO form, always three digits. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
