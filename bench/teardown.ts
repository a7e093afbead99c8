import type { Teardown } from '../tools/stack.js'

// The tools (stack, fleet, etcd) clean up through a tap-like teardown; a
// bench gives them one that runs, last first, when `run` ends.
export async function withTeardown<T>(run: (t: Teardown) => Promise<T>): Promise<T> {
  const teardowns: Array<() => unknown> = []
  try {
    return await run({ teardown: (fn) => void teardowns.push(fn) })
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}
