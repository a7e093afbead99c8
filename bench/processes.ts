import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DEFAULT_API_KEY, DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID } from '../src/emulator/seed.js'
import { spawnNode, viaTsx, type ServerProcess } from '../tools/spawn-server.js'

// The processes under test: the service and the bare-Fastify baseline, each in
// its own process so that neither shares an event loop with the load generator.

/** How the service is started: the build, as in production, or the sources through tsx. */
export type Entry = 'dist' | 'src'

export const root = fileURLToPath(new URL('..', import.meta.url))

// The build runs as the image runs it: the Dockerfile's CMD, its Node flags included.
function imageCommand(): string[] {
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(`${root}Dockerfile`, 'utf8'))?.[1]
  if (cmd === undefined) throw new Error('the Dockerfile has no exec-form CMD')
  const [node, ...args] = JSON.parse(cmd) as string[]
  if (node !== 'node' || args.at(-1) !== 'dist/src/server.js') throw new Error(`the Dockerfile's CMD is not node … dist/src/server.js: ${cmd}`)
  return [...args.slice(0, -1), `${root}dist/src/server.js`]
}

const serverEntry: Record<Entry, string[]> = {
  dist: imageCommand(),
  src: viaTsx(`${root}src/server.ts`)
}

export function checkEntry(entry: Entry): void {
  if (entry === 'dist' && !existsSync(`${root}dist/src/server.js`)) {
    throw new Error('dist/src/server.js is missing: run `npm run build` first, or pass --entry src')
  }
}

function spawnBenched(args: string[], env: Record<string, string>): ServerProcess {
  // A clean environment: a developer's COCKROACH_* or LOG_LEVEL must not change what is measured;
  // and the working directory is bench/, so no .env file of the repository is read either.
  return spawnNode(args, { cwd: `${root}bench`, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env }, keep: 64 * 1024 })
}

export interface Service {
  url: string
  child: ServerProcess
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

export function spawnService(options: ServiceOptions): ServerProcess {
  const args = [...(options.inspect === true ? ['--inspect=127.0.0.1:0'] : []), ...profilerArgs(options.profileDir), ...serverEntry[options.entry]]
  return spawnBenched(args, {
    COCKROACH_API_URL: options.emulatorUrl,
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    PRIMARY_CLUSTER_ID: DEFAULT_PRIMARY_ID,
    STANDBY_CLUSTER_ID: DEFAULT_STANDBY_ID,
    HOST: '127.0.0.1',
    PORT: '0',
    ...options.env
  })
}

export async function startService(options: ServiceOptions): Promise<Service> {
  const child = spawnService(options)
  try {
    const inspectorUrl = options.inspect === true ? (await child.waitForOutput(/Debugger listening on (ws:\/\/\S+)/, 30_000))[1] : undefined
    return { url: await child.listening(30_000), child, ...(inspectorUrl !== undefined && { inspectorUrl }) }
  } catch (error) {
    await child.stop()
    throw error
  }
}

/** The bare-Fastify baseline, answering each path with its constant body. */
export async function startBaseline(bodies: Record<string, unknown>, profileDir?: string): Promise<Service> {
  const args = [...profilerArgs(profileDir), `${root}bench/baseline-server.mjs`]
  const child = spawnBenched(args, { BASELINE_BODIES: JSON.stringify(bodies) })
  try {
    const [, url] = await child.waitForOutput(/baseline listening at (http:\/\/127\.0\.0\.1:\d+)/, 30_000)
    return { url: url as string, child }
  } catch (error) {
    await child.stop()
    throw error
  }
}
