import t, { type Test } from 'tap'
import { portVia, startPgbouncer, type Pgbouncer } from '../../tools/pgbouncer.js'
import { startGatedPostgres } from '../../tools/sql-gate.js'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService, type Cloud, type Service } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'

// The whole service with PGBOUNCER_* set: the primary and the standby are two
// real PostgreSQL servers, and a real PgBouncer sits in front of them. Each server
// is gated by the current test's emulator: it serves while its cluster does, so the
// standby's refuses while its stream replicates.

let serving: Cloud | undefined
const pgA = await startGatedPostgres(() => serving?.emulator.state.isSqlAvailable(PRIMARY) ?? false)
t.teardown(pgA.destroy)
const pgB = await startGatedPostgres(() => serving?.emulator.state.isSqlAvailable(STANDBY) ?? false)
t.teardown(pgB.destroy)
const password = 'bouncer-admin-pa55word'

const answering = (pgbouncer: Pgbouncer) => portVia(pgbouncer.url('app'))

async function serviceWithPgbouncer(t: Test): Promise<{ svc: Service; pgbouncer: Pgbouncer; cloud: Cloud }> {
  const pgbouncer = await startPgbouncer({ password })
  t.teardown(pgbouncer.destroy)
  const cloud = await startFakeCloud(t)
  serving = cloud
  const svc = await startService(t, cloud, {
    PRIMARY_SQL_DNS: `127.0.0.1:${pgA.port}`,
    STANDBY_SQL_DNS: `127.0.0.1:${pgB.port}`,
    DATABASE_NAME: 'postgres',
    PGBOUNCER_DATABASES_FILE: pgbouncer.databasesFile,
    PGBOUNCER_ADMIN_URL: pgbouncer.adminUrl(),
    PGBOUNCER_DATABASE: 'app'
  })
  await svc.waitForEvent('pgbouncer_updated', (e) => e.data.clusterId === PRIMARY, 60_000)
  await waitFor('at start, PgBouncer sends app to the primary', async () => (await answering(pgbouncer)) === pgA.port, { timeoutMs: 60_000 })
  t.pass('at start, PgBouncer sends app to the primary')
  return { svc, pgbouncer, cloud }
}

t.test('traffic through PgBouncer follows an automatic failover, PgBouncer never restarts', async (t) => {
  const { svc, pgbouncer, cloud } = await serviceWithPgbouncer(t)
  const pid = pgbouncer.pid()

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('pgbouncer_updated', (e) => e.data.clusterId === STANDBY, 60_000)
  await waitFor('after the failover, PgBouncer sends app to the standby', async () => (await answering(pgbouncer)) === pgB.port, { timeoutMs: 60_000 })
  t.pass('after the failover, PgBouncer sends app to the standby')
  t.equal(pgbouncer.pid(), pid, 'the same PgBouncer process throughout')

  // PgBouncer may serve before the sync has heard RESUME's answer and said so.
  await waitFor('the sync reports PgBouncer serving', () => svc.fastify.engine.snapshot().pooler?.state === 'serving')
  // While failing over there was no active cluster: the file was left alone.
  const history = svc.events().reverse()
  const moves = history.filter((e) => e.type === 'active_cluster_changed' || e.type === 'pgbouncer_updated')
  t.same(
    moves.map((e) => [e.type, e.data.clusterId]),
    [
      ['active_cluster_changed', PRIMARY],
      ['pgbouncer_updated', PRIMARY],
      ['active_cluster_changed', null],
      ['active_cluster_changed', STANDBY],
      ['pgbouncer_updated', STANDBY]
    ]
  )
  t.notOk(history.some((e) => e.type === 'pgbouncer_failed'))
  // Held from the PATCH until PgBouncer sends app to the standby (PGBOUNCER_MAX_PAUSE's default).
  const at = (type: string, clusterId?: string | null) => history.findIndex((e) => e.type === type && (clusterId === undefined || e.data.clusterId === clusterId))
  t.ok(at('failover_patched') < at('pgbouncer_paused') && at('pgbouncer_paused') < at('pgbouncer_updated', STANDBY), 'paused after the PATCH, before the repoint')
  t.ok(at('pgbouncer_updated', STANDBY) < at('pgbouncer_resumed'), 'resumed once it sends app to the standby')
  t.match(history[at('pgbouncer_paused')], { data: { reason: /^failover of stream /, maxPauseSeconds: 100 } })

  const events = await svc.get('/events?limit=200')
  t.match(events.body.events.find((e: { type: string }) => e.type === 'pgbouncer_updated'), {
    severity: 'info',
    data: { clusterId: STANDBY, host: '127.0.0.1', port: pgB.port, database: 'app', reloaded: true }
  })
  t.notMatch(JSON.stringify(events.body), password)
  t.notMatch(svc.lines.join('\n'), password, 'nor in the log')
})

t.test('a manual failover moves PgBouncer too, and the sidecar stopping leaves it as it is', async (t) => {
  const { svc, pgbouncer } = await serviceWithPgbouncer(t)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  await svc.waitForEvent('pgbouncer_updated', (e) => e.data.clusterId === STANDBY, 60_000)
  await waitFor('PgBouncer sends app to the standby', async () => (await answering(pgbouncer)) === pgB.port, { timeoutMs: 60_000 })
  t.pass('PgBouncer sends app to the standby')

  await svc.close()
  t.equal(await answering(pgbouncer), pgB.port, 'PgBouncer keeps sending app where it was told')
})

t.test('without PGBOUNCER_* nothing is written and no PgBouncer event appears', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.waitForEvent('active_cluster_changed')
  await svc.fastify.engine.nextCheck()
  t.notOk(svc.events().some((e) => e.type.startsWith('pgbouncer_')))
})
