import type { Clock } from '../../src/engine/engine.js'

/** A clock that moves only when its owner waits, so hours of polling pass in milliseconds. */
export function waitingClock(startIso = '2026-01-05T10:00:00.000Z'): Clock & { start: number } {
  const start = Date.parse(startIso)
  let now = start
  return {
    start,
    now: () => now,
    setTimeout(fn, ms) {
      now += ms
      setImmediate(fn)
      return undefined
    },
    clearTimeout: () => undefined
  }
}
