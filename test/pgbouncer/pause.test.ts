import { writeFile } from 'node:fs/promises'
import { Client } from 'pg'
import t, { type Test } from 'tap'
import type { EventInput } from '../../src/engine/events.js'
import type { PoolerView } from '../../src/engine/snapshot.js'
import { createAdminConsole } from '../../src/pgbouncer/admin-console.js'
import { createPgbouncerSync, type PgbouncerSyncOptions } from '../../src/pgbouncer/sync.js'
import { startPgbouncer, type Pgbouncer } from '../../tools/pgbouncer.js'
import { waitFor } from '../../tools/wait-for.js'
import { runSql } from '../../tools/write-probe.js'
import { startServerPair } from '../helpers/server-pair.js'

// PAUSE and RESUME around a switch, on a real PgBouncer in front of two real
// PostgreSQL servers: a query sent while the alias is held waits, and runs on
// whichever server the alias points to when it is resumed.

const { pgA, pgB, A, B } = await startServerPair(t)
const alias = 'app'

async function setup(t: Test, maxPauseSeconds: number, overrides: Partial<PgbouncerSyncOptions> = {}) {
  const pgbouncer = await startPgbouncer()
  t.teardown(pgbouncer.destroy)
  const events: EventInput[] = []
  const views: PoolerView[] = []
  const sync = createPgbouncerSync({
    config: {
      sql: { databaseName: 'postgres' },
      pgbouncer: { databasesFile: pgbouncer.databasesFile, adminUrl: pgbouncer.adminUrl(), database: alias, maxPauseSeconds }
    },
    log: { error: () => t.fail('nothing to log') },
    record: (input) => events.push(input),
    onChange: (view) => views.push(view),
    retryBaseMs: 20,
    retryMaxMs: 100,
    ...overrides
  })
  t.teardown(sync.close)
  const types = () => events.map((e) => e.type)
  return { pgbouncer, sync, events, views, types }
}

