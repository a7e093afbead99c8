import t from 'tap'
import { Client, type Pool } from 'pg'
import { activePools, askActive, main, type ActivePools } from '../../examples/host-from-sidecar.js'
import { PRIMARY, STANDBY, admin, startService, type Teardown } from '../../tools/stack.js'
import {
  PASSWORD,
  PORT_QUERY,
  Sequence,
  USER,
  drive,
  patiently,
  runExample,
  startSidecarProxy,
  startSqlPair,
  strayQueries,
  type Change
} from '../helpers/sql-pair.js'
import { waitFor } from '../../tools/wait-for.js'

const credentials = { user: USER, password: PASSWORD }

// One unit of work per call: pool(), then a query on it. Each pool seen for
// the first time is recorded as a change, in sequence with the queries.
function following(t: Teardown, seq: Sequence, db: ActivePools) {
  t.teardown(() => db.end())
  const changes: Change[] = []
  const seen = new Set<Pool>()
  const unit = async () => {
    const pool = await db.pool()
    if (!seen.has(pool)) {
      seen.add(pool)
      changes.push({ seq: seq.next(), clusterId: db.active?.cluster_id as string, port: pool.options.port as number })
    }
    return (await pool.query<{ port: number }>(PORT_QUERY)).rows[0]?.port as number
  }
  return { changes, unit }
}

t.test('an outage: the next unit of work after the failover goes to the standby', async (t) => {
  const { primarySql, standbySql, cloud, svc } = await startSqlPair(t)
  const proxy = await startSidecarProxy(t, svc.url)
  const seq = new Sequence()
  const { changes, unit } = following(t, seq, activePools(proxy.url, credentials))
  const run = drive(seq, 3, unit)
  t.teardown(() => run.stop())

  await waitFor('queries on the primary', () => run.count(primarySql.port) >= 10, patiently)
  await primarySql.stop()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await waitFor('queries on the standby', () => changes.length === 2 && run.count(standbySql.port, changes[1]!.seq) >= 20, patiently)
  await run.stop()

  t.same(
    changes.map((c) => c.clusterId),
    [PRIMARY, STANDBY],
    'one pool per active cluster'
  )
  t.equal(changes[1]?.port, standbySql.port)
  t.equal(run.count(primarySql.port, changes[1]!.seq), 0, 'no query reached the old primary after the switch')
  t.same(strayQueries(run.queries, changes), [])
  t.same(
    proxy.seen.filter((r) => r.headers['x-db-username'] !== undefined || r.headers['x-db-password'] !== undefined),
    [],
    'no credentials ever sent to the sidecar'
  )
  t.same(new Set(proxy.seen.map((r) => r.path)), new Set(['/active']))
  const errors = run.errors()
  t.comment(`${errors.length} queries failed during the outage`)
  t.same(
    errors.filter((err) => !/ECONNREFUSED|ECONNRESET|Connection terminated unexpectedly/.test(String(err))),
    [],
    'the outage showed as lost or refused connections only'
  )
})

t.test('a planned failover: the old primary, still up, gets no more work', async (t) => {
  const { primarySql, standbySql, svc } = await startSqlPair(t)
  const seq = new Sequence()
  const { changes, unit } = following(t, seq, activePools(svc.url, credentials))
  const run = drive(seq, 2, unit)
  t.teardown(() => run.stop())

  await waitFor('queries on the primary', () => run.count(primarySql.port) >= 5, patiently)
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  await waitFor('queries on the standby', () => changes.length === 2 && run.count(standbySql.port, changes[1]!.seq) >= 10, patiently)
  await run.stop()

  t.same(
    changes.map((c) => c.clusterId),
    [PRIMARY, STANDBY]
  )
  t.same(strayQueries(run.queries, changes), [], 'nothing reached the old primary after the switch')
  t.same(run.errors(), [], 'no query failed: the old pool was ended gracefully')
})

t.test('the sidecar', async (t) => {
  const { primarySql, cloud, svc, env } = await startSqlPair(t)
  const proxy = await startSidecarProxy(t, svc.url)
  const seq = new Sequence()
  const failingOver = { status: 503, retryAfter: '1', body: { error: 'Service Unavailable', message: 'failing over' } }

  t.test('a 503 is waited out for Retry-After', async (t) => {
    proxy.script.push(failingOver)
    t.match(await askActive(proxy.url, 60_000), { cluster_id: PRIMARY, role: 'primary', port: primarySql.port, phase: 'normal' })
    t.equal(proxy.asks('/active'), 2)
  })

  t.test('but not past maxWaitMs', async (t) => {
    proxy.script.push(failingOver)
    const { unit } = following(t, seq, activePools(proxy.url, credentials, 0))
    await t.rejects(unit(), { message: 'sidecar answered 503: failing over' })
  })

  t.test('another answer is an error', async (t) => {
    proxy.script.push({ status: 404, body: { error: 'Not Found', message: 'no such route' } })
    await t.rejects(askActive(proxy.url, 60_000), { message: 'sidecar answered 404: no such route' })
  })

  t.test('sslmode comes from the sidecar', async (t) => {
    const tls = await startService(t, cloud, { ...env, DB_SSLMODE: 'require' })
    await tls.fastify.engine.nextCheck()
    const { unit } = following(t, seq, activePools(tls.url, credentials))
    await t.rejects(unit(), { message: /does not support SSL/ })
  })

  t.test('an idle connection that breaks does not crash the process', async (t) => {
    const db = activePools(proxy.url, credentials)
    const { unit } = following(t, seq, db)
    t.equal(await unit(), primarySql.port)
    const pool = await db.pool()
    t.equal(pool.idleCount, 1)
    const killer = new Client({ connectionString: primarySql.url() })
    await killer.connect()
    t.teardown(() => killer.end())
    await killer.query(`select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`)
    await waitFor('the broken connection dropped', () => pool.idleCount === 0, patiently)
    t.equal(await unit(), primarySql.port)
  })
})

t.test('main', async (t) => {
  const { primarySql, svc } = await startSqlPair(t)
  const env = { PCR_SIDECAR_URL: svc.url, PGUSER: USER, PGPASSWORD: PASSWORD }

  t.test('needs the sidecar', async (t) => {
    await t.rejects(main({}), { message: /^set PCR_SIDECAR_URL/ })
  })

  t.test('queries every second and says where; a failed query is reported, not fatal', async (t) => {
    const lines: string[] = []
    t.teardown(await main(env, (line) => lines.push(line)))
    await waitFor('an answer', () => lines.some((l) => l.endsWith(`answered by ${PRIMARY} (primary) at 127.0.0.1:${primarySql.port}`)), patiently)
    await primarySql.stop()
    await waitFor('a failed query', () => lines.some((l) => l.startsWith('query failed: ')), patiently)
    await primarySql.start()
    t.notMatch(lines.join('\n'), PASSWORD)
  })

  t.test('runs when executed directly and stops on SIGTERM', async (t) => {
    const run = await runExample('host-from-sidecar.ts', env, new RegExp(`answered by ${PRIMARY}`))
    t.equal(run.code, 0, 'ends cleanly on SIGTERM', { output: run.output })
    t.notMatch(run.output, PASSWORD)
  })
})
