import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { untracedEnv } from '../child-env.js'
import { spawnServer, type ServerProcess } from '../spawn-server.js'

// The real service process (`node --import tsx src/server.ts`), which the chaos
// runner kills with SIGKILL and starts again. Any exit it did not cause is kept
// as evidence against invariant 5.

// What killAllSidecars stops; spawnServer kills what is left if the runner dies.
const running = new Set<ChildProcess>()
let shuttingDown = false

/**
 * For a runner interrupted by a signal: SIGKILLs every service process it started,
 * waits for them to exit, and refuses to start more. Returns their pids.
 */
export async function killAllSidecars(): Promise<number[]> {
  shuttingDown = true
  const children = [...running]
  await Promise.all(
    children.map((c) => {
      if (c.exitCode !== null || c.signalCode !== null) return undefined
      const exited = new Promise((resolve) => c.once('exit', resolve))
      c.kill('SIGKILL')
      return exited
    })
  )
  return children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]))
}

export interface UnexpectedExit {
  at: number
  code: number | null
  signal: string | null
  stderr: string
}

export interface Sidecar {
  /** The listening URL, or undefined while (re)starting. */
  url(): string | undefined
  /** SIGKILL the current process (even one still starting) and start another; resolves once it listens or is itself killed. */
  restart(): Promise<void>
  /** Resident memory of the current process in kB, from /proc. */
  rssKb(): number | undefined
  /** The current process, once listening: its pid, open file descriptors (/proc/<pid>/fd) and when it began listening. */
  fds(): { pid: number; count: number; readyAt: number } | undefined
  unexpectedExits: UnexpectedExit[]
  /** Each time a process began listening. */
  readyTimes: number[]
  stop(): Promise<void>
}

// cwd: a directory without a .env file, so only `env` configures the process.
export async function startSidecar(env: Record<string, string>, cwd: string): Promise<Sidecar> {
  let current: ServerProcess | undefined
  let url: string | undefined
  const expected = new WeakSet<ServerProcess>()
  // Overlapping restarts: only the newest starts a process.
  let generation = 0

  const launch = async () => {
    if (shuttingDown) throw new Error('the chaos runner is shutting down')
    // Only the end of each stream is kept: the process logs every event.
    const p = spawnServer({ env: untracedEnv(env), cwd, keep: 4000 })
    current = p
    running.add(p.child)
    p.child.once('exit', (code, signal) => {
      running.delete(p.child)
      if (!expected.has(p) && !shuttingDown) sidecar.unexpectedExits.push({ at: Date.now(), code, signal, stderr: p.stderr() + p.stdout() })
      if (current === p) url = undefined
    })
    try {
      const listening = await p.listening()
      if (current === p) {
        url = listening
        sidecar.readyTimes.push(Date.now())
      }
    } catch (err) {
      // A process killed while starting was superseded by the next one.
      if (!expected.has(p)) throw err
    }
  }

  const kill = async () => {
    const p = current
    if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return
    expected.add(p)
    url = undefined
    await p.stop('SIGKILL')
  }

  const sidecar: Sidecar = {
    url: () => url,
    async restart() {
      const mine = ++generation
      await kill()
      if (mine !== generation) return
      await launch()
    },
    rssKb() {
      const pid = current?.pid
      if (pid === undefined) return undefined
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        return m === null ? undefined : Number(m[1])
      } catch {
        return undefined
      }
    },
    fds() {
      const pid = current?.pid
      if (pid === undefined || url === undefined) return undefined
      try {
        return { pid, count: readdirSync(`/proc/${pid}/fd`).length, readyAt: sidecar.readyTimes.at(-1) ?? 0 }
      } catch {
        return undefined
      }
    },
    unexpectedExits: [],
    readyTimes: [],
    async stop() {
      generation += 1
      await kill()
    }
  }
  await launch()
  return sidecar
}
