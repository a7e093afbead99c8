import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startPooledPair } from '../tools/pooled-pair.js'
import { PRIMARY, STREAM, admin } from '../tools/stack.js'
import { waitFor } from '../tools/wait-for.js'
import { rowsAfter, startWriteProbe, type WriteOutcome } from '../tools/write-probe.js'
import { root } from './processes.js'
import { SwitchWrites, type SwitchWritesScenario, type WriteRound as Round } from './results-schema.js'
import { round, spread } from './stats.js'

// npm run bench:writes: what an application writing a timestamped row every 10 ms
// through PgBouncer sees while the sidecar moves it to the standby, on real
// programs (two PostgreSQL servers standing for the clusters' SQL endpoints, each
// gated by the emulator, and PgBouncer) on the tests' short timeline:
// - an unplanned failover (the primary loses its nodes), with PgBouncer never held
//   (PGBOUNCER_MAX_PAUSE=0, as before issue 21) and held around the switch;
// - a manual failover of a healthy primary (POST /admin/failover), without and
//   with the pause, and a planned switchover (POST /admin/switchover): the primary
//   still takes writes whenever it is sent them.
// A row is lost when the old primary holds it with a time after the failover point
// (the stream's activated_at): PCR does not replicate it. Those written before the
// act are the replication lag's (the data-loss bound of an asynchronous failover);
// those written after it went to a primary the sidecar had already given up.

const usage = 'usage: npm run bench:writes -- [--rounds N] [--only unplanned-nopause,unplanned-pause,manual-nopause,manual-pause,switchover] [--out FILE]'

const named = {
  'unplanned-nopause': 'unplanned, no pause',
  'unplanned-pause': 'unplanned, pause',
  'manual-nopause': 'manual failover, no pause',
  'manual-pause': 'manual failover, pause',
  switchover: 'planned switchover'
} as const
type Scenario = (typeof named)[keyof typeof named]

