import t from 'tap'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY, DEFAULT_STREAM_ID } from '../../src/emulator/seed.js'
import type { StartEmulatorOptions } from '../../src/emulator/server.js'
import { formatTimestamp, nanosFromMs, replicatedNanos } from '../../src/emulator/proto-time.js'
import { START, startTestEmulator, type TapLike, type TestEmulator } from '../helpers/emulator.js'

// Timings small enough to read: STARTING 60 s, cut-over 30 s, lag 5 s,
// retention 600 s. The clock starts at START (t = 0). Without an initial
// scan, with replicated_time published continuously and disruptions applied
// at once, so that the status machine reads in round numbers: the scan, the
// 30 s steps and staggered disruptions have their own tests in
// fidelity-streams.test.ts and fidelity-clusters.test.ts.
const timings = {
  startingSeconds: 60,
  failoverSeconds: 30,
  lagSeconds: 5,
  retentionSeconds: 600,
  initialScanSeconds: 0,
  replicationStepSeconds: 0,
  disruptionApplySeconds: 0
}
/** A clock time as the API writes it. */
const at = (seconds: number) => formatTimestamp(nanosFromMs(START + seconds * 1000))
/** A frontier at t = seconds as the API publishes it, with its nanoseconds. */
const rt = (seconds: number) => formatTimestamp(replicatedNanos(START + seconds * 1000))
/** A time as the control API writes it. */
const iso = (seconds: number) => new Date(START + seconds * 1000).toISOString()

async function withNewStream(t: TapLike, options: StartEmulatorOptions = {}) {
  const emu = await startTestEmulator(t, { stream: 'none', timings, ...options })
  const created = await emu.api('POST', '/physical-replication-streams', {
    body: { primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY }
  })
  return { emu, id: created.body.id as string }
}

const get = async (emu: TestEmulator, id: string) => (await emu.api('GET', `/physical-replication-streams/${id}`)).body
const patch = (emu: TestEmulator, id: string, body: unknown) =>
  emu.api('PATCH', `/physical-replication-streams/${id}`, body === undefined ? {} : { body })

t.test('STARTING, then REPLICATING with times that trail the clock', async (t) => {
  const { emu, id } = await withNewStream(t)
  const base = { id, primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY, created_at: at(0) }
  emu.clock.advance(59.999)
  t.strictSame(await get(emu, id), { ...base, status: 'STARTING' })
  emu.clock.advance(0.001)
  t.strictSame(await get(emu, id), {
    ...base,
    status: 'REPLICATING',
    replicated_time: rt(55),
    retained_time: rt(55),
    replication_lag_seconds: 5
  })
  emu.clock.advance(40)
  t.strictSame(await get(emu, id), {
    ...base,
    status: 'REPLICATING',
    replicated_time: rt(95),
    retained_time: rt(55),
    replication_lag_seconds: 5
  }, 'retained_time holds at the first replicated time')
  emu.clock.advance(1000)
  t.has(await get(emu, id), { replicated_time: rt(1095), retained_time: rt(500) }, 'then trails by the retention')
})

t.test('a PATCH is refused while STARTING (9)', async (t) => {
  const { emu, id } = await withNewStream(t)
  for (const status of ['FAILING_OVER', 'CANCELED']) {
    const answer = await patch(emu, id, { status })
    t.equal(answer.status, 400)
    t.equal(answer.body.code, 9)
    t.match(answer.body.message, /is STARTING; only a REPLICATING stream can move to/)
  }
})

t.test('failover to the latest time: FAILING_OVER, then COMPLETED with activated_at', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100)
  const answer = await patch(emu, id, { status: 'FAILING_OVER' })
  t.equal(answer.status, 200)
  const base = { id, primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY, created_at: at(0) }
  const failingOver = { ...base, status: 'FAILING_OVER' }
  t.strictSame(answer.body, failingOver, 'no replication times (spec: present while REPLICATING), no failover_at, no activated_at')
  emu.clock.advance(29.999)
  t.strictSame(await get(emu, id), failingOver)
  emu.clock.advance(0.001)
  t.strictSame(await get(emu, id), { ...failingOver, status: 'COMPLETED', activated_at: rt(95) })
  emu.clock.advance(3600)
  t.equal((await get(emu, id)).status, 'COMPLETED', 'and stays so')
})

