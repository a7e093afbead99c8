import t from 'tap'
import { formatTimestamp, nanosFromMs, replicatedNanos } from '../../src/emulator/proto-time.js'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY, DEFAULT_STREAM_ID as STREAM } from '../../src/emulator/seed.js'
import { START, startTestEmulator, type TestEmulator } from '../helpers/emulator.js'

// How a replication stream behaves over time, each test naming the source of
// the rules it checks (docs/cloud-api.md). The default timings throughout:
// STARTING 300 s, initial scan 3600 s, catch-up 4 s of data per second,
// replicated_time published every 30 s, lag 10 s, cut-over 60 s, retention
// 4 h. The clock starts at START (t = 0). Each test reads the stream many
// times within a second of real time while the manual clock stands for hours,
// so the rate limit (fidelity-api.test.ts) is off.

/** A clock time as the API writes it. */
const ts = (seconds: number) => formatTimestamp(nanosFromMs(START + Math.round(seconds * 1000)))
/** A frontier at t = seconds as the API publishes it, with its nanoseconds. */
const rt = (seconds: number) => formatTimestamp(replicatedNanos(START + Math.round(seconds * 1000)))

const get = async (emu: TestEmulator, id = STREAM) => (await emu.api('GET', `/physical-replication-streams/${id}`)).body
const patch = (emu: TestEmulator, body: unknown, id = STREAM) => emu.api('PATCH', `/physical-replication-streams/${id}`, { body })
const nodes = (emu: TestEmulator, cluster: string, status: 'LIVE' | 'NOT_READY') =>
  emu.control('PUT', `/clusters/${cluster}/nodes`, { status })
const create = (emu: TestEmulator, primary = PRIMARY, standby = STANDBY) =>
  emu.api('POST', '/physical-replication-streams', { body: { primary_cluster_id: primary, standby_cluster_id: standby } })
/** Moves the manual clock to t = seconds, to the exact millisecond. */
const to = (emu: TestEmulator, seconds: number) => emu.clock.advance((Math.round(seconds * 1000) - (emu.clock.now() - START)) / 1000)

t.test('1. failover (spec: PhysicalReplicationStream.failover_at/activated_at, UpdatePhysicalReplicationStreamSpec.failover_at; PCR docs: fail over)', async (t) => {
  t.test('without failover_at: the latest consistent replicated time, cut over in failoverSeconds', async (t) => {
    const emu = await startTestEmulator(t, { rateLimit: false })
    to(emu, 15)
    const before = await get(emu)
    t.has(before, { replicated_time: rt(-10), replication_lag_seconds: 25 })
    const answer = await patch(emu, { status: 'FAILING_OVER' })
    t.strictSame(Object.keys(answer.body).sort(), ['created_at', 'id', 'primary_cluster_id', 'standby_cluster_id', 'status'])
    t.equal(answer.body.status, 'FAILING_OVER')
    to(emu, 74.999)
    t.equal((await get(emu)).status, 'FAILING_OVER')
    to(emu, 75)
    t.has(await get(emu), { status: 'COMPLETED', activated_at: before.replicated_time })
  })

  t.test('a time ahead: replication goes on until the frontier reaches it, and failover_at shows', async (t) => {
    const emu = await startTestEmulator(t, { rateLimit: false })
    const failoverAt = '2025-06-02T12:10:00.123456789Z' // t = 600.123456789
    const answer = await patch(emu, { status: 'FAILING_OVER', failover_at: failoverAt })
    t.equal(answer.status, 200)
    t.equal(answer.body.failover_at, failoverAt, 'with its nanoseconds')
    // The frontier, 10 s behind the clock, reaches it at 610.12…; then 60 s of cut-over.
    to(emu, 670.123)
    t.has(await get(emu), { status: 'FAILING_OVER', failover_at: failoverAt })
    to(emu, 670.124)
    t.has(await get(emu), { status: 'COMPLETED', failover_at: failoverAt, activated_at: failoverAt })
  })

  t.test('a time in the past: no failover_at on the stream, activated at that time', async (t) => {
    const emu = await startTestEmulator(t, { rateLimit: false })
    const answer = await patch(emu, { status: 'FAILING_OVER', failover_at: ts(-1800) })
    t.equal(answer.status, 200)
    t.notOk('failover_at' in answer.body, 'shown only for a time in the future')
    to(emu, 60)
    const done = await get(emu)
    t.has(done, { status: 'COMPLETED', activated_at: '2025-06-02T11:30:00Z' })
    t.notOk('failover_at' in done)
  })

  t.test('a past time not yet replicated (a switchover that did not wait): replication goes on to it, then the cut-over', async (t) => {
    const emu = await startTestEmulator(t, { rateLimit: false })
    t.has(await get(emu), { replicated_time: rt(-10) })
    const answer = await patch(emu, { status: 'FAILING_OVER', failover_at: ts(-5) })
    t.equal(answer.status, 200, 'between retained_time and now: valid')
    t.notOk('failover_at' in answer.body, 'in the past: not shown')
    // The frontier, 10 s behind the clock, reaches −5 at t = 5; then 60 s of cut-over.
    to(emu, 64.999)
    t.equal((await get(emu)).status, 'FAILING_OVER')
    to(emu, 65)
    t.has(await get(emu), { status: 'COMPLETED', activated_at: ts(-5) }, 'the data as of that time exactly, nothing after it')
  })

  t.test('with the primary dead, a time not yet replicated is not reached until it is back', async (t) => {
    const emu = await startTestEmulator(t, { rateLimit: false })
    await nodes(emu, PRIMARY, 'NOT_READY')
    t.equal((await patch(emu, { status: 'FAILING_OVER', failover_at: ts(300) })).status, 200)
    to(emu, 3600)
    t.equal((await get(emu)).status, 'FAILING_OVER', 'an hour later, still')
    await nodes(emu, PRIMARY, 'LIVE')
    // From −10 the frontier gains 4 s per second: 300 at t = 3677.5, then 60 s of cut-over.
    to(emu, 3737.499)
    t.equal((await get(emu)).status, 'FAILING_OVER')
    to(emu, 3737.5)
    t.has(await get(emu), { status: 'COMPLETED', activated_at: ts(300) })
  })

  t.test('a past time older than retained_time by the cut-over: the retained time (spec: best effort)', async (t) => {
    const emu = await startTestEmulator(t, { rateLimit: false, timings: { retentionSeconds: 600 } })
    const retained = (await get(emu)).retained_time
    t.equal(retained, rt(-600))
    await nodes(emu, STANDBY, 'NOT_READY')
    t.equal((await patch(emu, { status: 'FAILING_OVER', failover_at: retained })).status, 200, 'valid when asked')
    to(emu, 100)
    await nodes(emu, STANDBY, 'LIVE') // the cut-over runs on the standby: it starts now
    to(emu, 160)
    const done = await get(emu)
    t.has(done, { status: 'COMPLETED', activated_at: rt(-500) }, 'the retained time at t = 100')
    t.ok(done.activated_at > retained, 'later than the time asked for')
  })
})