function fail(message: string): never {
  process.stderr.write(`bench:writes: ${message}\n${usage}\n`)
  process.exit(2)
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' }, out: { type: 'string' } } })
const rounds = Number(values.rounds)
if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a whole number of 1 or more')
const keys = values.only === undefined ? Object.keys(named) : values.only.split(',')
for (const key of keys) if (!(key in named)) fail(`unknown scenario ${key}`)
const scenarios: Scenario[] = keys.map((key) => named[key as keyof typeof named])


function analyse(outcomes: WriteOutcome[], actAt: number, standbyPort: number, lost: { rows: number; afterAct: number }): Round {
  const end = (o: WriteOutcome) => o.sentAt + o.waitedMs
  const errors = outcomes.filter((o) => o.error !== undefined)
  const onStandby = outcomes.filter((o) => o.endpoint === standbyPort && o.sentAt + o.waitedMs >= actAt)
  return {
    writes: outcomes.length,
    errors: errors.length,
    errorMessages: [...new Set(errors.map((o) => o.error as string))],
    inFlightErrors: errors.filter((o) => o.sentAt <= actAt && end(o) >= actAt).length,
    errorWindowMs: errors.length === 0 ? null : [Math.min(...errors.map(end)) - actAt, Math.max(...errors.map(end)) - actAt],
    longestWaitMs: Math.max(...outcomes.map((o) => o.waitedMs)),
    toStandbyMs: Math.min(...onStandby.map(end)) - actAt,
    lostRows: lost.rows,
    lostAfterActRows: lost.afterAct
  }
}

async function oneRound(scenario: Scenario): Promise<Round> {
  const teardowns: Array<() => unknown> = []
  const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
  try {
    const unplanned = scenario.startsWith('unplanned')
    const pair = await startPooledPair(
      t,
      {},
      {
        LOG_LEVEL: 'warn',
        AUTO_FAILOVER: unplanned ? 'true' : 'false',
        PGBOUNCER_MAX_PAUSE: scenario.endsWith('no pause') ? '0' : '30',
        SWITCHOVER_TIMEOUT: '20'
      }
    )
    const { svc, cloud, primary, standby } = pair
    await waitFor('both clusters healthy, the stream replicating', () => {
      const s = svc.fastify.engine.snapshot()
      return s.phase === 'normal' && s.stream?.replicatedTime !== null && s.clusters.every((c) => c.verdict === 'healthy')
    }, { timeoutMs: 60_000 })
    const probe = startWriteProbe(pair.appUrl)
    t.teardown(() => probe.stop())
    await waitFor('a second of writes', () => probe.outcomes.filter((o) => o.error === undefined).length >= 100, { timeoutMs: 30_000 })

    const actAt = Date.now()
    let operationId: string | undefined
    if (unplanned) await cloud.setNodes(PRIMARY, 'NOT_READY')
    else {
      const res = await svc.post(scenario === 'planned switchover' ? '/admin/switchover' : '/admin/failover', {}, admin)
      if (res.status !== 202) throw new Error(`${scenario} answered ${res.status}: ${JSON.stringify(res.body)}`)
      operationId = res.body.operation_id ?? res.body.operation?.id
    }
    const onStandby = () => probe.outcomes.filter((o) => o.endpoint === standby.port).length
    await waitFor('100 writes on the new primary', () => onStandby() >= 100, { timeoutMs: 120_000 })
    const outcomes = await probe.stop()

    const stream = (await cloud.control('GET', '/state')).streams.find((s: { id: string }) => s.id === STREAM)
    if (stream?.status !== 'COMPLETED') throw new Error(`stream ${STREAM} is ${stream?.status}`)
    const old = primary.server.url()
    const afterAct = new Date(Math.max(actAt, Date.parse(stream.activated_at))).toISOString()
    const result = analyse(outcomes, actAt, standby.port, { rows: await rowsAfter(old, stream.activated_at), afterAct: await rowsAfter(old, afterAct) })
    if (operationId !== undefined && scenario === 'planned switchover') {
      const op = await waitFor('the switchover ends', async () => {
        const body = (await svc.get(`/admin/operations/${operationId}`, admin)).body
        return body.status === 'running' ? undefined : body
      }, { timeoutMs: 60_000 })
      if (op.status !== 'succeeded') throw new Error(`switchover ${op.status}: ${op.error}`)
      result.endToEndMs = Date.parse(op.finished_at) - Date.parse(op.started_at)
      result.steps = Object.fromEntries(op.steps.map((s: { phase: string; duration_ms: number }) => [s.phase, s.duration_ms]))
    }
    return result
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

const results = Object.fromEntries(scenarios.map((s) => [s, [] as Round[]])) as Record<Scenario, Round[]>
for (let i = 0; i < rounds; i++) {
  for (const scenario of scenarios) {
    const r = await oneRound(scenario)
    results[scenario].push(r)
    process.stderr.write(`round ${i + 1}/${rounds} ${scenario}: ${JSON.stringify(r)}\n`)
  }
}

const median = (xs: number[]) => round(spread(xs).median, 1)
const max = (xs: number[]) => round(spread(xs).max, 1)


function summarize(rs: Round[]): SwitchWritesScenario {
  const windows = rs.flatMap((r) => (r.errorWindowMs === null ? [] : [r.errorWindowMs]))
  const timed = rs.filter((r) => r.endToEndMs !== undefined)
  return {
    errorsMedian: median(rs.map((r) => r.errors)),
    errorsMax: max(rs.map((r) => r.errors)),
    inFlightErrorsMedian: median(rs.map((r) => r.inFlightErrors)),
    errorWindowMs: windows.length === 0 ? null : [Math.min(...windows.map((w) => w[0])), Math.max(...windows.map((w) => w[1]))],
    longestWaitMsMedian: median(rs.map((r) => r.longestWaitMs)),
    longestWaitMsMax: max(rs.map((r) => r.longestWaitMs)),
    toStandbyMsMedian: median(rs.map((r) => r.toStandbyMs)),
    lostRowsMedian: median(rs.map((r) => r.lostRows)),
    lostRowsMax: max(rs.map((r) => r.lostRows)),
    lostAfterActRowsMedian: median(rs.map((r) => r.lostAfterActRows)),
    lostAfterActRowsMax: max(rs.map((r) => r.lostAfterActRows)),
    ...(timed.length === 0
      ? {}
      : {
          endToEndMsMedian: median(timed.map((r) => r.endToEndMs as number)),
          stepsMsMedian: Object.fromEntries(Object.keys(timed[0]?.steps ?? {}).map((phase) => [phase, median(timed.map((r) => r.steps?.[phase] ?? 0))]))
        }),
    rounds: rs
  }
}

const summary = {} as Record<Scenario, SwitchWritesScenario>
for (const s of scenarios) summary[s] = summarize(results[s])

const out = values.out ?? join(root, 'bench', 'results', 'switch-writes.json')
writeFileSync(out, `${JSON.stringify(SwitchWrites.parse({ rounds, at: new Date().toISOString(), scenarios: summary }), null, 2)}\n`)
const window = (w: number[] | null) => (w === null ? 'none' : `${w[0]} to ${w[1]} ms`)
const row = (s: Scenario) => {
  const x = summary[s]
  return `| ${s} | ${x.errorsMedian} (max ${x.errorsMax}) | ${x.inFlightErrorsMedian} | ${window(x.errorWindowMs)} | ${x.longestWaitMsMedian} ms (max ${x.longestWaitMsMax}) | ${x.toStandbyMsMedian} ms | ${x.lostRowsMedian} (max ${x.lostRowsMax}) | ${x.lostAfterActRowsMedian} (max ${x.lostAfterActRowsMax}) |`
}
const planned = summary['planned switchover'] as SwitchWritesScenario | undefined
process.stdout.write(
  [
    `| A row every 10 ms through PgBouncer (${rounds} rounds, medians) | client errors | of them in flight at the act | error window after the act | longest wait | act → first write on the new primary | rows lost (old primary, after the failover point) | of them written after the act |`,
    '|---|---|---|---|---|---|---|---|',
    ...scenarios.map(row),
    ...(planned === undefined
      ? []
      : ['', `Planned switchover, end to end (POST to the operation's end): ${planned.endToEndMsMedian} ms; steps: ${Object.entries(planned.stepsMsMedian ?? {}).map(([p, ms]) => `${p} ${ms} ms`).join(', ')}`])
  ].join('\n') + '\n'
)
process.exit(0)