t.test('every other PATCH is refused: 9 for the wrong state, 3 for a bad request', async (t) => {
  // A score of PATCHes in a row: the rate limit is not what this test is about.
  const { emu, id } = await withNewStream(t, { rateLimit: false })
  emu.clock.advance(60)
  for (const [body, code] of [
    [undefined, 3],
    [{}, 3],
    [{ status: 'REPLICATING' }, 3],
    [{ status: 'COMPLETED' }, 3],
    [{ status: 'STARTING' }, 3],
    [{ status: 'PAUSED' }, 3],
    [{ status: 'FAILING_OVER', failover_at: 'soon' }, 3],
    [{ status: 'CANCELED', failover_at: at(58) }, 3]
  ] as const) {
    const answer = await patch(emu, id, body)
    t.equal(answer.status, 400, JSON.stringify(body))
    t.equal(answer.body.code, code, JSON.stringify(body))
  }
  t.equal((await get(emu, id)).status, 'REPLICATING', 'none of them changed anything')

  t.equal((await patch(emu, id, { status: 'FAILING_OVER' })).status, 200)
  const again = await patch(emu, id, { status: 'FAILING_OVER' })
  t.equal(again.status, 400, 'a second failover request')
  t.equal(again.body.code, 9)
  t.match(again.body.message, /is FAILING_OVER/)
  t.equal((await patch(emu, id, { status: 'CANCELED' })).body.code, 9, 'no cancel during failover')
  t.equal((await patch(emu, id, { status: 'REPLICATING' })).body.code, 3, 'a bad target stays a bad request')
  emu.clock.advance(30)
  const completed = await patch(emu, id, { status: 'FAILING_OVER' })
  t.equal(completed.body.code, 9)
  t.match(completed.body.message, /is COMPLETED/)
})

t.test('cancel: CANCELED with canceled_at, for good', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(70)
  const answer = await patch(emu, id, { status: 'CANCELED' })
  t.strictSame(answer.body, {
    id,
    status: 'CANCELED',
    primary_cluster_id: PRIMARY,
    standby_cluster_id: STANDBY,
    created_at: at(0),
    canceled_at: at(70)
  })
  emu.clock.advance(1000)
  t.strictSame(await get(emu, id), answer.body)
  t.equal((await patch(emu, id, { status: 'FAILING_OVER' })).body.code, 9)
})

t.test('failover_at: from retained_time to one hour ahead', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100) // replicated 95, retained 55
  for (const failoverAt of [at(54.999), at(3700.001)]) {
    const answer = await patch(emu, id, { status: 'FAILING_OVER', failover_at: failoverAt })
    t.equal(answer.status, 400, failoverAt)
    t.equal(answer.body.code, 3)
  }
  t.match((await patch(emu, id, { status: 'FAILING_OVER', failover_at: at(54.999) })).body.message, /before the retained time/)
  t.match((await patch(emu, id, { status: 'FAILING_OVER', failover_at: at(3701) })).body.message, /more than one hour/)

  const edge = await withNewStream(t)
  edge.emu.clock.advance(100)
  const last = await patch(edge.emu, edge.id, { status: 'FAILING_OVER', failover_at: at(3700) })
  t.equal(last.status, 200, 'exactly one hour ahead is allowed')
  const first = await patch(emu, id, { status: 'FAILING_OVER', failover_at: '2025-06-02T14:00:55+02:00' })
  t.equal(first.status, 200, 'retained_time (to the millisecond) is allowed, in any offset')
  t.notOk('failover_at' in first.body, 'a time in the past does not show (spec)')
})

t.test('failover to a past time completes after failoverSeconds, activated at that time', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100)
  const answer = await patch(emu, id, { status: 'FAILING_OVER', failover_at: at(70) })
  t.has(answer.body, { status: 'FAILING_OVER' })
  for (const field of ['failover_at', 'replicated_time', 'activated_at']) t.notOk(field in answer.body, field)
  emu.clock.advance(30)
  t.has(await get(emu, id), { status: 'COMPLETED', activated_at: at(70) })
})

t.test('a scheduled failover stays FAILING_OVER until the frontier reaches its time, plus failoverSeconds', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100)
  const answer = await patch(emu, id, { status: 'FAILING_OVER', failover_at: at(1900) })
  t.has(answer.body, { status: 'FAILING_OVER', failover_at: at(1900) })
  // The frontier, 5 s behind the clock, reaches 1900 at 1905.
  emu.clock.advance(1834.999)
  t.equal((await get(emu, id)).status, 'FAILING_OVER')
  emu.clock.advance(0.001)
  t.has(await get(emu, id), { status: 'COMPLETED', failover_at: at(1900), activated_at: at(1900) })
})

