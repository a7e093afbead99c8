import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DrillReport } from '../../../src/cli/drill/drill.js'
import { unusedPort } from '../../../tools/unused-port.js'
import { waitFor } from '../../../tools/wait-for.js'
import { startGatedPostgres } from '../../../tools/sql-gate.js'
import { PRIMARY, STANDBY, STREAM, startFakeCloud, startService, type Cloud } from '../../../tools/stack.js'
import { directEnv, errors, pcr, remote, scratchDir } from '../fixtures/pcr.js'

// The drill from the command line, against the emulator: its numbers must agree
// with the emulator's timings and the configured timeline.

const FAILOVER_SECONDS = 0.3
const LAG_SECONDS = 2

async function disruptions(cloud: Cloud): Promise<number> {
  return (await cloud.requests()).filter((r) => r.method === 'PUT').length
}

// The time the emulator's stream was failed over to (activated_at): the drill must report exactly that.
async function failedOverTo(cloud: Cloud): Promise<string> {
  return (await cloud.control('GET', '/state')).streams[0].activated_at
}

function checkDataLoss(t: Test, r: DrillReport, activated: string): void {
  t.equal(Date.parse(r.activated_at as string), Date.parse(activated), 'the activated_at of the COMPLETED stream')
  t.ok(r.last_replicated_time !== null, 'a replicated time was seen while the stream replicated')
  const window = Math.max(0, Date.parse(r.outage_started_at as string) - Date.parse(activated)) / 1000
  t.equal(r.data_loss_window_seconds, Math.round(window * 1000) / 1000, 'outage − activated_at')
  // A failover to the latest time keeps at least what had been replicated when last seen.
  t.ok(Date.parse(activated) >= Date.parse(r.last_replicated_time as string), 'activated_at is not before the last replicated time seen')
}

async function stillDisrupted(cloud: Cloud): Promise<boolean> {
  return (await cloud.control('GET', '/state')).clusters.some((c: { disruption: unknown[] }) => c.disruption.length > 0)
}

function reportIn(cwd: string): DrillReport {
  return JSON.parse(readFileSync(join(cwd, 'drill.json'), 'utf8'))
}

t.test('drill (direct): outage, detection, failover, switch, restore; numbers consistent with the timeline', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: FAILOVER_SECONDS, lagSeconds: LAG_SECONDS } })
  const cwd = scratchDir()
  const run = await pcr(['drill', '--yes', '--json', 'drill.json'], { env: directEnv(cloud), cwd })
  t.equal(run.code, 0, run.stderr + run.stdout)
  const r = reportIn(cwd)
  t.comment(`direct drill: detection ${r.detection_seconds} s (minimum ${r.minimum_detection_seconds} s), threshold ${r.threshold_seconds} s, failover ${r.failover_seconds} s, RTO ${r.rto_seconds} s, data-loss window ${r.data_loss_window_seconds} s`)
  t.match(r, {
    result: 'passed',
    error: null,
    mode: 'direct',
    timeline: { interval_seconds: 0.05, failure_threshold: 3, failover_delay_seconds: 0.1 },
    minimum_detection_seconds: 0.2,
    disrupted_cluster_id: PRIMARY,
    target_cluster_id: STANDBY,
    stream_id: STREAM,
    target_sql: null,
    failback: null,
    blocks: []
  })
  t.ok((r.threshold_seconds as number) >= (3 - 1) * 0.05, 'threshold ≥ (threshold − 1) × interval')
  t.ok((r.detection_seconds as number) >= (r.minimum_detection_seconds as number), 'detection ≥ (threshold − 1) × interval + delay')
  t.ok((r.detection_seconds as number) >= (r.threshold_seconds as number) + 0.1, 'the delay after the threshold was waited')
  t.ok((r.failover_seconds as number) >= FAILOVER_SECONDS, `failover ≥ the emulator's ${FAILOVER_SECONDS} s`)
  t.ok((r.rto_seconds as number) >= (r.detection_seconds as number) + (r.failover_seconds as number), 'RTO covers detection and failover')
  checkDataLoss(t, r, await failedOverTo(cloud))
  t.same(
    r.phases.map((p) => p.name),
    ['preflight_ok', 'outage_started', 'first_failure', 'threshold_reached', 'failover_confirmed', 'failover_requested', 'failover_started', 'failover_completed', 'switched', 'restored']
  )
  t.equal(r.phases[1]?.offset_seconds, 0)
  t.ok((r.phases[0]?.offset_seconds as number) <= 0)
  t.equal(await cloud.patches(), 1)
  t.equal(await disruptions(cloud), 2, 'disrupted once, restored once')
  t.notOk(await stillDisrupted(cloud))

  t.match(run.stdout, /^ {4}T\+0\.000 s {2}outage started \(disruption sent\) +\S+Z$/m)
  t.match(run.stdout, /^drill passed \(direct: Cloud API http:\S+\)$/m)
  t.match(run.stdout, /^ {2}detection {9}[\d.]+ s {2}outage → double-check confirmed \(configured minimum 0\.200 s\)$/m)
  t.match(run.stdout, /^ {2}failover {10}[\d.]+ s {2}PATCH → COMPLETED$/m)
  t.match(run.stdout, /^ {2}data-loss window {2}[\d.]+ s {2}outage − activated_at \(\S+\)$/m)
  t.match(run.stdout, new RegExp(`^${STANDBY} is active now, without a stream: pcr failback full returns to ${PRIMARY}\\.$`, 'm'))
})

