import { setTimeout as delay } from 'node:timers/promises'

// One sink's deliveries, one at a time and in order. push() only appends, so the
// engine that emits never waits on a sink; the backlog is bounded, so a sink that
// hangs costs at most `limit` pending items, the oldest of which give way.

export interface DeliveryQueue<T> {
  push(item: T): void
  // Lets the backlog drain for graceMs, then drops what is left and aborts the delivery in flight.
  close(graceMs: number): Promise<void>
}

export interface DeliveryQueueOptions<T> {
  limit: number
  // Aborting the signal asks the delivery in flight to give up at once.
  deliver(item: T, signal: AbortSignal): Promise<void>
  dropped(item: T, why: 'overflow' | 'shutdown'): void
  // A delivery that throws is a bug, not a sink failure; the queue goes on.
  crashed(item: T, error: unknown): void
}

export function createDeliveryQueue<T>(options: DeliveryQueueOptions<T>): DeliveryQueue<T> {
  const pending: T[] = []
  const shutdown = new AbortController()
  let closed = false
  let pumping: Promise<void> | undefined

  async function pump(): Promise<void> {
    for (let item = pending.shift(); item !== undefined; item = pending.shift()) {
      try {
        await options.deliver(item, shutdown.signal)
      } catch (error) {
        options.crashed(item, error)
      }
    }
    pumping = undefined
  }

  return {
    push(item) {
      if (closed) return
      pending.push(item)
      if (pending.length > options.limit) options.dropped(pending.shift() as T, 'overflow')
      pumping ??= pump()
    },
    async close(graceMs) {
      closed = true
      if (pumping === undefined) return
      const grace = new AbortController()
      await Promise.race([pumping, delay(graceMs, undefined, { signal: grace.signal }).catch(() => undefined)])
      grace.abort()
      if (pumping === undefined) return
      for (const item of pending.splice(0)) options.dropped(item, 'shutdown')
      shutdown.abort()
      await pumping
    }
  }
}
