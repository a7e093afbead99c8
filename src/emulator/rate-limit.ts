// The Cloud API's rate limit: at most `perSecond` requests per API key in any
// one-second window (the API documents 10 per second per user; each key is a
// user here). Refused requests do not count. The window runs on real time,
// never on the emulated clock, which tests move forward by hours.
//
// Inferred, not documented: a key that keeps sending while told to wait is told
// to wait longer. A refusal names a time in Retry-After; requests that come
// before it are refused too, and once a key has sent a second's worth of them
// (perSecond) within one wait, the wait doubles, up to maxWaitSeconds. A key
// that waits as told starts again from one second.
//
// Not documented either: the status. 429 by default; 503 on request, which a
// client must treat the same way.

export interface RateLimit {
  perSecond: number
  /** The status of a refusal: 429 (default) or 503. */
  status?: 429 | 503
  /** The longest wait a refusal names (default 60 s). */
  maxWaitSeconds?: number
  /** The clock of the window, in ms: real time (performance.now) unless a test steers it. */
  now?: () => number
}

export type RateLimitVerdict = { ok: true } | { ok: false; status: 429 | 503; retryAfterSeconds: number }

export type RateLimiter = ReturnType<typeof createRateLimiter>

interface KeyWindow {
  /** When the requests of the last second were accepted. */
  accepted: number[]
  /** Before this time, every request is refused: the key was told to wait. */
  blockedUntil: number
  /** The wait named last. */
  waitMs: number
  /** Requests refused since the wait was last named. */
  ignored: number
}

const SECOND = 1000

export function createRateLimiter(limit: RateLimit) {
  const now = limit.now ?? (() => performance.now())
  const status = limit.status ?? 429
  const maxWaitMs = (limit.maxWaitSeconds ?? 60) * SECOND
  const windows = new Map<string, KeyWindow>()

  function refuse(window: KeyWindow, t: number): RateLimitVerdict {
    return { ok: false, status, retryAfterSeconds: Math.max(1, Math.ceil((window.blockedUntil - t) / SECOND)) }
  }

  return {
    /** Counts a request of the key, or says how many seconds it must wait. */
    take(key: string): RateLimitVerdict {
      const t = now()
      let window = windows.get(key)
      if (window === undefined) {
        window = { accepted: [], blockedUntil: -Infinity, waitMs: SECOND, ignored: 0 }
        windows.set(key, window)
      }
      window.accepted = window.accepted.filter((at) => at > t - SECOND)
      if (t < window.blockedUntil) {
        window.ignored += 1
        if (window.ignored >= limit.perSecond) {
          window.waitMs = Math.min(maxWaitMs, window.waitMs * 2)
          window.blockedUntil = t + window.waitMs
          window.ignored = 0
        }
        return refuse(window, t)
      }
      const oldest = window.accepted[0]
      if (oldest !== undefined && window.accepted.length >= limit.perSecond) {
        // Whole seconds, as Retry-After names them: the client may come back then.
        window.waitMs = Math.ceil((oldest + SECOND - t) / SECOND) * SECOND
        window.blockedUntil = t + window.waitMs
        window.ignored = 0
        return refuse(window, t)
      }
      window.accepted.push(t)
      window.waitMs = SECOND
      window.ignored = 0
      return { ok: true }
    },

    reset() {
      windows.clear()
    }
  }
}