t.test('drill (remote): the service detects and fails over; the CLI times it through /events and /connection', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: FAILOVER_SECONDS, lagSeconds: LAG_SECONDS } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const cwd = scratchDir()
  const run = await pcr([...remote(svc), 'drill', '--yes', '--json', 'drill.json'], { cwd })
  t.equal(run.code, 0, run.stderr + run.stdout)
  const r = reportIn(cwd)
  t.comment(`remote drill: detection ${r.detection_seconds} s, failover ${r.failover_seconds} s, RTO ${r.rto_seconds} s, data-loss window ${r.data_loss_window_seconds} s`)
  t.match(r, { result: 'passed', mode: 'remote', source: `sidecar ${svc.url}`, timeline: null, minimum_detection_seconds: null })
  t.ok((r.detection_seconds as number) >= 0.2)
  t.ok((r.failover_seconds as number) >= FAILOVER_SECONDS)
  checkDataLoss(t, r, await failedOverTo(cloud))
  const connection = await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'pw' })
  t.equal(connection.body.cluster_id, STANDBY)
  t.notOk(await stillDisrupted(cloud))
  t.match(run.stdout, new RegExp(`^drill passed \\(remote: sidecar ${svc.url}\\)$`, 'm'))
  t.notMatch(run.stdout, 'timeline:', 'the timeline is the service’s, not known here')
})

t.test('test automated: the drill with a failback; the new cluster is checked over SQL', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: FAILOVER_SECONDS, startingSeconds: 0.3 } })
  // The standby's endpoint, offline while it replicates, serving once the failover has completed.
  const pg = await startGatedPostgres(() => cloud.emulator.state.isSqlAvailable(STANDBY))
  t.teardown(pg.destroy)
  const cwd = scratchDir()
  const run = await pcr(['test', 'automated', '--yes', '--json', 'drill.json'], { env: directEnv(cloud, { STANDBY_CLUSTER_ENDPOINT: pg.url(), HEALTH_CHECK_TIMEOUT: '5' }), cwd })
  t.equal(run.code, 0, run.stderr + run.stdout)
  const r = reportIn(cwd)
  t.comment(`drill with failback: failback ${r.failback?.seconds} s`)
  t.match(r.target_sql, { ok: true, latency_ms: Number, error: null })
  t.match(r.failback, { operation_id: String, status: 'succeeded', error: null })
  t.ok((r.failback?.seconds as number) >= 0.3 + FAILOVER_SECONDS, 'failback waits for the new stream and for its failover')
  t.same(r.phases.slice(-5).map((p) => p.name), ['switched', 'target_sql_checked', 'restored', 'failback_started', 'failback_completed'])
  t.match(run.stdout, /^ {2}new cluster SQL {3}answers SELECT 1 \(\d+ ms\)$/m)
  t.match(run.stdout, /^ {2}failback {10}[\d.]+ s {2}operation \S+ succeeded$/m)
  t.match(run.stdout, /^The original primary is active again, without a stream: pcr setup protects it again\.$/m)
  t.equal(await cloud.patches(), 2)
  const status = JSON.parse((await pcr(['status', '--json'], { env: directEnv(cloud) })).stdout)
  t.equal(status.active_cluster_id, PRIMARY)
})

