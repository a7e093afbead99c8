import type { CloudApiError } from './errors.js'

export interface RetryPolicy {
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

// Same defaults as the official tools: about 4 tries, backoff from 1 s up to 30 s.
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 }

// Capped exponential backoff with equal jitter: the wait after failed attempt n lies in
// [cap/2, cap), cap = min(maxDelayMs, baseDelayMs * 2^(n-1)). Equal rather than full jitter
// keeps a floor under the wait, so clients that failed together still spread out without
// any of them coming straight back at an API that limits each user to 10 requests a second.
export function backoffDelay(failedAttempt: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1))
  return cap / 2 + (random() * cap) / 2
}

// Retry-After is either delay-seconds or an HTTP date; anything else is ignored.
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim()
  if (!text) return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  // Date.parse takes nearly anything; an HTTP date at least names a day or month.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

// What may have been a passing fault: no answer, or 429, or 5xx other than 501
// (Not Implemented will not change on a second try).
export function isTransient(error: CloudApiError): boolean {
  if (error.kind === 'timeout' || error.kind === 'network') return true
  const status = error.status
  return status === 429 || (status !== undefined && status >= 500 && status !== 501)
}
