import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { untracedEnv } from '../../tools/child-env.js'
import { spawnNode, viaTsx } from '../../tools/spawn-server.js'
import { ENDPOINT_PORT_QUERY, startGatedPostgres, type GatedPostgres } from '../../tools/sql-gate.js'
import { PRIMARY, STANDBY, startFakeCloud, startService, type Cloud, type Service, type Teardown } from '../../tools/stack.js'

// The examples against a whole pair: two real PostgreSQL servers standing in for
// the clusters' SQL endpoints, the emulator, and the service handing them out.
// Each endpoint is gated by the emulator: it serves while its cluster does, so the
// standby's refuses connections while its stream replicates, as in PCR.

/** One password for both servers; not ASCII, so header and URL encoding are exercised too. */
export const PASSWORD = 'pä$$ wörd:@/%é'
export const USER = 'postgres'
/** The port of the endpoint (gate) a session reached: primarySql.port or standbySql.port. */
export const PORT_QUERY = ENDPOINT_PORT_QUERY

export interface SqlPair {
  primarySql: GatedPostgres
  standbySql: GatedPostgres
  cloud: Cloud
  svc: Service
  /** The service's environment, for a second service on the same pair. */
  env: Record<string, string>
}

export async function startSqlPair(t: Teardown): Promise<SqlPair> {
  // The emulator is started next; until then no endpoint serves.
  const serving = { cloud: undefined as Cloud | undefined }
  const serves = (id: string) => () => serving.cloud?.emulator.state.isSqlAvailable(id) ?? false
  const [primarySql, standbySql] = await Promise.all([
    startGatedPostgres(serves(PRIMARY), { password: PASSWORD }),
    startGatedPostgres(serves(STANDBY), { password: PASSWORD })
  ])
  t.teardown(() => Promise.all([primarySql.destroy(), standbySql.destroy()]))
  // Stream creation for a failback takes a moment, as in the Cloud.
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.3 } })
  serving.cloud = cloud
  const env = {
    PRIMARY_SQL_DNS: `127.0.0.1:${primarySql.port}`,
    STANDBY_SQL_DNS: `127.0.0.1:${standbySql.port}`,
    DB_SSLMODE: 'disable',
    DATABASE_NAME: 'postgres'
  }
  const svc = await startService(t, cloud, env)
  await svc.fastify.engine.nextCheck()
  return { primarySql, standbySql, cloud, svc, env }
}

export interface Scripted {
  status: number
  retryAfter?: string
  body: unknown
}

export interface SidecarProxy {
  url: string
  /** Every request, in order, with the headers it carried. */
  seen: Array<{ path: string; headers: IncomingHttpHeaders }>
  asks(path: string): number
  /** Answers for the next requests instead of the service's. */
  script: Scripted[]
  /** While true, connections are cut: the sidecar is unreachable. */
  down: boolean
}

// Sits between an example and the service to count what it asks and to answer
// for the service when a test needs a 503 or an unreachable sidecar.
export async function startSidecarProxy(t: Teardown, target: string): Promise<SidecarProxy> {
  const proxy: SidecarProxy = {
    url: '',
    seen: [],
    asks: (path) => proxy.seen.filter((r) => r.path === path).length,
    script: [],
    down: false
  }
  const server = createServer(async (req, res) => {
    if (proxy.down) {
      req.socket.destroy()
      return
    }
    const path = String(req.url)
    proxy.seen.push({ path, headers: req.headers })
    const scripted = proxy.script.shift()
    if (scripted !== undefined) {
      res.writeHead(scripted.status, {
        'content-type': 'application/json',
        ...(scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter })
      })
      res.end(JSON.stringify(scripted.body))
      return
    }
    const forwarded: Record<string, string> = {}
    for (const name of ['x-db-username', 'x-db-password']) {
      const value = req.headers[name]
      if (typeof value === 'string') forwarded[name] = value
    }
    const answer = await request(`${target}${path}`, { headers: forwarded })
    const headers: Record<string, string> = { 'content-type': String(answer.headers['content-type']) }
    if (answer.headers['retry-after'] !== undefined) headers['retry-after'] = String(answer.headers['retry-after'])
    res.writeHead(answer.statusCode, headers)
    res.end(await answer.body.text())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}

/** How long the example tests wait: queries through the service to real PostgreSQL are slow on a loaded machine. */
export const patiently = { timeoutMs: 60_000 }

/** Orders what happened across concurrent loops without reading clocks. */
export class Sequence {
  #n = 0
  next(): number {
    return ++this.#n
  }
}

export interface Landed {
  start: number
  end: number
  port?: number
  error?: unknown
}

/** A cluster the example switched to, and when. */
export interface Change {
  seq: number
  clusterId: string
  port: number
}

export interface Driven {
  queries: Landed[]
  /** Answers from the server on `port` to queries started after `after`. */
  count(port: number, after?: number): number
  errors(): unknown[]
  stop(): Promise<void>
}

// Units of work in `loops` concurrent loops until stopped. The pause between them
// leaves connections idle in the pool, as in an application between requests.
export function drive(seq: Sequence, loops: number, unit: () => Promise<number>): Driven {
  const queries: Landed[] = []
  let running = true
  const done = Promise.all(
    Array.from({ length: loops }, async () => {
      while (running) {
        const landed: Landed = { start: seq.next(), end: 0 }
        try {
          landed.port = await unit()
        } catch (err) {
          landed.error = err
        }
        landed.end = seq.next()
        queries.push(landed)
        await sleep(10)
      }
    })
  )
  return {
    queries,
    count: (port, after = 0) => queries.filter((q) => q.port === port && q.start > after).length,
    errors: () => queries.filter((q) => q.error !== undefined).map((q) => q.error),
    async stop() {
      running = false
      await done
    }
  }
}

/**
 * Each answered query came from a cluster the example named while the query
 * ran: the one in use when it started, or one switched to before it ended.
 * So nothing reaches a cluster after the example has switched away from it.
 */
export function strayQueries(queries: Landed[], changes: Change[]): Landed[] {
  const lastBefore = (at: number) => changes.filter((c) => c.seq < at).length - 1
  return queries.filter((q) => {
    if (q.port === undefined) return false
    const allowed = changes.slice(Math.max(0, lastBefore(q.start)), lastBefore(q.end) + 1).map((c) => c.port)
    return !allowed.includes(q.port)
  })
}

export interface ExampleRun {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
}

// Runs an example as a user would (node --import tsx examples/x.ts, from the
// repository), waits for `until` in its output, then stops it with SIGTERM.
export async function runExample(file: string, env: Record<string, string>, until: RegExp, timeoutMs = 60_000): Promise<ExampleRun> {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const example = spawnNode(viaTsx(`${root}examples/${file}`), { env: untracedEnv(env), cwd: root })
  try {
    await example.waitForOutput(until, timeoutMs)
  } finally {
    await example.stop()
  }
  return { code: await example.exited, signal: example.child.signalCode, output: example.stdout() + example.stderr() }
}
