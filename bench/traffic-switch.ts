import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { portVia, startPgbouncer } from '../tools/pgbouncer.js'
import { landsOn, startProxiedPair } from '../tools/proxied-pair.js'
import { PRIMARY, STANDBY, admin } from '../tools/stack.js'
import { waitFor } from '../tools/wait-for.js'
import { root } from './processes.js'
import { round, spread } from './stats.js'

// npm run bench:switch: how long after the stream turns COMPLETED applications
// reach the standby, through each path of proxy/README.md, on the real programs
// (PostgreSQL standing for the clusters, HAProxy, PgBouncer) and the emulator.
// The baseline is the sidecar's own answer (GET /active): HAProxy and PgBouncer
// can only follow it, so their figures are read against it in the same round.

const usage = 'usage: npm run bench:switch -- [--rounds N] [--profile fast|defaults] [--out FILE]'

// fast: what the tests use. defaults: the committed HAProxy settings and the
// sidecar's production interval, with a failover long enough (as real ones are)
// for HAProxy to have marked the old primary down before COMPLETED, and not a
// multiple of the 2 s poll while failing over, which would be the lucky case.
const profiles = {
  fast: {
    sidecar: { HEALTH_CHECK_INTERVAL: '0.1' },
    // startProxiedPair's own: inter 100 ms, fall 3, rise 2.
    haproxy: {},
    failoverSeconds: 1
  },
  defaults: {
    sidecar: { HEALTH_CHECK_INTERVAL: '30', HEALTH_CHECK_TIMEOUT: '10' },
    // haproxy.cfg's own defaults, restated over startProxiedPair's short ones.
    haproxy: { HAPROXY_CHECK_INTER: '1s', HAPROXY_CHECK_FALL: '5', HAPROXY_CHECK_RISE: '2', HAPROXY_CHECK_TIMEOUT: '2s' },
    failoverSeconds: 7.3
  }
} as const

type Path = 'sidecar' | 'haproxy' | 'pgbouncer'
const paths: Path[] = ['sidecar', 'haproxy', 'pgbouncer']

function fail(message: string): never {
  process.stderr.write(`bench:switch: ${message}\n${usage}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, profile: { type: 'string', default: 'fast' }, out: { type: 'string' } }
})
const rounds = Number(values.rounds)
if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a whole number of 1 or more')
if (!(values.profile in profiles)) fail('--profile must be fast or defaults')
const profileName = values.profile as keyof typeof profiles
const profile = profiles[profileName]

async function activeCluster(url: string): Promise<string | undefined> {
  const res = await request(`${url}/active`)
  const body = (await res.body.json()) as { cluster_id?: string }
  return res.statusCode === 200 ? body.cluster_id : undefined
}

async function oneRound(): Promise<Record<Path, number>> {
  const teardowns: Array<() => unknown> = []
  const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
  try {
    const bouncer = await startPgbouncer({ poolMode: 'transaction' })
    t.teardown(bouncer.destroy)
    const { primary: pgA, standby: pgB, cloud, svc, proxy } = await startProxiedPair(
      t,
      { timings: { failoverSeconds: profile.failoverSeconds } },
      {
        service: {
          ...profile.sidecar,
          LOG_LEVEL: 'warn',
          DATABASE_NAME: 'postgres',
          PGBOUNCER_DATABASES_FILE: bouncer.databasesFile,
          PGBOUNCER_ADMIN_URL: bouncer.adminUrl(),
          PGBOUNCER_DATABASE: 'app'
        },
        haproxy: profile.haproxy
      }
    )
    const probes: Record<Path, () => Promise<boolean>> = {
      sidecar: async () => (await activeCluster(svc.url)) === STANDBY,
      haproxy: async () => (await landsOn(proxy).catch(() => undefined)) === pgB.port,
      pgbouncer: async () => (await portVia(bouncer.url('app'))) === pgB.port
    }
    const before = {
      sidecar: async () => (await activeCluster(svc.url)) === PRIMARY,
      haproxy: async () => (await landsOn(proxy).catch(() => undefined)) === pgA.port,
      pgbouncer: async () => (await portVia(bouncer.url('app'))) === pgA.port
    }
    for (const path of paths) await waitFor(`${path} on the primary`, before[path], { timeoutMs: 60_000, intervalMs: 10 })

    const seen: Partial<Record<Path, number>> = {}
    const watching = paths.map(async (path) => {
      await waitFor(`${path} on the standby`, probes[path], { timeoutMs: profile.failoverSeconds * 1000 + 60_000, intervalMs: 10 })
      seen[path] = Date.now()
    })
    const res = await svc.post('/admin/failover', {}, admin)
    if (res.status !== 202) throw new Error(`failover answered ${res.status}: ${JSON.stringify(res.body)}`)
    await Promise.all(watching)
    // The emulator completes a failover failoverSeconds after its PATCH.
    const patch = (await cloud.emulator.requests.list()).find((r) => r.method === 'PATCH')
    if (patch === undefined) throw new Error('no PATCH reached the emulator')
    const completedAt = Date.parse(patch.at) + profile.failoverSeconds * 1000
    return Object.fromEntries(paths.map((p) => [p, (seen[p] as number) - completedAt])) as Record<Path, number>
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

const samples: Record<Path, number[]> = { sidecar: [], haproxy: [], pgbouncer: [] }
for (let i = 0; i < rounds; i++) {
  const round_ = await oneRound()
  for (const path of paths) samples[path].push(round_[path])
  process.stderr.write(`round ${i + 1}/${rounds}: ${paths.map((p) => `${p} ${round_[p]} ms`).join(', ')}\n`)
}
const summary = Object.fromEntries(
  paths.map((p) => {
    const s = spread(samples[p])
    return [p, { medianMs: round(s.median), p95Ms: round(s.p95), maxMs: round(s.max), samplesMs: samples[p] }]
  })
)
const result = { profile: profileName, rounds, failoverSeconds: profile.failoverSeconds, at: new Date().toISOString(), paths: summary }
const out = values.out ?? join(root, 'bench', 'results', `traffic-switch-${profileName}.json`)
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
process.stdout.write(
  [
    `| From COMPLETED to the standby (${profileName}, ${rounds} rounds) | median | p95 | max |`,
    '|---|---|---|---|',
    ...paths.map((p) => `| ${p === 'sidecar' ? 'GET /active names it (baseline)' : `a new ${p === 'haproxy' ? 'HAProxy' : 'PgBouncer'} connection lands on it`} | ${summary[p]?.medianMs} ms | ${summary[p]?.p95Ms} ms | ${summary[p]?.maxMs} ms |`)
  ].join('\n') + '\n'
)
process.exit(0)
