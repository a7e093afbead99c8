// The Cloud API's rate limit: at most `perSecond` requests in any one-second
// window. Refused requests do not count.

export interface RateLimit {
  perSecond: number
}

export type RateLimiter = ReturnType<typeof createRateLimiter>

export function createRateLimiter(limit: RateLimit, now: () => number) {
  let accepted: number[] = []
  return {
    /** Counts the request, or returns how many seconds to wait before retrying. */
    take(): { ok: true } | { ok: false; retryAfterSeconds: number } {
      const t = now()
      accepted = accepted.filter((at) => at > t - 1000)
      const oldest = accepted[0]
      if (oldest !== undefined && accepted.length >= limit.perSecond) {
        return { ok: false, retryAfterSeconds: Math.ceil((oldest + 1000 - t) / 1000) }
      }
      accepted.push(t)
      return { ok: true }
    },

    reset() {
      accepted = []
    }
  }
}
