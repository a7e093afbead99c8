import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { startSidecar, type Sidecar } from '../tools/chaos/sidecar.js'
import { startFleet } from '../tools/fleet.js'
import { startService } from '../tools/stack.js'
import { waitFor } from '../tools/wait-for.js'
import { root } from './processes.js'
import { round, spread } from './stats.js'
import { withTeardown } from './teardown.js'

// npm run bench:coordination: what a fleet costs the Cloud API, and how long it
// is without a leader when the leader dies.
// - Traffic: Cloud API requests a minute of one sidecar alone (the baseline),
//   one with COORDINATION=etcd, and three with it, each over the same time.
// - Leader failover: three sidecar processes; the leader is SIGKILLed (its lease
//   must run out) or stopped with SIGTERM (it revokes its lease), and the time
//   until another answers role "leader" on /clusters is taken.

const usage = 'usage: npm run bench:coordination -- [--seconds N] [--interval SECONDS] [--rounds N] [--ttl SECONDS] [--out FILE]'
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    interval: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    ttl: { type: 'string', default: '10' },
    out: { type: 'string' }
  }
})
const seconds = Number(values.seconds)
const interval = Number(values.interval)
const rounds = Number(values.rounds)
const ttl = Number(values.ttl)
if (![seconds, interval, rounds, ttl].every((v) => Number.isFinite(v) && v > 0) || !Number.isInteger(rounds) || !Number.isInteger(ttl)) {
  process.stderr.write(`bench:coordination: every option must be a positive number (rounds and ttl whole)\n${usage}\n`)
  process.exit(2)
}

const env = { HEALTH_CHECK_INTERVAL: String(interval), HEALTH_CHECK_TIMEOUT: String(Math.min(10, interval)), LOG_LEVEL: 'warn', ETCD_LEASE_TTL: String(ttl) }

// Requests the emulator answered on its API (control calls are not logged) over the window.
async function trafficPerMinute(sidecars: number, coordination: boolean): Promise<number> {
  return withTeardown(async (t) => {
    const fleet = await startFleet(t)
    const extra = coordination ? env : { ...env, COORDINATION: 'local' }
    for (let i = 0; i < sidecars; i++) await startService(t, fleet.cloud, { ...fleet.env, ...extra, SIDECAR_ID: `s${i}` })
    // Every sidecar has had its first round; the window starts clean.
    await new Promise((resolve) => setTimeout(resolve, 2 * interval * 1000))
    const before = (await fleet.cloud.requests()).length
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    const after = (await fleet.cloud.requests()).length
    return ((after - before) / seconds) * 60
  })
}

async function role(sidecar: Sidecar | undefined): Promise<string | undefined> {
  const url = sidecar?.url()
  if (url === undefined) return undefined
  const res = await request(`${url}/clusters`).catch(() => undefined)
  if (res === undefined) return undefined
  const body = (await res.body.json()) as { coordination?: { role: string } }
  return body.coordination?.role
}

// Milliseconds from the leader's end to a new leader, per round.
async function leaderFailover(how: 'SIGKILL' | 'SIGTERM'): Promise<number[]> {
  return withTeardown(async (t) => {
    const fleet = await startFleet(t)
    const cwd = await mkdtemp(join(tmpdir(), 'pcr-bench-coordination-'))
    t.teardown(() => rm(cwd, { recursive: true, force: true }))
    const sidecars: Sidecar[] = []
    t.teardown(() => Promise.all(sidecars.map((s) => s.stop())))
    const envOf = (id: string) => fleet.processEnv(id, { ...env, LOG_LEVEL: 'info' })
    for (const id of ['a', 'b', 'c']) sidecars.push(await startSidecar(envOf(id), cwd))
    const samples: number[] = []
    for (let i = 0; i < rounds; i++) {
      await waitFor('a leader', async () => (await Promise.all(sidecars.map(role))).includes('leader'), { timeoutMs: 60_000, intervalMs: 10 })
      const roles = await Promise.all(sidecars.map(role))
      const leader = sidecars[roles.indexOf('leader')] as Sidecar
      const others = sidecars.filter((s) => s !== leader)
      const pid = leader.fds()?.pid
      const endedAt = performance.now()
      if (how === 'SIGKILL' || pid === undefined) await leader.stop()
      else process.kill(pid, 'SIGTERM')
      await waitFor('a new leader', async () => (await Promise.all(others.map(role))).includes('leader'), { timeoutMs: 4 * ttl * 1000 + 30_000, intervalMs: 10 })
      samples.push(performance.now() - endedAt)
      process.stderr.write(`${how} round ${i + 1}/${rounds}: ${Math.round(samples.at(-1) as number)} ms\n`)
      // The ended sidecar comes back as a follower, so every round has three.
      await leader.restart()
    }
    return samples
  })
}

const traffic = {
  oneAlone: await trafficPerMinute(1, false),
  oneCoordinated: await trafficPerMinute(1, true),
  threeCoordinated: await trafficPerMinute(3, true),
  threeAlone: await trafficPerMinute(3, false)
}
const kill = await leaderFailover('SIGKILL')
const term = await leaderFailover('SIGTERM')
const summarize = (samples: number[]) => {
  const s = spread(samples)
  return { medianMs: round(s.median), maxMs: round(s.max), samplesMs: samples.map((v) => round(v)) }
}
const result = {
  at: new Date().toISOString(),
  seconds,
  intervalSeconds: interval,
  leaseTtlSeconds: ttl,
  rounds,
  cloudApiRequestsPerMinute: Object.fromEntries(Object.entries(traffic).map(([k, v]) => [k, round(v, 1)])),
  leaderFailover: { sigkill: summarize(kill), sigterm: summarize(term) }
}
await writeFile(values.out ?? join(root, 'bench', 'results', 'coordination.json'), `${JSON.stringify(result, null, 2)}\n`)
const r = result.cloudApiRequestsPerMinute
process.stdout.write(
  [
    `| Cloud API requests a minute (interval ${interval} s, ${seconds} s windows) | requests/min |`,
    '|---|---|',
    `| one sidecar alone (baseline) | ${r.oneAlone} |`,
    `| three sidecars alone | ${r.threeAlone} |`,
    `| one sidecar, COORDINATION=etcd | ${r.oneCoordinated} |`,
    `| three sidecars, COORDINATION=etcd | ${r.threeCoordinated} |`,
    '',
    `| Leader failover, lease TTL ${ttl} s, ${rounds} rounds | median | max |`,
    '|---|---|---|',
    `| leader SIGKILLed (lease runs out) | ${result.leaderFailover.sigkill.medianMs} ms | ${result.leaderFailover.sigkill.maxMs} ms |`,
    `| leader stopped with SIGTERM (lease revoked) | ${result.leaderFailover.sigterm.medianMs} ms | ${result.leaderFailover.sigterm.maxMs} ms |`
  ].join('\n') + '\n'
)
