import t from 'tap'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import pg from 'pg'
import { createPool, isConnectionError, main, withRetry } from '../../examples/through-haproxy.js'
import { untracedEnv } from '../../tools/child-env.js'
import { startFakeSqlServer } from '../helpers/fake-sql-server.js'
import { unusedPort } from '../../tools/unused-port.js'
import { landsOn, startProxiedPair, within } from '../../tools/proxied-pair.js'
import { ENDPOINT_PORT_QUERY } from '../../tools/sql-gate.js'
import { admin } from '../../tools/stack.js'

// The endpoint (gate) a session reached: pair.primary.port or pair.standby.port.
const portQuery = ENDPOINT_PORT_QUERY
const portOf = async (client: pg.PoolClient) => (await client.query<{ port: number }>(portQuery)).rows[0]!.port

t.test('isConnectionError: retry what a fresh connection may fix, nothing else', async (t) => {
  const coded = (code: string) => Object.assign(new Error(code), { code })
  const retried = [
    coded('08006'),
    coded('57P01'),
    coded('ECONNREFUSED'),
    new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout'),
    new Error('timeout expired'),
    new Error('Client has encountered a connection error and is not queryable')
  ]
  for (const err of retried) t.ok(isConnectionError(err), err.message)
  const closedByUs = [new Error('Connection terminated'), new Error('Client was closed and is not queryable')]
  for (const err of [coded('40001'), coded('42601'), ...closedByUs, 'Connection terminated unexpectedly']) {
    t.notOk(isConnectionError(err), String(err))
  }
})

t.test('withRetry: an SQL error is not retried, connection errors until the budget is spent', async (t) => {
  const server = await startFakeSqlServer(() => ({ error: { code: '22012', message: 'division by zero' } }))
  t.teardown(() => server.close())
  const lines: string[] = []
  const log = (line: string) => lines.push(line)
  const sqlError = createPool({ host: '127.0.0.1', port: server.port, user: 'root' })
  t.teardown(() => sqlError.end())
  await t.rejects(withRetry(sqlError, (client) => client.query('select 1/0'), { log }), { code: '22012' })
  t.same(lines, [], 'no retry')

  const nothing = createPool({ host: '127.0.0.1', port: await unusedPort(), user: 'root' })
  t.teardown(() => nothing.end())
  await t.rejects(withRetry(nothing, (client) => client.query('select 1'), { log, firstDelayMs: 20, giveUpAfterMs: 1000 }), { code: 'ECONNREFUSED' })
  t.ok(lines.length >= 1, `retried, then gave up: ${lines.join('; ')}`)
  t.match(lines[0], /^retry 1 in \d+ ms: connect ECONNREFUSED/)
})

t.test('an application through HAProxy keeps working across a failover', async (t) => {
  const pair = await startProxiedPair(t)
  const { primary, standby, svc, proxy } = pair
  const lines: string[] = []
  const log = (line: string) => lines.push(line)
  const connection = { host: proxy.host, port: proxy.port, user: 'postgres', database: 'postgres' }
  const retry = { firstDelayMs: 50, maxDelayMs: 500, giveUpAfterMs: 60_000 }
  await pair.until('HAProxy routes to the primary', () => landsOn(proxy))

  t.test('a query cut by the failover runs again on the standby', async (t) => {
    const pool = createPool({ ...connection, idleTimeoutMillis: 0 }, log)
    t.teardown(() => pool.end())
    // Two sessions, so one is idle when the failover cuts both.
    const before = await Promise.all([withRetry(pool, portOf, { ...retry, log }), withRetry(pool, portOf, { ...retry, log })])
    t.same(before, [primary.port, primary.port])
    t.equal(pool.idleCount, 2)

    // Sleeps on the primary until cut, answers at once on the standby.
    const slowOnPrimary = `${portQuery}, pg_sleep(case when current_setting('pcr.endpoint_port')::int = ${primary.port} then 600 else 0 end)`
    const inflight = withRetry(pool, async (client) => (await client.query<{ port: number }>(slowOnPrimary)).rows[0]!.port, { ...retry, log })
    const direct = new pg.Client({ connectionString: primary.url() })
    await direct.connect()
    await pair.until('the slow query runs on the primary', async () => {
      const { rows } = await direct.query("select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(case%' and pid <> pg_backend_pid()")
      return rows[0].n === 1 ? true : undefined
    })
    await direct.end()

    const failover = await svc.post('/admin/failover', {}, admin)
    t.equal(failover.status, 202)
    t.equal(await within(inflight, 60_000, 'the cut query answers'), standby.port, 'answered by the standby')
    t.ok(lines.some((line) => /^retry 1 in \d+ ms: Connection terminated unexpectedly$/.test(line)), 'retried after the cut')
    t.ok(lines.includes('idle connection dropped: Connection terminated unexpectedly'), 'the idle session was cut too')
    const after = []
    for (let i = 0; i < 5; i++) after.push(await withRetry(pool, portOf, retry))
    t.same(after, Array(5).fill(standby.port))
  })

  t.test('main: a query at each interval until stopped', async (t) => {
    const seen: string[] = []
    let third: () => void
    const answered = new Promise<void>((resolve) => (third = resolve))
    const stop = main({
      pool: createPool(connection),
      query: portQuery,
      intervalMs: 10,
      retry,
      log: (line) => {
        if (seen.push(line) === 3) third()
      }
    })
    await within(answered, 60_000, 'three answers')
    await stop()
    t.ok(seen.length >= 3)
    t.same(new Set(seen), new Set([JSON.stringify({ port: standby.port })]), 'each answered by the standby')
  })

  t.test('runs as a program until SIGTERM', async (t) => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    const program = fileURLToPath(new URL('../../examples/through-haproxy.ts', import.meta.url))
    const env = { PGHOST: proxy.host, PGPORT: String(proxy.port), PGUSER: 'postgres', PGDATABASE: 'postgres' }
    const child = spawn(process.execPath, ['--import', tsx, program], { env: untracedEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const answered = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk) => {
        out += chunk
        if (out.includes('\n')) resolve()
      })
    })
    child.stderr.on('data', (chunk) => (out += chunk))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await within(answered, 60_000, 'the first answer')
    child.kill('SIGTERM')
    t.equal(await exited, 0, out)
    t.match(out, /^\{"now":"\d{4}-\d\d-\d\dT/)
  })
})