t.test('replicated_time stands still while the primary is down, and catches up after', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100)
  await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, {
    body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] }
  })
  emu.clock.advance(200)
  t.has(await get(emu, id), { status: 'REPLICATING', replicated_time: rt(95), replication_lag_seconds: 205 })
  const state = await emu.control('GET', '/state')
  t.equal(state.body.clusters[0].down_since, iso(100))

  await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, {
    body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-0'] }] }
  })
  // One node down of three is fine; 200 s behind, the frontier gains 3 s per second.
  emu.clock.advance(10)
  t.has(await get(emu, id), { replicated_time: rt(135), replication_lag_seconds: 175 }, 'catching up takes time')
  emu.clock.advance(60)
  t.has(await get(emu, id), { replicated_time: rt(365), replication_lag_seconds: 5 }, 'caught up')

  await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY', names: ['cockroachdb-1'] })
  emu.clock.advance(50)
  t.has(await get(emu, id), { replicated_time: rt(365), replication_lag_seconds: 55 }, 'a majority down freezes it')

  await emu.control('PUT', `/clusters/${STANDBY}/nodes`, { status: 'NOT_READY' })
  await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'LIVE' })
  await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, {})
  emu.clock.advance(10)
  t.has(await get(emu, id), { replicated_time: rt(365), replication_lag_seconds: 65 }, 'so does a standby down: ingestion runs there')
  const healthy = await emu.control('GET', '/state')
  t.equal(healthy.body.clusters[0].down_since, null)
})

t.test('a failover during an outage activates at the last replicated time', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100)
  await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY' })
  emu.clock.advance(120)
  t.has(await get(emu, id), { replicated_time: rt(95) })
  const answer = await patch(emu, id, { status: 'FAILING_OVER' })
  t.has(answer.body, { status: 'FAILING_OVER' })
  await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'LIVE' })
  emu.clock.advance(30)
  t.has(await get(emu, id), { status: 'COMPLETED', activated_at: rt(95) })
})

t.test('retained_time never passes replicated_time, even in a long outage', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(100)
  await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY' })
  emu.clock.advance(2000)
  t.has(await get(emu, id), { replicated_time: rt(95), retained_time: rt(95) })
  const latest = await patch(emu, id, { status: 'FAILING_OVER', failover_at: at(95) })
  t.equal(latest.status, 200, 'the frozen time is still a valid failover point')
})

t.test('failback: a reverse stream once the failover completed', async (t) => {
  const { emu, id } = await withNewStream(t)
  emu.clock.advance(60)
  await patch(emu, id, { status: 'FAILING_OVER' })
  const early = await emu.api('POST', '/physical-replication-streams', {
    body: { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY }
  })
  t.equal(early.body.code, 9, 'not while FAILING_OVER')
  emu.clock.advance(30)
  const reverse = await emu.api('POST', '/physical-replication-streams', {
    body: { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY }
  })
  t.equal(reverse.status, 200)
  t.match(reverse.body, { status: 'STARTING', primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  const forward = await emu.api('POST', '/physical-replication-streams', {
    body: { primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY }
  })
  t.equal(forward.body.code, 9, 'one live stream per cluster')
  const all = await emu.api('GET', '/physical-replication-streams?show_completed=true')
  t.strictSame(
    all.body.physical_replication_streams.map((s: { status: string }) => s.status),
    ['COMPLETED', 'STARTING'],
    'the history is kept'
  )
})

t.test('the control clock skips the default five-minute STARTING phase and the hour of initial scan', async (t) => {
  const emu = await startTestEmulator(t, { stream: 'starting' })
  t.equal((await get(emu, DEFAULT_STREAM_ID)).status, 'STARTING')
  const moved = await emu.control('POST', '/clock', { advance_seconds: 300 })
  t.strictSame(moved.body, { now: iso(300), offset_seconds: 300 })
  const scanning = await get(emu, DEFAULT_STREAM_ID)
  t.equal(scanning.status, 'REPLICATING')
  t.notOk('replicated_time' in scanning, 'the initial scan')
  await emu.control('POST', '/clock', { advance_seconds: 3600 })
  t.has(await get(emu, DEFAULT_STREAM_ID), { replicated_time: rt(300), replication_lag_seconds: 3600 }, 'as of the scan start')
})
