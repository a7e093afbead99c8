import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createSqlProbe, type ProbeResult } from '../../src/sql/probe.js'
import { startDroppingServer, startFakeSqlServer, startSilentServer } from '../helpers/fake-sql-server.js'
import { unusedPort } from '../../tools/unused-port.js'
import { waitFor } from '../../tools/wait-for.js'
import { startPostgres } from '../../tools/postgres.js'
import { untracedEnv } from '../../tools/child-env.js'

const password = 'Pr0be s3cret/p@ss'
const pg = await startPostgres({ password })
t.teardown(pg.destroy)

// Sockets and timers a check could leave behind; servers are the tests' own.
const handles = () =>
  process
    .getActiveResourcesInfo()
    .filter((name) => /TCPSocket|TLS|Timeout/.test(name))
    .sort()

function failure(result: ProbeResult): Extract<ProbeResult, { ok: false }> {
  if (result.ok) throw new Error('the probe succeeded')
  return result
}

// What an error line must never hold.
const leaks = (text: string) =>
  [password, encodeURIComponent(password), 'postgresql://', '\n'].filter((secret) => text.includes(secret))

t.test('a live server answers; a stopped one refuses; a restarted one answers again', async (t) => {
  const probe = createSqlProbe({ connectionString: pg.url(), timeoutSeconds: 5 })
  t.teardown(probe.close)

  const up = await probe.check()
  t.match(up, { ok: true, latencyMs: Number })
  t.ok(up.latencyMs >= 0 && up.latencyMs < 5000)

  await pg.stop()
  const down = failure(await probe.check())
  t.equal(down.kind, 'refused')
  t.equal(down.error, `refused: connection refused by 127.0.0.1:${pg.port}`)
  t.ok(down.latencyMs < 1000, `refused quickly (${down.latencyMs} ms)`)

  await pg.start()
  t.match(await probe.check(), { ok: true })
})

t.test('a wrong password is an auth failure that does not repeat it', async (t) => {
  const wrong = 'Wr0ng p@ss/word'
  const probe = createSqlProbe({ connectionString: pg.url('postgres', wrong), timeoutSeconds: 5 })
  t.teardown(probe.close)
  const result = failure(await probe.check())
  t.equal(result.error, 'auth: password authentication failed for user "postgres" (SQLSTATE 28P01)')
  t.same(leaks(result.error), [])
  t.notOk(result.error.includes(wrong))
})

t.test('no password for a server that wants one is an auth failure', async (t) => {
  const probe = createSqlProbe({ connectionString: pg.url('postgres', ''), timeoutSeconds: 5 })
  t.teardown(probe.close)
  const result = failure(await probe.check())
  t.match(result, { kind: 'auth', error: /^auth: SASL: / })
  t.same(leaks(result.error), [])
})

t.test('a server that accepts the connection but never answers times out', async (t) => {
  const silent = await startSilentServer()
  t.teardown(silent.close)
  const probe = createSqlProbe({ connectionString: silent.url(), timeoutSeconds: 0.3 })
  t.teardown(probe.close)
  const result = failure(await probe.check())
  t.equal(result.error, `timeout: timed out after 0.3s connecting to 127.0.0.1:${silent.port}`)
  t.ok(result.latencyMs >= 290 && result.latencyMs < 1300, `gave up after ${result.latencyMs} ms`)
})

t.test('a server that logs in but never answers the query times out', async (t) => {
  const stuck = await startFakeSqlServer(() => 'hang')
  t.teardown(stuck.close)
  const probe = createSqlProbe({ connectionString: stuck.url(), timeoutSeconds: 0.3 })
  t.teardown(probe.close)
  const result = failure(await probe.check())
  t.equal(result.error, `timeout: timed out after 0.3s waiting for an answer from 127.0.0.1:${stuck.port}`)
  t.same(stuck.queries, ['SELECT 1'])
})

t.test("the server's own statement timeout is a timeout", async (t) => {
  const server = await startFakeSqlServer(() => ({
    error: { code: '57014', message: 'query execution canceled due to statement timeout' }
  }))
  t.teardown(server.close)
  const probe = createSqlProbe({ connectionString: server.url(), timeoutSeconds: 5 })
  t.teardown(probe.close)
  t.match(failure(await probe.check()), {
    kind: 'timeout',
    error: 'timeout: query execution canceled due to statement timeout (SQLSTATE 57014)'
  })
})

