import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DEFAULT_API_KEY, DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID } from '../src/emulator/seed.js'

// The processes under test: the service and the bare-Fastify baseline, each in
// its own process so that neither shares an event loop with the load generator.

/** How the service is started: the build, as in production, or the sources through tsx. */
export type Entry = 'dist' | 'src'

export const root = fileURLToPath(new URL('..', import.meta.url))
// Resolved here: the children run in bench/, where a bare "tsx" would not resolve.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const serverEntry: Record<Entry, string[]> = {
  dist: [`${root}dist/src/server.js`],
  src: ['--import', tsx, `${root}src/server.ts`]
}

export function checkEntry(entry: Entry): void {
  if (entry === 'dist' && !existsSync(`${root}dist/src/server.js`)) {
    throw new Error('dist/src/server.js is missing: run `npm run build` first, or pass --entry src')
  }
}

export interface Child {
  pid: number
  /** Resolves with the first match in the output so far or to come, or rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>
  stop(): Promise<void>
}

const keptOutput = 64 * 1024

function spawnNode(args: string[], env: Record<string, string>): Child {
  // A clean environment: a developer's COCKROACH_* or LOG_LEVEL must not change what is measured;
  // and the working directory is bench/, so no .env file of the repository is read either.
  const child = spawn(process.execPath, args, {
    cwd: `${root}bench`,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const watchers = new Set<() => void>()
  // Always read: a full pipe would block the service on its next log line.
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-keptOutput)
    for (const watcher of watchers) watcher()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    pid: child.pid as number,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const done = (error?: Error, match?: RegExpExecArray) => {
          watchers.delete(check)
          clearTimeout(timer)
          child.off('exit', onExit)
          if (match !== undefined) resolve(match)
          else reject(error)
        }
        const check = () => {
          const match = pattern.exec(output)
          if (match !== null) done(undefined, match)
        }
        const onExit = (code: number | null) => done(new Error(`the process exited (${code}) before ${pattern}:\n${output}`))
        const timer = setTimeout(() => done(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs)
        watchers.add(check)
        child.once('exit', onExit)
        check()
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    }
  }
}

export interface Service {
  url: string
  child: Child
  /** The inspector's WebSocket URL, when started with inspect. */
  inspectorUrl?: string
}

export interface ServiceOptions {
  entry: Entry
  emulatorUrl: string
  /** Configuration beyond the pair, the emulator and the address: defaults otherwise. */
  env?: Record<string, string>
  /** Opens the inspector on a free port (the memory benchmark forces GC through it). */
  inspect?: boolean
  /** Runs under the V8 sampling profiler, which writes its profile here on exit. */
  profileDir?: string
}

function profilerArgs(dir: string | undefined): string[] {
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250']
}

export function spawnService(options: ServiceOptions): Child {
  const args = [...(options.inspect === true ? ['--inspect=127.0.0.1:0'] : []), ...profilerArgs(options.profileDir), ...serverEntry[options.entry]]
  return spawnNode(args, {
    COCKROACH_API_URL: options.emulatorUrl,
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    PRIMARY_CLUSTER_ID: DEFAULT_PRIMARY_ID,
    STANDBY_CLUSTER_ID: DEFAULT_STANDBY_ID,
    HOST: '127.0.0.1',
    PORT: '0',
    ...options.env
  })
}

/** The service's address, from its own "Server listening" log line. */
export async function listeningUrl(child: Child, timeoutMs = 30_000): Promise<string> {
  const [, url] = await child.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/, timeoutMs)
  return url as string
}

export async function startService(options: ServiceOptions): Promise<Service> {
  const child = spawnService(options)
  try {
    const inspectorUrl = options.inspect === true ? (await child.waitFor(/Debugger listening on (ws:\/\/\S+)/, 30_000))[1] : undefined
    return { url: await listeningUrl(child), child, ...(inspectorUrl !== undefined && { inspectorUrl }) }
  } catch (error) {
    await child.stop()
    throw error
  }
}

/** The bare-Fastify baseline, answering each path with its constant body. */
export async function startBaseline(bodies: Record<string, unknown>, profileDir?: string): Promise<Service> {
  const args = [...profilerArgs(profileDir), '--import', tsx, `${root}bench/baseline-server.ts`]
  const child = spawnNode(args, { BASELINE_BODIES: JSON.stringify(bodies) })
  try {
    const [, url] = await child.waitFor(/baseline listening at (http:\/\/127\.0\.0\.1:\d+)/, 30_000)
    return { url: url as string, child }
  } catch (error) {
    await child.stop()
    throw error
  }
}
