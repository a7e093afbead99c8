import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { unusedPort } from './unused-port.js'

// What the helpers that run a real server (PostgreSQL, PgBouncer, HAProxy, etcd) share.

// PostgreSQL and PgBouncer refuse to run as root, so as root they run as the postgres user.
export const postgresOwner: { uid: number; gid: number } | { uid?: undefined; gid?: undefined } =
  process.getuid?.() === 0
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
      }
    : {}

/** A launch failed because another process bound the port first. */
export class PortTaken extends Error {}

/** Runs `launch` on a free loopback port, picking another when the port was taken meanwhile. */
export function onFreePort<T>(launch: (port: number) => Promise<T>): Promise<T> {
  return onFreePorts(1, (ports) => launch(ports[0] as number))
}

/** Runs `launch` on `count` distinct free loopback ports, picking others when one was taken meanwhile. */
export async function onFreePorts<T>(count: number, launch: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = new Set<number>()
    while (ports.size < count) ports.add(await unusedPort())
    try {
      return await launch([...ports])
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 5) throw err
    }
  }
}

/** Whether something accepts connections on this loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** A server run in the foreground whose log (stderr, or stdout) says when it is ready, in a temporary folder of its own. */
export interface ForegroundServer {
  /** Starts the process; resolves when a log line holds the ready text, rejects (PortTaken when the port was taken) if it exits first. */
  launch(): Promise<void>
  /** Signals the process and waits until it has exited; nothing when it is not running. */
  stop(): Promise<void>
  /** Stops it and removes its folder; safe to call twice. */
  destroy(): Promise<void>
  running(): boolean
  pid(): number | undefined
  /** Its recent log lines, for failure messages. */
  log(): string
}

export interface ForegroundServerSpec {
  /** Named in failure messages. */
  name: string
  /** The server's folder, removed by destroy() and when the test process exits. */
  dir: string
  command: string
  /** Read at each launch: the port may be chosen after the server is described. */
  args: () => string[]
  /** Text of the log line that says the server accepts connections. */
  ready: string
  /** Where the server writes its log: stderr unless told. */
  output?: 'stdout' | 'stderr'
  /** How stop() ends it, and a server still running when the test process exits: an immediate shutdown. */
  stopSignal: NodeJS.Signals
  /** How many log lines log() keeps. */
  keepLines: number
  /** Each batch of complete log lines, as they arrive. */
  onLines?: (lines: string[]) => void
}

// Servers a test forgot, or could not, destroy must not outlive the test process.
const leftovers = new Set<{ child: ChildProcess | undefined; dir: string; signal: NodeJS.Signals }>()
process.once('exit', () => {
  for (const { child, dir, signal } of leftovers) {
    child?.kill(signal)
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      // A server still shutting down can race the removal; tmpdir is cleaned eventually.
    }
  }
})

/** A folder that is removed when the test process exits, with the servers' folders. */
export function removeAtExit(dir: string): void {
  leftovers.add({ child: undefined, dir, signal: 'SIGKILL' })
}

export function foregroundServer(spec: ForegroundServerSpec): ForegroundServer {
  const state: { child: ChildProcess | undefined; dir: string; signal: NodeJS.Signals } = { child: undefined, dir: spec.dir, signal: spec.stopSignal }
  leftovers.add(state)
  const lines: string[] = []
  const log = () => lines.join('\n')

  const stop = async () => {
    const child = state.child
    if (child === undefined) return
    const closed = new Promise((resolve) => child.once('close', resolve))
    child.kill(spec.stopSignal)
    await closed
  }

  return {
    launch: () =>
      new Promise<void>((resolve, reject) => {
        const toStdout = spec.output === 'stdout'
        const child = spawn(spec.command, spec.args(), { ...postgresOwner, stdio: ['ignore', toStdout ? 'pipe' : 'ignore', toStdout ? 'ignore' : 'pipe'] })
        state.child = child
        const output = toStdout ? child.stdout : child.stderr
        let ready = false
        let partial = ''
        output?.setEncoding('utf8').on('data', (chunk: string) => {
          const complete = (partial + chunk).split('\n')
          partial = complete.pop() ?? ''
          lines.push(...complete)
          lines.splice(0, lines.length - spec.keepLines)
          spec.onLines?.(complete)
          if (!ready && complete.some((line) => line.includes(spec.ready))) {
            ready = true
            resolve()
          }
        })
        child.once('error', reject)
        child.once('close', (code, signal) => {
          state.child = undefined
          if (ready) return
          const why = `${spec.name} exited before it was ready (${signal ?? `code ${code}`}):\n${log()}`
          reject(/Address already in use/.test(log()) ? new PortTaken(why) : new Error(why))
        })
      }),
    stop,
    async destroy() {
      await stop()
      // As at exit: a server's last writes can still race the removal (ENOTEMPTY); Node retries those.
      await rm(spec.dir, { recursive: true, force: true, maxRetries: 3 })
      leftovers.delete(state)
    },
    running: () => state.child !== undefined,
    pid: () => state.child?.pid,
    log
  }
}