t.test('2. a standby outage stops replication and holds a failover (PCR docs: technical overview, ingestion on the standby)', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false })
  await nodes(emu, STANDBY, 'NOT_READY')
  to(emu, 300)
  t.has(await get(emu), { status: 'REPLICATING', replicated_time: rt(-10), replication_lag_seconds: 310 }, 'the frontier stands still')
  await nodes(emu, STANDBY, 'LIVE')
  // 300 s short of now − lag, 3 s gained per second: caught up at t = 400.
  to(emu, 360)
  t.has(await get(emu), { replicated_time: rt(230), replication_lag_seconds: 130 }, 'catching up takes time')
  to(emu, 420)
  t.has(await get(emu), { replicated_time: rt(410), replication_lag_seconds: 10 })

  await nodes(emu, STANDBY, 'NOT_READY')
  const answer = await patch(emu, { status: 'FAILING_OVER' })
  t.equal(answer.status, 200)
  to(emu, 420 + 3600)
  t.equal((await get(emu)).status, 'FAILING_OVER', 'no cut-over without the standby')
  await nodes(emu, STANDBY, 'LIVE')
  to(emu, 420 + 3600 + 59.999)
  t.equal((await get(emu)).status, 'FAILING_OVER')
  to(emu, 420 + 3600 + 60)
  t.has(await get(emu), { status: 'COMPLETED', activated_at: rt(410) })
})

t.test('3. replication fields only while REPLICATING, canceled_at and activated_at (spec: each field description)', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false, stream: 'none' })
  const keys = async (id: string) => Object.keys(await get(emu, id)).sort()
  const base = ['created_at', 'id', 'primary_cluster_id', 'standby_cluster_id', 'status']
  const times = ['replicated_time', 'replication_lag_seconds', 'retained_time']
  const id = (await create(emu)).body.id
  t.strictSame(await keys(id), base, 'STARTING')
  to(emu, 300)
  t.has(await get(emu, id), { status: 'REPLICATING' })
  t.strictSame(await keys(id), base, 'REPLICATING, in the initial scan')
  to(emu, 3900)
  t.strictSame(await keys(id), [...base, ...times].sort(), 'REPLICATING')
  await patch(emu, { status: 'FAILING_OVER' }, id)
  t.strictSame(await keys(id), base, 'FAILING_OVER')
  to(emu, 3960)
  t.strictSame(await keys(id), [...base, 'activated_at'].sort(), 'COMPLETED')

  const back = (await create(emu, STANDBY, PRIMARY)).body.id
  to(emu, 4260)
  const canceled = await patch(emu, { status: 'CANCELED' }, back)
  t.equal(canceled.status, 200, 'a scanning stream can be canceled')
  t.strictSame(Object.keys(canceled.body).sort(), [...base, 'canceled_at'].sort(), 'CANCELED')
  t.equal(canceled.body.canceled_at, ts(4260))
})

