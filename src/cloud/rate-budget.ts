// The client's share of the Cloud API's rate limit (10 requests a second per key): at
// most `requests` requests in any window of `windowMs`. A window and not a token bucket,
// because the API counts requests per second: a bucket of 8 a second with a burst of 8
// sends 15 within one second, and the API refuses the last five. Requests over the
// budget wait for a slot in order of priority, then of arrival; none is refused here.

// The Cloud API's limit per key, and the client's default share of it: the rest is
// headroom for clock drift between our window and the API's, and for other users of the key.
export const API_RATE_LIMIT = 10
export const DEFAULT_RATE_LIMIT = 8

// decide: what a failover rests on (the checks, the fresh reads, the PATCH and its
// read-back); normal: operator mutations and one-off reads; background: polling and
// the reads an operator asks for to look.
export type Priority = 'decide' | 'normal' | 'background'

const rank: Record<Priority, number> = { decide: 0, normal: 1, background: 2 }

export interface BudgetClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

// Monotonic: the window must not move with the wall clock.
const realClock: BudgetClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout)
}

export interface TakeOptions {
  signal?: AbortSignal
  // Past this wait the slot is not worth having: the answer is { granted: false }.
  maxWaitMs?: number
}

export interface Grant {
  granted: boolean
  waitedMs: number
}

export interface RateBudget {
  readonly requests: number
  readonly windowMs: number
  take(priority: Priority, options?: TakeOptions): Promise<Grant>
  // Requests waiting for a slot now.
  waiting(): number
}

// CLOUD_API_RATE_LIMIT requests a second: whole requests in a window of a second or
// more (0.5 a second is one request every 2 s).
export function windowOf(perSecond: number): { requests: number; windowMs: number } {
  const requests = Math.max(1, Math.floor(perSecond))
  return { requests, windowMs: (requests / perSecond) * 1000 }
}

interface Waiter {
  rank: number
  since: number
  expiresAt: number
  settle(granted: boolean): void
}

export function createRateBudget(perSecond: number, clock: BudgetClock = realClock): RateBudget {
  if (!(perSecond > 0)) throw new RangeError(`rate budget must be above 0 requests a second, got ${perSecond}`)
  const { requests, windowMs } = windowOf(perSecond)
  // When the slots of the current window were handed out, oldest first.
  const sent: number[] = []
  const queue: Waiter[] = []
  let timer: unknown

  function freeAt(t: number): number {
    while (sent.length > 0 && (sent[0] as number) <= t - windowMs) sent.shift()
    return sent.length < requests ? t : (sent[0] as number) + windowMs
  }

  function pump(): void {
    clock.clearTimeout(timer)
    timer = undefined
    const t = clock.now()
    while (queue.length > 0 && freeAt(t) <= t) {
      sent.push(t)
      ;(queue.shift() as Waiter).settle(true)
    }
    for (const waiter of queue.filter((w) => w.expiresAt <= t)) waiter.settle(false)
    if (queue.length === 0) return
    const next = Math.min(freeAt(t), ...queue.map((w) => w.expiresAt))
    // Never 0: a timer that fires a hair early would otherwise spin.
    timer = clock.setTimeout(pump, Math.max(1, Math.ceil(next - t)))
  }

  function take(priority: Priority, options: TakeOptions = {}): Promise<Grant> {
    const { signal } = options
    if (signal?.aborted) return Promise.reject(signal.reason)
    const t = clock.now()
    if (queue.length === 0 && freeAt(t) <= t) {
      sent.push(t)
      return Promise.resolve({ granted: true, waitedMs: 0 })
    }
    const maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY
    if (maxWaitMs <= 0) return Promise.resolve({ granted: false, waitedMs: 0 })
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        remove(waiter)
        reject(signal?.reason)
        pump()
      }
      const waiter: Waiter = {
        rank: rank[priority],
        since: t,
        expiresAt: t + maxWaitMs,
        settle(granted) {
          remove(waiter)
          signal?.removeEventListener('abort', onAbort)
          resolve({ granted, waitedMs: clock.now() - waiter.since })
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      // Behind every waiter of the same or a higher priority.
      const at = queue.findIndex((w) => w.rank > waiter.rank)
      queue.splice(at === -1 ? queue.length : at, 0, waiter)
      pump()
    })
  }

  function remove(waiter: Waiter): void {
    const at = queue.indexOf(waiter)
    if (at !== -1) queue.splice(at, 1)
  }

  return { requests, windowMs, take, waiting: () => queue.length }
}
