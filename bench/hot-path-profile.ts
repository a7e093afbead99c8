import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../src/emulator/server.js'
import { credentials, getJson, waitForOk } from './http.js'
import { runLoad } from './load.js'
import { startBaseline, startService, type Entry, type Service } from './processes.js'
import type { HotPathProfile } from './results-schema.js'
import type { Sizes } from './sizes.js'
import { round } from './stats.js'

// Where the time of a GET /connection goes, in the service and in the bare
// route: each runs one load run under the V8 sampling profiler (separate from
// the measured runs, since profiling slows both down), and every sample is
// charged to the part of a request's life its stack shows. The profiler samples
// the thread's time, not its CPU: a process preempted inside a system call is
// charged for the wait, and on a busy machine that happens most in the socket
// write that wakes the client.

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

type Frame = ProfileNode['callFrame']

// In order: a sample goes to the first part one of its frames matches. Loading
// code at start and idle time are not part of serving a request.
const parts: Array<[string | null, (frame: Frame, leaf: boolean) => boolean]> = [
  [null, (f, leaf) => leaf && f.functionName === '(idle)'],
  [null, (f) => f.url.startsWith('node:internal/modules') || f.url.includes('/tsx/')],
  ['garbage collection', (f, leaf) => leaf && f.functionName === '(garbage collector)'],
  ['socket writes (and waiting for a CPU after them)', (f, leaf) => leaf && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(f.functionName)],
  ['header validation (zod)', (f) => f.url.includes('fastify/lib/validation.js')],
  ['response serialization', (f) => f.url.includes('fastify-type-provider-zod') || (f.url.includes('fastify/lib/reply.js') && f.functionName === 'serialize')],
  ['request logger (pino child, log controller)', (f) => /node_modules\/(pino|@pinojs)\//.test(f.url) || f.functionName === 'disableRequestLogging'],
  ['service code (route handler, monitor)', (f) => /\/(routes|src)\/[^/]+/.test(f.url) && !f.url.includes('node_modules')],
  ['Fastify routing and lifecycle', (f) => /node_modules\/(fastify|find-my-way|avvio)\//.test(f.url)],
  ['Node.js HTTP', (f) => f.url.startsWith('node:')],
  ['other', () => true]
]

/** Microseconds of CPU per part over the whole profile. */
export function attribute(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const selfTime = new Map<number, number>()
  profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const totals = new Map<string, number>()
  for (const [id, us] of selfTime) {
    const stack: Frame[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push((byId.get(at) as ProfileNode).callFrame)
    const part = parts.find(([, matches]) => stack.some((frame, i) => matches(frame, i === 0)))?.[0] ?? null
    if (part !== null) totals.set(part, (totals.get(part) ?? 0) + us)
  }
  return totals
}

// The main thread's profile: Node names it CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile, thread 0.
function mainThreadProfile(dir: string): CpuProfile {
  const file = readdirSync(dir).find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name))
  if (file === undefined) throw new Error(`no profile of the main thread in ${dir}`)
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
}

async function profiled(start: (dir: string) => Promise<Service>, sizes: Sizes): Promise<{ perPart: Map<string, number>; requests: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-bench-profile-'))
  try {
    const target = await start(dir)
    let requests = 0
    try {
      const load = (durationSeconds: number) =>
        runLoad({ url: `${target.url}/connection`, headers: credentials, connections: sizes.connections, durationSeconds, pid: target.child.pid })
      requests += (await load(sizes.warmupSeconds)).requests
      requests += (await load(sizes.durationSeconds)).requests
    } finally {
      // The profile is written as the process exits.
      await target.child.stop()
    }
    const totals = attribute(mainThreadProfile(dir))
    return { perPart: new Map([...totals].map(([part, us]) => [part, us / requests])), requests }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function profileHotPath(sizes: Sizes, entry: Entry, log: (line: string) => void): Promise<HotPathProfile> {
  const emulator = await startEmulator()
  try {
    let body: unknown
    const service = await profiled(async (profileDir) => {
      const started = await startService({ entry, emulatorUrl: emulator.url, profileDir })
      await waitForOk(`${started.url}/connection`, credentials)
      body = (await getJson(`${started.url}/connection`, credentials)).body
      return started
    }, sizes)
    const baseline = await profiled((profileDir) => startBaseline({ '/connection': body }, profileDir), sizes)
    const names = parts.map(([part]) => part).filter((part): part is string => part !== null)
    const result = {
      route: '/connection',
      requests: { service: service.requests, baseline: baseline.requests },
      parts: names.map((part) => ({
        part,
        serviceUs: round(service.perPart.get(part) ?? 0, 2),
        baselineUs: round(baseline.perPart.get(part) ?? 0, 2)
      }))
    }
    const total = (key: 'serviceUs' | 'baselineUs') => round(result.parts.reduce((sum, p) => sum + p[key], 0), 1)
    log(`profile of /connection: ${total('serviceUs')} µs of CPU per request in the service, ${total('baselineUs')} µs bare`)
    return result
  } finally {
    await emulator.close()
  }
}