t.test('a dropped connection is another failure', async (t) => {
  const dropping = await startDroppingServer()
  t.teardown(dropping.close)
  const probe = createSqlProbe({ connectionString: dropping.url(), timeoutSeconds: 5 })
  t.teardown(probe.close)
  t.match(failure(await probe.check()), { kind: 'other', error: /^other: Connection terminated/ })
})

t.test('close cuts a check short and fails later ones at once', async (t) => {
  const silent = await startSilentServer()
  t.teardown(silent.close)
  const probe = createSqlProbe({ connectionString: silent.url(), timeoutSeconds: 30 })
  const pending = probe.check()
  while (silent.connections() === 0) await new Promise((resolve) => setImmediate(resolve))
  const started = performance.now()
  await probe.close()
  t.ok(performance.now() - started < 1000)
  t.match(await pending, { ok: false, kind: 'other', error: 'other: cancelled' })
  t.match(await probe.check(), { ok: false, kind: 'other', error: 'other: cancelled' })
  t.equal(silent.connections(), 1, 'no connection after close')
})

t.test('checks leave no socket or timer behind, whatever their outcome', async (t) => {
  const silent = await startSilentServer()
  const stuck = await startFakeSqlServer(() => 'hang')
  t.teardown(silent.close)
  t.teardown(stuck.close)
  const probes = [
    createSqlProbe({ connectionString: pg.url(), timeoutSeconds: 60 }),
    createSqlProbe({ connectionString: pg.url('postgres', 'wrong'), timeoutSeconds: 60 }),
    createSqlProbe({ connectionString: silent.url(), timeoutSeconds: 0.2 }),
    createSqlProbe({ connectionString: stuck.url(), timeoutSeconds: 0.2 })
  ]
  const results = await Promise.all(probes.map((probe) => probe.check()))
  t.same(
    results.map((result) => (result.ok ? 'ok' : result.kind)),
    ['ok', 'auth', 'timeout', 'timeout']
  )
  // Closing sockets, the servers' included, take a moment to go: wait, within bounds,
  // for nothing to be left. A leak never goes and fails below.
  const settled = () => handles().length === 0 && silent.open() + stuck.open() === 0
  await waitFor('every socket closed', settled, { timeoutMs: 2000, intervalMs: 10 }).catch(() => undefined)
  t.same(handles(), [])
  t.equal(silent.open() + stuck.open(), 0, 'the servers saw every probe hang up')
  await Promise.all(probes.map((probe) => probe.close()))
})

t.test('a process that probed and closed ends by itself', async (t) => {
  const silent = await startSilentServer()
  const stuck = await startFakeSqlServer(() => 'hang')
  t.teardown(silent.close)
  t.teardown(stuck.close)
  // Generous timeouts for the checks that end early: a deadline left running, or
  // a socket left open, would keep the child alive past its 10 s limit.
  const targets = [
    [pg.url(), 60],
    [pg.url('postgres', 'wrong'), 60],
    [`postgresql://postgres@127.0.0.1:${await unusedPort()}/postgres`, 60],
    [silent.url(), 0.2],
    [stuck.url(), 0.2]
  ]
  const script = `
    import { createSqlProbe } from ${JSON.stringify(fileURLToPath(new URL('../../src/sql/probe.ts', import.meta.url)))}
    const results = []
    for (const [connectionString, timeoutSeconds] of ${JSON.stringify(targets)}) {
      const probe = createSqlProbe({ connectionString, timeoutSeconds })
      results.push(await probe.check())
      await probe.close()
    }
    console.log(JSON.stringify(results.map((result) => result.kind ?? 'ok')))
  `
  const started = performance.now()
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    { timeout: 10_000, env: untracedEnv() }
  )
  t.same(JSON.parse(stdout), ['ok', 'auth', 'refused', 'timeout', 'timeout'])
  t.comment(`child process, tsx start-up included: ${Math.round(performance.now() - started)} ms`)
})
