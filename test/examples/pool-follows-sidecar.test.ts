import t from 'tap'
import { Client } from 'pg'
import { SidecarPool, isConnectionError, main, type SidecarPoolOptions } from '../../examples/pool-follows-sidecar.js'
import { PRIMARY, STANDBY, admin, type Teardown } from '../../tools/stack.js'
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

// A SidecarPool that records each pool it builds as a change, in sequence with the queries.
function followingPool(t: Teardown, seq: Sequence, options: Omit<SidecarPoolOptions, 'user' | 'password'>) {
  const changes: Change[] = []
  const pool = new SidecarPool({
    user: USER,
    password: PASSWORD,
    onChange: (target) => changes.push({ seq: seq.next(), clusterId: target.cluster_id, port: target.port }),
    ...options
  })
  t.teardown(() => pool.end())
  const port = async () => (await pool.query<{ port: number }>(PORT_QUERY)).rows[0]?.port as number
  return { pool, changes, port }
}

t.test('an outage: connection errors move the pool to the standby, rebuilt once', async (t) => {
  const { primarySql, standbySql, cloud, svc } = await startSqlPair(t)
  const proxy = await startSidecarProxy(t, svc.url)
  const seq = new Sequence()
  const { pool, changes, port } = followingPool(t, seq, { sidecarUrl: proxy.url })
  const run = drive(seq, 3, port)
  t.teardown(() => run.stop())

  await waitFor('queries on the primary', () => run.count(primarySql.port) >= 10, patiently)
  t.equal(proxy.asks('/connection'), 1, 'three loops started together: one question at start, none per query')
  const header = proxy.seen[0]?.headers
  t.equal(header?.['x-db-username'], USER)
  t.equal(header?.['x-db-password'], Buffer.from(PASSWORD, 'utf8').toString('latin1'), 'the password as UTF-8 bytes')
  t.notMatch(JSON.stringify(pool.target), PASSWORD, 'the target leaves the connection string (and its password) out')

  await primarySql.stop()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await waitFor('queries on the standby', () => changes.length === 2 && run.count(standbySql.port, changes[1]!.seq) >= 10, patiently)
  const asked = proxy.asks('/connection')
  await waitFor('more queries on the standby', () => run.count(standbySql.port, changes[1]!.seq) >= 40, patiently)
  await run.stop()

  t.same(
    changes.map((c) => c.clusterId),
    [PRIMARY, STANDBY],
    'one pool at start, rebuilt once for the one change'
  )
  t.equal(changes[1]?.port, standbySql.port)
  t.equal(run.count(primarySql.port, changes[1]!.seq), 0, 'no query reached the old primary after the switch')
  t.same(strayQueries(run.queries, changes), [])
  t.equal(proxy.asks('/connection'), asked, 'healthy again: no more questions')
  const errors = run.errors()
  t.comment(`${errors.length} queries failed during the outage`)
  t.same(errors.filter((err) => !isConnectionError(err)), [], 'the outage showed as connection errors only')
  t.equal(pool.target?.cluster_id, STANDBY)
})

t.test('a planned failover and a failback: the re-check moves the pool each time, no query fails', async (t) => {
  const { primarySql, standbySql, svc } = await startSqlPair(t)
  const seq = new Sequence()
  const { changes, port } = followingPool(t, seq, { sidecarUrl: svc.url, recheckMs: 100 })
  const run = drive(seq, 2, port)
  t.teardown(() => run.stop())

  await waitFor('queries on the primary', () => run.count(primarySql.port) >= 5, patiently)
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  await waitFor('queries on the standby', () => changes.length === 2 && run.count(standbySql.port, changes[1]!.seq) >= 5, patiently)
  const failback = await svc.post('/admin/failback', { action: 'full', max_lag_seconds: 30 }, admin)
  t.equal(failback.status, 202)
  await waitFor('queries on the primary again', () => changes.length === 3 && run.count(primarySql.port, changes[2]!.seq) >= 5, patiently)
  await run.stop()

  t.same(
    changes.map((c) => c.clusterId),
    [PRIMARY, STANDBY, PRIMARY],
    'rebuilt once per change'
  )
  t.same(strayQueries(run.queries, changes), [], 'the old cluster, still up, got no query after each switch')
  t.same(run.errors(), [], 'the old pools were ended gracefully')
})

