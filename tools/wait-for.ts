import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'

// The one way tests, benchmarks and scripts wait for something to become true.

export interface WaitOptions {
  /** How long to keep asking, in ms. */
  timeoutMs?: number
  /** The pause between two attempts, in ms. */
  intervalMs?: number
  /** Ends the wait at once when aborted (a process that exited, say), rejecting with its reason. */
  signal?: AbortSignal
}

export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>

/**
 * Asks `condition` until it gives a truthy value, and returns that value. An
 * attempt that throws counts as a no. After `timeoutMs` the wait fails with an
 * error naming `what` and the last answer or error seen.
 */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = 20_000, intervalMs = 20, signal } = options
  const deadline = performance.now() + timeoutMs
  for (;;) {
    signal?.throwIfAborted()
    let last: string
    try {
      const value = await condition()
      if (value) return value as Truthy<T>
      last = `last answer: ${inspect(value, { depth: 2, breakLength: Infinity })}`
    } catch (err) {
      last = `last error: ${err instanceof Error ? err.message : inspect(err)}`
    }
    if (performance.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms (${last})`)
    // An abort during the pause rejects with the signal's reason, not sleep's AbortError.
    await sleep(intervalMs, undefined, { signal }).catch(() => signal?.throwIfAborted())
  }
}