t.test('4. STARTING, the initial scan, catch-up and steps (PCR docs: technical overview, monitoring; spec: retained_time)', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false, stream: 'none' })
  const id = (await create(emu)).body.id
  to(emu, 100)
  await nodes(emu, STANDBY, 'NOT_READY')
  to(emu, 200)
  await nodes(emu, STANDBY, 'LIVE')
  to(emu, 399.999)
  t.equal((await get(emu, id)).status, 'STARTING', 'STARTING does not count the 100 s the standby was down')
  to(emu, 400)
  const scanning = await get(emu, id)
  t.equal(scanning.status, 'REPLICATING')
  t.notOk('replicated_time' in scanning, 'the initial scan: no replicated time yet')
  to(emu, 3999.999)
  t.notOk('replicated_time' in (await get(emu, id)))
  to(emu, 4000)
  t.has(await get(emu, id), { replicated_time: rt(400), retained_time: rt(400), replication_lag_seconds: 3600 }, 'as of the scan start')
  to(emu, 4029.999)
  t.has(await get(emu, id), { replicated_time: rt(400), replication_lag_seconds: 3629 }, 'published every 30 s')
  to(emu, 4030)
  t.has(await get(emu, id), { replicated_time: rt(520), replication_lag_seconds: 3510 }, 'four seconds of data per second')
  to(emu, 5380)
  t.has(await get(emu, id), { replicated_time: rt(5370), replication_lag_seconds: 10, retained_time: rt(400) }, 'caught up')
  to(emu, 5409.999)
  t.has(await get(emu, id), { replicated_time: rt(5370), replication_lag_seconds: 39 }, 'the lag rises between steps')

  await nodes(emu, PRIMARY, 'NOT_READY') // at 5409.999, the frontier at 5399.999
  to(emu, 6000)
  await nodes(emu, PRIMARY, 'LIVE')
  t.has(await get(emu, id), { replicated_time: rt(5399.999), replication_lag_seconds: 600 }, 'stood still')
  to(emu, 6100)
  t.has(await get(emu, id), { replicated_time: rt(5799.999), replication_lag_seconds: 300 }, 'catching up again')
  to(emu, 6220)
  t.has(await get(emu, id), { replicated_time: rt(6210), replication_lag_seconds: 10 })

  const seeded = await startTestEmulator(t, { rateLimit: false })
  t.has(await get(seeded), { replicated_time: rt(-10), retained_time: rt(-4 * 3600), replication_lag_seconds: 10 }, 'the seeded stream, a day old, is caught up')
})

t.test('5. a stream without progress for 24 hours is canceled (PCR docs: monitoring)', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false })
  await nodes(emu, PRIMARY, 'NOT_READY')
  to(emu, 23 * 3600)
  await nodes(emu, PRIMARY, 'LIVE')
  to(emu, 23 * 3600 + 1)
  await nodes(emu, PRIMARY, 'NOT_READY')
  to(emu, 47 * 3600)
  t.equal((await get(emu)).status, 'REPLICATING', 'an outage of 23 h is survived')
  to(emu, 50 * 3600)
  const canceled = await get(emu)
  t.has(canceled, { status: 'CANCELED', canceled_at: ts(47 * 3600 + 1) }, 'canceled 24 h into the second outage')
  t.equal((await create(emu, STANDBY, PRIMARY)).status, 200, 'its clusters are free again')
})

t.test('5. timestamps as protojson writes them, in all four precisions (protojson Timestamp; spec: date-time)', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false, timings: { replicationStepSeconds: 0.25 } })
  const form = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$/
  const precisions = new Set<number>()
  for (let i = 0; i < 200 && precisions.size < 4; i++) {
    const stream = await get(emu)
    for (const field of ['created_at', 'replicated_time', 'retained_time']) t.match(stream[field], form, field)
    precisions.add(/\.(\d+)Z$/.exec(stream.replicated_time)?.[1]?.length ?? 0)
    emu.clock.advance(1.25)
  }
  t.strictSame([...precisions].sort(), [0, 3, 6, 9])
  t.equal((await get(emu)).created_at, ts(-300 - 24 * 3600), 'whole seconds carry no fraction')
})