// An application connected through PgBouncer before the switch.
async function application(t: Test, pgbouncer: Pgbouncer): Promise<Client> {
  const client = new Client({ connectionString: pgbouncer.url(alias) })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

const portOf = async (client: Client) => Number((await client.query('SHOW port')).rows[0].port)

const adminQuery = (pgbouncer: Pgbouncer, sql: string) => runSql(pgbouncer.adminUrl(), sql)

const pausedFlag = async (pgbouncer: Pgbouncer) =>
  Number((await adminQuery(pgbouncer, 'SHOW DATABASES')).find((row) => row.name === alias)?.paused)

t.test('a held query waits through the switch and runs on the new server', async (t) => {
  const { pgbouncer, sync, events, views, types } = await setup(t, 30)
  sync.apply(A)
  await sync.idle()
  const app = await application(t, pgbouncer)
  t.equal(await portOf(app), pgA.port)

  sync.hold('failover of stream s')
  await sync.idle()
  t.equal(await pausedFlag(pgbouncer), 1, 'PgBouncer reports the alias paused')
  t.match(sync.view(), { database: alias, state: 'paused', reason: 'failover of stream s' })
  t.match(events.at(-1), {
    type: 'pgbouncer_paused',
    severity: 'info',
    message: /^PgBouncer holds app \(PAUSE: failover of stream s\): queries wait for a server; resumed at the latest after PGBOUNCER_MAX_PAUSE=30s$/,
    data: { database: alias, maxPauseSeconds: 30, queryWaitTimeoutSeconds: 120 }
  })

  // Sent while held: had PgBouncer not held it, it would have run on A at once.
  const held = portOf(app)
  sync.apply(B)
  sync.release()
  t.equal(await held, pgB.port, 'the held query ran on the new server')
  await sync.idle()
  t.equal(await pausedFlag(pgbouncer), 0)
  t.same(types(), ['pgbouncer_updated', 'pgbouncer_paused', 'pgbouncer_updated', 'pgbouncer_resumed'])
  t.match(events.at(-1), {
    message: new RegExp(`^PgBouncer resumed app after \\d+\\.\\d{3}s, sending it to cluster ${B.clusterId} at 127\\.0\\.0\\.1:${pgB.port}$`),
    data: { reason: 'failover of stream s', pausedSeconds: Number }
  })
  t.same(
    views.map((v) => v.state),
    ['serving', 'pausing', 'paused', 'resuming', 'serving'],
    'every state is shown as it is reached'
  )
  t.equal(sync.view().reason, null)
})

// The alias on A and held, with an application's query sent meanwhile: which server it ran on.
async function heldQuery(t: Test, maxPauseSeconds: number) {
  const rig = await setup(t, maxPauseSeconds)
  rig.sync.apply(A)
  await rig.sync.idle()
  const app = await application(t, rig.pgbouncer)
  rig.sync.hold('failover')
  await rig.sync.idle()
  return { ...rig, held: portOf(app) }
}

t.test('a switch called off resumes on the old server', async (t) => {
  const { sync, types, held } = await heldQuery(t, 30)
  sync.release()
  t.equal(await held, pgA.port)
  // The query may run before the sync has heard RESUME's answer and said so.
  await sync.idle()
  t.same(types(), ['pgbouncer_updated', 'pgbouncer_paused', 'pgbouncer_resumed'])
})

t.test('a hold longer than PGBOUNCER_MAX_PAUSE resumes and says so', async (t) => {
  const { sync, events, types, held } = await heldQuery(t, 0.3)
  t.equal(await held, pgA.port, 'resumed where it was')
  await sync.idle()
  t.same(types(), ['pgbouncer_updated', 'pgbouncer_paused', 'pgbouncer_pause_expired', 'pgbouncer_resumed'])
  t.match(events[2], {
    severity: 'warn',
    message: `PgBouncer has held app for PGBOUNCER_MAX_PAUSE=0.3s (failover): resuming on cluster ${A.clusterId} before its clients time out`
  })
  t.equal(sync.view().state, 'serving')
  // The release that follows has nothing left to undo.
  sync.release()
  await sync.idle()
  t.equal(events.length, 4)
})

t.test('PGBOUNCER_MAX_PAUSE=0 never holds', async (t) => {
  const { pgbouncer, sync, types } = await setup(t, 0)
  sync.apply(A)
  sync.hold('failover')
  await sync.idle()
  t.equal(await pausedFlag(pgbouncer), 0)
  t.same(types(), ['pgbouncer_updated'])
  t.equal(sync.view().state, 'serving')
})

t.test("a bound at or above PgBouncer's query_wait_timeout is reported", async (t) => {
  const { sync, events } = await setup(t, 120)
  sync.apply(A)
  sync.hold('switchover')
  await sync.idle()
  t.match(events.at(-1), {
    type: 'pgbouncer_paused',
    severity: 'warn',
    message: /but PgBouncer's query_wait_timeout=120s drops waiting clients sooner: lower PGBOUNCER_MAX_PAUSE below it$/
  })
})

// A sidecar stopped with the alias paused, and the sync of the one that starts next.
async function pausedByEarlierRun(t: Test) {
  const rig = await setup(t, 30)
  rig.sync.apply(A)
  await rig.sync.idle()
  await adminQuery(rig.pgbouncer, `PAUSE ${alias}`)
  const later = createPgbouncerSync({
    config: {
      sql: { databaseName: 'postgres' },
      pgbouncer: { databasesFile: rig.pgbouncer.databasesFile, adminUrl: rig.pgbouncer.adminUrl(), database: alias, maxPauseSeconds: 30 }
    },
    log: { error: () => t.fail('nothing to log') },
    record: (input) => rig.events.push(input)
  })
  t.teardown(later.close)
  return { ...rig, later }
}

t.test('a pause left by an earlier run is resumed at the first sync', async (t) => {
  const { pgbouncer, later, events } = await pausedByEarlierRun(t)
  t.equal(await pausedFlag(pgbouncer), 1)
  later.apply(A)
  await later.idle()
  t.equal(await pausedFlag(pgbouncer), 0)
  t.match(events.at(-1), {
    type: 'pgbouncer_resumed',
    message: `PgBouncer had app paused with no switch under way (left by an earlier run?): resumed, sending it to cluster ${A.clusterId} at 127.0.0.1:${pgA.port}`,
    data: { pausedSeconds: null }
  })
})

t.test('a PAUSE that fails is retried until PgBouncer takes it', async (t) => {
  const { pgbouncer, sync, events } = await setup(t, 30)
  sync.apply(A)
  await sync.idle()
  await pgbouncer.stop()
  sync.hold('failover')
  await waitFor('a failed pause', () => events.some((e) => e.type === 'pgbouncer_failed'))
  t.match(events.find((e) => e.type === 'pgbouncer_failed'), {
    message: /^PgBouncer not yet paused \(app\) \(attempt 1\): connection refused/,
    data: { step: 'pause', attempt: 1 }
  })
  t.equal(sync.view().state, 'pausing')
  await pgbouncer.start()
  await waitFor('paused', () => sync.view().state === 'paused')
  t.equal(await pausedFlag(pgbouncer), 1)
})

t.test('a switchover hold is kept past the bound, and says why', async (t) => {
  const { pgbouncer, sync, events } = await setup(t, 0.3)
  sync.apply(A)
  await sync.idle()
  sync.hold('switchover op-1: writes fenced on A')
  // After its PATCH the same hold is kept: resuming would send writes to the old primary.
  sync.hold('switchover op-1: failover of stream s', true)
  await waitFor('the bound passed', () => events.some((e) => e.type === 'pgbouncer_pause_expired'))
  t.match(events.find((e) => e.type === 'pgbouncer_pause_expired'), {
    severity: 'error',
    message: `PgBouncer has held app for PGBOUNCER_MAX_PAUSE=0.3s (switchover op-1: failover of stream s): kept held, since resuming on cluster ${A.clusterId} would send writes after the failover point there, where they are lost; clients waiting longer than PgBouncer's query_wait_timeout get errors`,
    data: { kept: true }
  })
  await sync.idle()
  t.equal(sync.view().state, 'paused')
  t.equal(await pausedFlag(pgbouncer), 1, 'still held')
  sync.apply(B)
  sync.release()
  await sync.idle()
  t.equal(await pausedFlag(pgbouncer), 0)
  t.match(events.at(-1), { type: 'pgbouncer_resumed', data: { reason: 'switchover op-1: failover of stream s' } })
})

t.test('a hold before PgBouncer knows the alias waits for it', async (t) => {
  const { pgbouncer, sync, events } = await setup(t, 30)
  sync.hold('failover')
  await waitFor('a failed pause', () => events.some((e) => e.type === 'pgbouncer_failed'))
  t.match(events.find((e) => e.type === 'pgbouncer_failed'), { message: /: PgBouncer has no database app to pause; retrying/, data: { step: 'pause' } })
  sync.apply(A)
  await sync.idle()
  t.equal(await pausedFlag(pgbouncer), 1)
  t.equal(sync.view().state, 'paused')
})

t.test("the admin console's RESUME: not paused is done, anything else is a failure", async (t) => {
  const pgbouncer = await startPgbouncer()
  t.teardown(pgbouncer.destroy)
  const console_ = createAdminConsole({ adminUrl: pgbouncer.adminUrl(), timeoutSeconds: 5 })
  await writeFile(pgbouncer.databasesFile, `[databases]\n${alias} = host=127.0.0.1 port=${pgA.port} dbname=postgres\n`)
  await console_.session((s) => s.reload())
  await console_.session((s) => s.resume(alias))
  t.pass('RESUME of an alias not paused')
  await t.rejects(console_.session((s) => s.resume('nowhere')), /no such database: nowhere/)
  t.equal(await console_.session((s) => s.setting('no_such_setting')), undefined)
})

t.test('a hold that finds PgBouncer already paused (a restart mid-switch) keeps it, and resumes it as its own', async (t) => {
  const { pgbouncer, later, events } = await pausedByEarlierRun(t)
  later.hold('failover of stream s')
  later.apply(A)
  await later.idle()
  t.equal(await pausedFlag(pgbouncer), 1, 'still held')
  t.match(later.view(), { state: 'paused', reason: 'failover of stream s' })
  later.apply(B)
  later.release()
  await later.idle()
  t.match(events.at(-1), {
    type: 'pgbouncer_resumed',
    message: new RegExp(`^PgBouncer resumed app after \\d+\\.\\d{3}s, sending it to cluster ${B.clusterId} `),
    data: { reason: 'failover of stream s', pausedSeconds: Number }
  })
})

t.test('closing right after a release still resumes PgBouncer; closing while held leaves it held', async (t) => {
  const { pgbouncer, sync } = await heldQuery(t, 30)
  sync.release()
  await sync.close()
  t.equal(await pausedFlag(pgbouncer), 0, 'resumed before the sync closed')

  const again = await heldQuery(t, 30)
  await again.sync.close()
  t.equal(await pausedFlag(again.pgbouncer), 1, 'a hold outlives the sidecar: the next start adopts it or resumes it')
  await adminQuery(again.pgbouncer, `RESUME ${alias}`)
  t.equal(await again.held, pgA.port)
})

t.test('a transaction in flight holds the PAUSE back: not paused until it ends, however long the admin session waits', async (t) => {
  const { pgbouncer, sync, events } = await setup(t, 30, { timeoutSeconds: 0.3 })
  sync.apply(A)
  await sync.idle()
  const app = await application(t, pgbouncer)
  await app.query('begin')
  await app.query('select 1')
  sync.hold('switchover op-1')
  // Paused (wrongly, with the transaction open), or two PAUSEs cut by the session deadline.
  await waitFor('two PAUSE attempts or a pause', () => events.filter((e) => e.type === 'pgbouncer_failed').length >= 2 || sync.view().state === 'paused')
  t.match(events.find((e) => e.type === 'pgbouncer_failed'), {
    data: { step: 'pause', reason: /timed out after 0\.3s .*; PAUSE waits for 1 transaction in flight on app$/ }
  })
  t.equal(sync.view().state, 'pausing', 'PgBouncer flags the alias paused at once, but a transaction is still in flight')
  await app.query('commit')
  await waitFor('paused', () => sync.view().state === 'paused')
  t.equal(events.filter((e) => e.type === 'pgbouncer_paused').length, 1)
})