t.test('the drill asks before it disrupts anything', async (t) => {
  const cloud = await startFakeCloud(t)
  const noTty = await pcr(['test', 'failover'], { env: directEnv(cloud) })
  t.equal(noTty.code, 2)
  t.equal(errors(noTty), 'pcr: refusing to start the drill without confirmation: stdin is not a terminal, pass --yes')
  const wrong = await pcr(['drill'], { env: directEnv(cloud), tty: 'yes' })
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, `The drill takes cluster ${PRIMARY} (pcr-primary) down through the Cloud API and waits for the failover.\nType ${PRIMARY} to start the drill: `)
  t.match(errors(wrong), /pcr: not confirmed \(expected \S+\); nothing was changed$/)
  t.equal(await disruptions(cloud), 0)
  const typed = await pcr(['drill'], { env: directEnv(cloud), tty: PRIMARY })
  t.equal(typed.code, 0, typed.stderr)
})

t.test('a drill that cannot start changes nothing', async (t) => {
  const none = await startFakeCloud(t, { stream: 'none' })
  const run = await pcr(['drill', '--yes'], { env: directEnv(none) })
  t.equal(run.code, 1)
  t.match(run.stdout, /^\ndrill FAILED \(direct: Cloud API \S+\): preflight: the stream is missing; a drill needs a REPLICATING stream \(pcr setup creates one\); nothing was changed\n {2}timeline: a check every 0\.05 s, 3 failures, 0\.1 s delay\n$/)
  t.equal(await disruptions(none), 0)

  const starting = await startFakeCloud(t, { stream: 'starting' })
  const early = await pcr(['drill', '--yes'], { env: directEnv(starting) })
  t.equal(early.code, 1)
  t.match(early.stdout, /preflight: the stream is STARTING; a drill needs a REPLICATING stream/)

  const cloud = await startFakeCloud(t)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const down = await pcr(['drill', '--yes'], { env: directEnv(cloud) })
  t.equal(down.code, 1)
  t.match(down.stdout, new RegExp(`preflight: cluster ${PRIMARY} is unhealthy: 0 of 3 nodes live; nothing was changed$`, 'm'))
  t.equal(await disruptions(cloud), 0)
})

t.test('a failover that never comes: the drill times out, says why, and restores the cluster', async (t) => {
  const cloud = await startFakeCloud(t)
  // A standby without a node majority cannot take over.
  await cloud.setNodes(STANDBY, 'NOT_READY')
  const cwd = scratchDir()
  const run = await pcr(['drill', '--yes', '--timeout', '1', '--json', 'drill.json'], { env: directEnv(cloud), cwd })
  t.equal(run.code, 1)
  const r = reportIn(cwd)
  t.match(r.error, new RegExp(`^timed out after 1 s waiting for the failover to ${STANDBY}; the sidecar said: failover blocked \\(auto, monitor\\): standby ${STANDBY} is unhealthy: 0 of 3 nodes live`))
  t.match(r.blocks, [/standby \S+ is unhealthy/])
  t.equal(r.phases.at(-1)?.name, 'restored')
  t.equal(r.rto_seconds, null)
  t.match(run.stdout, /^ {2}blocked {11}failover blocked/m)
  t.notOk(await stillDisrupted(cloud))
  t.equal(await cloud.patches(), 0)
})

