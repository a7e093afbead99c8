import type { Clock } from './engine.js'

// The timers of an operation end with it: however it ends (done, failed, its
// deadline, the service stopping), its signal aborts and they are cleared, so a
// finished operation leaves nothing running and nothing holding the process open.

// Calls expire after ms unless the operation (running now) has ended by then. A
// deadline is a backstop: it does not keep the process alive on its own.
export function deadline(clock: Clock, signal: AbortSignal, ms: number, expire: () => void): void {
  const cancel = () => clock.clearTimeout(timer)
  const timer = clock.setTimeout(() => {
    signal.removeEventListener('abort', cancel)
    expire()
  }, Math.max(0, ms))
  // A Node.js timer (the system clock's); a test clock's may have no unref.
  const node = timer as { unref?: () => void } | undefined
  node?.unref?.()
  signal.addEventListener('abort', cancel, { once: true })
}

// Waits ms, or less if the operation ends meanwhile.
export function pause(clock: Clock, signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const end = () => {
      clock.clearTimeout(timer)
      signal.removeEventListener('abort', end)
      resolve()
    }
    const timer = clock.setTimeout(end, ms)
    signal.addEventListener('abort', end)
  })
}
