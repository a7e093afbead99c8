// Values that change at recorded moments, and the intervals in which a
// condition holds. The emulator keeps only such events and derives the rest
// from them when read, so that nothing needs a timer.

/** A value over time: `initial` before the first change, then each change from its moment on. */
export interface Steps<T> {
  initial: T
  /** In time order; of several changes at one moment the last counts. */
  changes: Array<{ at: number; value: T }>
}

/** [start, end) in milliseconds; start may be -Infinity, end Infinity. */
export interface Interval {
  start: number
  end: number
}

export function steps<T>(initial: T): Steps<T> {
  return { initial, changes: [] }
}

export function valueAt<T>(s: Steps<T>, t: number): T {
  let value = s.initial
  for (const change of s.changes) {
    if (change.at > t) break
    value = change.value
  }
  return value
}

/** A value computed from several others, at each moment one of them changes; in one sweep. */
export function combine<T, R>(inputs: Array<Steps<T>>, f: (values: T[]) => R): Steps<R> {
  const values = inputs.map((s) => s.initial)
  // A stable sort keeps each input's changes at one moment in their order.
  const events = inputs.flatMap((s, i) => s.changes.map((change) => ({ ...change, i }))).sort((a, b) => a.at - b.at)
  const changes: Steps<R>['changes'] = []
  events.forEach(({ at, value, i }, k) => {
    values[i] = value
    if (events[k + 1]?.at !== at) changes.push({ at, value: f(values) })
  })
  return { initial: f(inputs.map((s) => s.initial)), changes }
}

/** The disjoint, ordered intervals in which the value is true. */
export function intervalsWhere(s: Steps<boolean>): Interval[] {
  const result: Interval[] = []
  let since = s.initial ? -Infinity : undefined
  s.changes.forEach(({ at, value }, k) => {
    if (s.changes[k + 1]?.at === at) return // a later change at the same moment counts
    if (value && since === undefined) since = at
    if (!value && since !== undefined) {
      if (at > since) result.push({ start: since, end: at })
      since = undefined
    }
  })
  if (since !== undefined) result.push({ start: since, end: Infinity })
  return result
}

/** Where both hold. */
export function intersect(a: Interval[], b: Interval[]): Interval[] {
  const result: Interval[] = []
  for (const x of a) {
    for (const y of b) {
      const start = Math.max(x.start, y.start)
      const end = Math.min(x.end, y.end)
      if (start < end) result.push({ start, end })
    }
  }
  return result.sort((p, q) => p.start - q.start)
}

/**
 * The moment at which `amount` ms of time inside the intervals has passed
 * since `from`; Infinity when the recorded history never gets there. With no
 * amount, the first moment from `from` on that lies inside an interval.
 */
export function advance(intervals: Interval[], from: number, amount: number): number {
  let needed = amount
  for (const { start, end } of intervals) {
    if (end <= from) continue
    const begin = Math.max(start, from)
    if (end - begin >= needed) return begin + needed
    needed -= end - begin
  }
  return Infinity
}

/**
 * The first moment, by `now`, at which the intervals have left a gap of
 * `length` ms after `from`: the end of that much time outside them.
 */
export function gapReached(intervals: Interval[], from: number, now: number, length: number): number | undefined {
  let gapStart = from
  for (const { start, end } of [...intervals, { start: Infinity, end: Infinity }]) {
    if (end <= from) continue
    const gapEnd = Math.min(start, now)
    if (gapEnd - gapStart >= length) return gapStart + length
    gapStart = Math.max(end, from)
    if (gapStart >= now) return undefined
  }
  return undefined
}
