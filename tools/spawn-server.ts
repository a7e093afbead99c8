import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

// A node process of its own, as the tests, the benchmarks and the chaos runner start
// one: the real service (src/server.ts through tsx) unless told otherwise, its output
// kept, waits for a line of it that fail as soon as the process exits, and a stop.

// Resolved here: a child working elsewhere could not resolve a bare "tsx".
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))

/** node's arguments that run a TypeScript file through tsx. */
export function viaTsx(file: string): string[] {
  return ['--import', tsx, file]
}

export interface SpawnOptions {
  /** The child's whole environment: nothing of this process's is passed on unless it is here. */
  env: NodeJS.ProcessEnv
  /** Its working directory; unless given, a new empty one (no .env file), removed once it has exited. */
  cwd?: string
  /** How many characters of each stream are kept, the last ones; all unless given. */
  keep?: number
}

export interface ServerProcess {
  child: ChildProcess
  pid: number
  stdout(): string
  stderr(): string
  /** Its exit code (null when a signal ended it), once it has exited and its output is read. */
  exited: Promise<number | null>
  /** The first match in stdout, else in stderr, so far or to come; rejects once the process has exited without one, or after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** The service's URL, from its "Server listening at" line. */
  listening(timeoutMs?: number): Promise<string>
  /** Sends `signal` (SIGTERM unless told), SIGKILL 10 s later, and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

// A test or a runner that ends early must not leave its processes running.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Runs `node ...args`. */
export function spawnNode(args: string[], options: SpawnOptions): ServerProcess {
  const dir = options.cwd ?? mkdtempSync(join(tmpdir(), 'pcr-server-'))
  const child = spawn(process.execPath, args, { cwd: dir, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  const keep = options.keep ?? Infinity
  const output = { stdout: '', stderr: '' }
  const watchers = new Set<() => void>()
  // Always read: a full pipe would block the child on its next write.
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8').on('data', (chunk: string) => {
      output[stream] = (output[stream] + chunk).slice(-keep)
      for (const watcher of watchers) watcher()
    })
  }
  let closed = false
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true
      running.delete(child)
      if (options.cwd === undefined) rmSync(dir, { recursive: true, force: true })
      for (const watcher of watchers) watcher()
      resolve(code)
    })
  )
  const said = () => `\nstdout:\n${output.stdout}\nstderr:\n${output.stderr}`

  const waitForOutput = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output.stdout) ?? pattern.exec(output.stderr)
        if (match !== null) settle(() => resolve(match))
        else if (closed) settle(() => reject(new Error(`the process exited (${child.signalCode ?? child.exitCode}) before ${pattern}:${said()}`)))
      }
      const timer = setTimeout(() => settle(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:${said()}`))), timeoutMs)
      const settle = (done: () => void) => {
        watchers.delete(check)
        clearTimeout(timer)
        done()
      }
      watchers.add(check)
      check()
    })

  return {
    child,
    pid: child.pid as number,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    exited,
    waitForOutput,
    listening: async (timeoutMs) => (await waitForOutput(/Server listening at (https?:\/\/127\.0\.0\.1:\d+)/, timeoutMs))[1] as string,
    async stop(signal = 'SIGTERM') {
      if (!closed) child.kill(signal)
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(killer)
      return code
    }
  }
}

/** Runs the service from its sources: `node --import tsx src/server.ts`. */
export function spawnServer(options: SpawnOptions): ServerProcess {
  return spawnNode(viaTsx(server), options)
}