t.test('errors and the sidecar', async (t) => {
  const { primarySql, svc } = await startSqlPair(t)
  const proxy = await startSidecarProxy(t, svc.url)
  const seq = new Sequence()
  const errors: Error[] = []
  const { pool, port } = followingPool(t, seq, { sidecarUrl: proxy.url, onError: (err) => errors.push(err) })
  t.equal(await port(), primarySql.port)
  const superuser = new Client({ connectionString: primarySql.url() })
  await superuser.connect()
  t.teardown(() => superuser.end())
  const others = `select pid from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`

  t.test('a statement error is thrown as is, without asking the sidecar', async (t) => {
    const asked = proxy.asks('/connection')
    await t.rejects(pool.query('select nonsense'), { code: '42703' })
    t.equal(proxy.asks('/connection'), asked)
  })

  t.test('a refused login is thrown as is, without asking again', async (t) => {
    const other = new SidecarPool({ sidecarUrl: proxy.url, user: USER, password: 'wrong' })
    t.teardown(() => other.end())
    const asked = proxy.asks('/connection')
    await t.rejects(other.query('select 1'), { code: '28P01' })
    t.equal(proxy.asks('/connection'), asked + 1, 'once, for the first pool')
  })

  t.test('a connection lost mid-statement: not retried, the sidecar asked again', async (t) => {
    const asked = proxy.asks('/connection')
    const rejected = t.rejects(pool.query('select pg_sleep(60)'), { code: '57P01' })
    await waitFor('the statement running', async () => (await superuser.query(`${others} and query like 'select pg_sleep%'`)).rowCount === 1, patiently)
    await superuser.query(`select pg_terminate_backend(pid) from (${others} and query like 'select pg_sleep%') s`)
    await rejected
    t.equal(proxy.asks('/connection'), asked + 1)
    t.equal(await port(), primarySql.port, 'the next query goes on')
  })

  t.test('an idle connection that breaks makes it ask the sidecar', async (t) => {
    t.equal(await port(), primarySql.port)
    const asked = proxy.asks('/connection')
    await superuser.query(`select pg_terminate_backend(pid) from (${others}) s`)
    await waitFor('a question to the sidecar', () => proxy.asks('/connection') > asked, patiently)
    t.equal(await port(), primarySql.port)
  })

  t.test('an unreachable sidecar at a re-check: reported, the pool stays', async (t) => {
    proxy.down = true
    await t.rejects(pool.refresh(), { message: 'fetch failed' })
    await superuser.query(`select pg_terminate_backend(pid) from (${others}) s`)
    await waitFor('the failure reported', () => errors.length > 0, patiently)
    proxy.down = false
    t.equal(await port(), primarySql.port)
  })

  t.test('a 503 is waited out for Retry-After', async (t) => {
    proxy.script.push({ status: 503, retryAfter: '1', body: { error: 'Service Unavailable', message: 'failing over' } })
    const other = followingPool(t, seq, { sidecarUrl: proxy.url })
    const asked = proxy.asks('/connection')
    t.equal(await other.port(), primarySql.port)
    t.equal(proxy.asks('/connection'), asked + 2)
  })

  t.test('but not past maxWaitMs', async (t) => {
    proxy.script.push({ status: 503, retryAfter: '1', body: { error: 'Service Unavailable', message: 'failing over' } })
    const other = followingPool(t, seq, { sidecarUrl: proxy.url, maxWaitMs: 0 })
    await t.rejects(other.port(), { message: 'sidecar answered 503: failing over' })
  })

  t.test('another answer is an error, without the password', async (t) => {
    const other = new SidecarPool({ sidecarUrl: proxy.url, user: '', password: PASSWORD })
    t.teardown(() => other.end())
    const err = await other.query('select 1').catch((e: Error) => e)
    t.match(err, { message: /^sidecar answered 400: .*X-DB-Username/ })
    t.notMatch(String(err), PASSWORD)
  })

  t.test('no queries after end', async (t) => {
    const other = followingPool(t, seq, { sidecarUrl: proxy.url })
    t.equal(await other.port(), primarySql.port)
    await other.pool.end()
    await t.rejects(other.port(), { message: 'the SidecarPool has ended' })
  })
})

t.test('main', async (t) => {
  const { primarySql, svc } = await startSqlPair(t)
  const env = { PCR_SIDECAR_URL: svc.url, PGUSER: USER, PGPASSWORD: PASSWORD }

  t.test('needs its settings', async (t) => {
    await t.rejects(main({}), { message: 'set PCR_SIDECAR_URL, PGUSER and PGPASSWORD' })
  })

  t.test('queries every second and says where; failures are reported, not fatal', async (t) => {
    const proxy = await startSidecarProxy(t, svc.url)
    const lines: string[] = []
    t.teardown(await main({ ...env, PCR_SIDECAR_URL: proxy.url }, (line) => lines.push(line)))
    await waitFor('an answer', () => lines.some((l) => l.endsWith(`answered by ${PRIMARY}`)), patiently)
    t.equal(lines[0], `using ${PRIMARY} (primary) at 127.0.0.1:${primarySql.port}`)
    proxy.down = true
    await primarySql.stop()
    await waitFor('a failed query', () => lines.some((l) => l.startsWith('query failed: ')), patiently)
    t.ok(lines.includes('asking the sidecar failed: fetch failed'))
    await primarySql.start()
    t.notMatch(lines.join('\n'), PASSWORD)
  })

  t.test('runs when executed directly and stops on SIGTERM', async (t) => {
    const run = await runExample('pool-follows-sidecar.ts', env, new RegExp(`answered by ${PRIMARY}`))
    t.equal(run.code, 0, 'ends cleanly on SIGTERM', { output: run.output })
    t.match(run.output, `using ${PRIMARY} (primary) at 127.0.0.1:${primarySql.port}`)
    t.notMatch(run.output, PASSWORD)
  })
})
