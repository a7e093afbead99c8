// Admin token guessing is slowed per client address: after `maxFailures`
// refusals within `windowMs`, that address alone is refused for `lockoutMs`.
// Attempts during a lockout do not extend it, so the real operator is never
// locked out for longer than one cool-down by someone sharing the address, and
// other addresses (and the non-admin routes) are untouched.

export interface AuthLimiterOptions {
  maxFailures: number
  windowMs: number
  lockoutMs: number
  now: () => number
  // Addresses tracked at once; the least recently seen is forgotten first.
  maxTracked?: number
}

export interface AuthLimiter {
  // Milliseconds the address must still wait, 0 when it may try.
  lockedFor(address: string): number
  // Records a refusal; true when it starts a lockout.
  fail(address: string): boolean
  tracked(): number
}

interface Entry {
  failures: number[]
  lockedUntil: number
}

export function createAuthLimiter(options: AuthLimiterOptions): AuthLimiter {
  const { maxFailures, windowMs, lockoutMs, now, maxTracked = 10_000 } = options
  const entries = new Map<string, Entry>()
  return {
    lockedFor(address) {
      const entry = entries.get(address)
      return entry === undefined ? 0 : Math.max(0, entry.lockedUntil - now())
    },
    fail(address) {
      const at = now()
      const entry = entries.get(address) ?? { failures: [], lockedUntil: 0 }
      // Re-inserted so the map's order is least recently seen first.
      entries.delete(address)
      entries.set(address, entry)
      if (entries.size > maxTracked) entries.delete(entries.keys().next().value as string)
      entry.failures = entry.failures.filter((t) => t > at - windowMs)
      entry.failures.push(at)
      if (entry.failures.length < maxFailures) return false
      entry.failures = []
      entry.lockedUntil = at + lockoutMs
      return true
    },
    tracked: () => entries.size
  }
}
