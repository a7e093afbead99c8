import t from 'tap'
import { startFakeSqlServer } from '../helpers/fake-sql-server.js'
import { unusedPort } from '../../tools/unused-port.js'
import { startPostgres } from '../../tools/postgres.js'
import { directEnv, errors, pcr } from './fixtures/pcr.js'

// Any Cloud API URL will do: settings never calls it.
const env = (endpoint?: string) =>
  directEnv({ url: 'http://127.0.0.1:9' } as never, endpoint === undefined ? {} : { PRIMARY_CLUSTER_ENDPOINT: endpoint })

t.test('settings prints the statement; no configuration is needed for that', async (t) => {
  const run = await pcr(['settings', '--setting', 'server.time_until_store_dead', '--value', '15m0s'])
  t.equal(run.code, 0)
  t.equal(run.stdout, "SET CLUSTER SETTING server.time_until_store_dead = '15m0s';\n")
  t.equal(run.stderr, '')
  const quoted = await pcr(['settings', '--setting', 'cluster.organization', '--value', "O'Reilly"])
  t.equal(quoted.stdout, "SET CLUSTER SETTING cluster.organization = 'O''Reilly';\n")
})

t.test('what the statement builder refuses is a usage error, and nothing is run', async (t) => {
  const name = await pcr(['settings', '--setting', 'x = 1; DROP TABLE t; --', '--value', '1', '--execute'])
  t.equal(name.code, 2)
  t.equal(name.stderr, 'pcr: invalid cluster setting name "x = 1; DROP TABLE t; --": expected dotted lower-case identifiers such as server.time_until_store_dead\n')
  t.equal(name.stdout, '')
  const value = await pcr(['settings', '--setting', 'server.time_until_store_dead', '--value', "1'\nSET x = '2"])
  t.equal(value.code, 2)
  t.equal(value.stderr, 'pcr: invalid value for cluster setting server.time_until_store_dead: control characters and line breaks are not allowed\n')
})

t.test('--execute needs PRIMARY_CLUSTER_ENDPOINT', async (t) => {
  const run = await pcr(['settings', '--setting', 'server.time_until_store_dead', '--value', '15m0s', '--execute'], { env: env() })
  t.equal(run.code, 2)
  t.equal(errors(run), 'pcr: --execute needs PRIMARY_CLUSTER_ENDPOINT, the postgresql:// URL of the primary')
})

t.test('--execute shows the value before and after (a server that speaks CockroachDB)', async (t) => {
  let value = '00:05:00'
  const server = await startFakeSqlServer((sql) => {
    if (sql.startsWith('SHOW CLUSTER SETTING')) return { columns: ['server.time_until_store_dead'], rows: [[value]], tag: 'SHOW' }
    value = '00:15:00'
    return { tag: 'SET CLUSTER SETTING' }
  })
  t.teardown(() => server.close())
  const run = await pcr(['settings', '--setting', 'server.time_until_store_dead', '--value', '15m0s', '--execute'], { env: env(server.url()) })
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stdout, "SET CLUSTER SETTING server.time_until_store_dead = '15m0s';\nbefore: 00:05:00\nafter:  00:15:00\n")
  t.same(server.queries, [
    'SHOW CLUSTER SETTING server.time_until_store_dead',
    "SET CLUSTER SETTING server.time_until_store_dead = '15m0s'",
    'SHOW CLUSTER SETTING server.time_until_store_dead'
  ])
})

t.test('--execute against PostgreSQL, which knows no cluster settings: its error in one line, exit 1', async (t) => {
  const pg = await startPostgres({ password: 'pg-secret-pw' })
  t.teardown(pg.destroy)
  const run = await pcr(['settings', '--setting', 'server.time_until_store_dead', '--value', '15m0s', '--execute'], { env: env(pg.url()) })
  t.equal(run.code, 1)
  t.equal(errors(run), 'pcr: SHOW CLUSTER SETTING server.time_until_store_dead: syntax error at or near "SETTING" (SQLSTATE 42601)')
  t.notMatch(run.stderr + run.stdout, 'pg-secret-pw')

  const denied = await pcr(['settings', '--setting', 'a.b', '--value', '1', '--execute'], { env: env(pg.url('postgres', 'wrong-password')) })
  t.equal(denied.code, 2, 'bad credentials are configuration')
  t.match(errors(denied), /^pcr: password authentication failed for user "postgres" \(SQLSTATE 28P01\)$/)
  t.notMatch(denied.stderr, 'wrong-password')

  const port = await unusedPort()
  const down = await pcr(['settings', '--setting', 'a.b', '--value', '1', '--execute'], { env: env(`postgresql://root@127.0.0.1:${port}/defaultdb`) })
  t.equal(down.code, 3)
  t.equal(errors(down), `pcr: connection refused by 127.0.0.1:${port}`)
})
