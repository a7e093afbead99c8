import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { untracedEnv } from '../child-env.js'

// The real service process (`node --import tsx src/server.ts`), which the chaos
// runner kills with SIGKILL and starts again. Any exit it did not cause is kept
// as evidence against invariant 5.

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const server = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

// A runner that dies must not leave a service behind.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL')
})
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

// Keeps only the end of a stream: the process logs every event.
function tail(keep: number) {
  let text = ''
  return {
    add(chunk: string) {
      text = (text + chunk).slice(-keep)
    },
    text: () => text
  }
}

// cwd: a directory without a .env file, so only `env` configures the process.
export async function startSidecar(env: Record<string, string>, cwd: string): Promise<Sidecar> {
  let child: ChildProcess | undefined
  let url: string | undefined
  const expected = new WeakSet<ChildProcess>()
  // Overlapping restarts: only the newest starts a process.
  let generation = 0

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      if (shuttingDown) return reject(new Error('the chaos runner is shutting down'))
      const c = spawn(process.execPath, ['--import', tsx, server], {
        cwd,
        env: untracedEnv(env),
        stdio: ['ignore', 'pipe', 'pipe']
      })
      child = c
      running.add(c)
      const out = tail(4000)
      const err = tail(4000)
      c.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out.add(d)
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out.text())
        if (url === undefined && child === c && m !== null) {
          url = m[1]
          sidecar.readyTimes.push(Date.now())
          resolve()
        }
      })
      c.stderr?.setEncoding('utf8').on('data', (d: string) => err.add(d))
      c.once('exit', (code, signal) => {
        running.delete(c)
        if (!expected.has(c) && !shuttingDown) sidecar.unexpectedExits.push({ at: Date.now(), code, signal, stderr: err.text() + out.text() })
        if (child === c) url = undefined
        // A process killed while starting was superseded by the next one.
        if (expected.has(c)) resolve()
        else reject(new Error(`sidecar exited before listening (${signal ?? code})`))
      })
    })

  const kill = async () => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    expected.add(c)
    url = undefined
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
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
      const pid = child?.pid
      if (pid === undefined) return undefined
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        return m === null ? undefined : Number(m[1])
      } catch {
        return undefined
      }
    },
    fds() {
      const pid = child?.pid
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