t.test('a failover request that may have taken effect ends the drill at once; the cluster is restored', async (t) => {
  const cloud = await startFakeCloud(t)
  // No answer to the PATCH, and the stream cannot be read back: the PATCH may have been applied.
  // The first getStream (the read before the PATCH) goes through; every later one fails.
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'reset' })
  await cloud.control('POST', '/faults', { operation: 'getStream', kind: 'latency', latency_ms: 1, count: 1 })
  await cloud.control('POST', '/faults', { operation: 'getStream', kind: 'status', status: 500 })
  const run = await pcr(['drill', '--yes', '--timeout', '10'], { env: directEnv(cloud) })
  t.equal(run.code, 1)
  t.match(run.stdout, /^drill FAILED \(direct: .*\): failover request for stream \S+ has no clear outcome: patchStream: .*; it may have taken effect, so it is followed, not sent again$/m)
  t.equal(await cloud.patches(), 1, 'not sent again')
  t.notOk(await stillDisrupted(cloud))
})

t.test('a failover the Cloud API refuses is asked again; if it never goes through, the drill times out, says why, and restores the cluster', async (t) => {
  const cloud = await startFakeCloud(t)
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'status', status: 400, message: 'not today' })
  const run = await pcr(['drill', '--yes', '--timeout', '2'], { env: directEnv(cloud) })
  t.equal(run.code, 1)
  t.match(
    run.stdout,
    new RegExp(`^drill FAILED \\(direct: .*\\): timed out after 2 s waiting for the failover to ${STANDBY}; the sidecar said: the Cloud API did not apply the failover of stream \\S+: patchStream: refused, HTTP 400.*not today.*; tried again at the next confirmed check$`, 'm')
  )
  t.match(run.stdout, /^ {2}blocked {11}the Cloud API did not apply the failover/m)
  t.ok((await cloud.patches()) > 1, 'the refused PATCH was sent again')
  t.notOk(await stillDisrupted(cloud))
})

t.test('the new cluster not answering SQL fails the drill (remote mode, endpoint from the environment)', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const port = await unusedPort()
  const cwd = scratchDir()
  const run = await pcr([...remote(svc), 'drill', '--yes', '--json', 'drill.json'], { env: { STANDBY_CLUSTER_ENDPOINT: `postgresql://root@127.0.0.1:${port}/db` }, cwd })
  t.equal(run.code, 1)
  const r = reportIn(cwd)
  t.match(r, { error: `${STANDBY} does not answer SQL after the failover: refused: connection refused by 127.0.0.1:${port}`, target_sql: { ok: false } })
  t.match(run.stdout, /^ {2}new cluster SQL {3}failed: refused: connection refused/m)
  t.notOk(await stillDisrupted(cloud))
})

t.test('a failback that fails is in the report', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.2 } })
  const cwd = scratchDir()
  // --timeout bounds the failover; the failback's wait for its stream has its own bound.
  const run = await pcr(['drill', '--yes', '--failback', '--max-lag', '0.001', '--timeout', '4', '--failback-timeout', '0.5', '--json', 'drill.json'], { env: directEnv(cloud), cwd })
  t.equal(run.code, 1)
  const r = reportIn(cwd)
  t.match(r.failback, { status: 'failed', error: /did not reach REPLICATING with lag under 0\.001 s within 0\.5 s/ })
  t.match(run.stdout, /^ {15}failback (stream_starting|initial_scan|catching_up): stream \S+ is /m, 'the failback\'s progress is shown')
  t.match(r.error, /^failback failed: /)
  t.match(run.stdout, /^ {2}failback {10}[\d.]+ s {2}operation \S+ failed: the failback stream did not reach REPLICATING/m)
})

t.test('a drill interrupted by a signal restores the cluster and exits 130', async (t) => {
  const cloud = await startFakeCloud(t)
  const stop = new AbortController()
  const cwd = scratchDir()
  const running = pcr(['drill', '--yes', '--json', 'drill.json'], { env: directEnv(cloud, { AUTO_FAILOVER: 'false' }), cwd, signal: stop.signal })
  await waitFor('the drill disrupting the primary', async () => (await disruptions(cloud)) > 0)
  stop.abort()
  const run = await running
  t.equal(run.code, 130)
  t.equal(reportIn(cwd).error, 'interrupted')
  t.notOk(await stillDisrupted(cloud))
})
