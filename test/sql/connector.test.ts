import t from 'tap'
import { createSqlConnector, SqlError } from '../../src/sql/connector.js'
import { startSilentServer } from '../helpers/fake-sql-server.js'
import { startPostgres } from '../../tools/postgres.js'

// The server trusts everyone, so the password in the URL only has to stay secret.
const secret = 'hunter2-s3cret'
const pg = await startPostgres()
t.teardown(pg.destroy)
const url = pg.url('postgres', secret)

const selectOne = async (client: { query(text: string): Promise<unknown> }) => {
  await client.query('SELECT 1')
  return 'done'
}

t.test('a timeout and a postgresql:// URL are required, and the URL is not echoed', async (t) => {
  for (const timeoutSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => createSqlConnector({ connectionString: url, timeoutSeconds }), {
      message: /^timeoutSeconds must be a number of seconds greater than 0/
    })
  }
  for (const connectionString of [`host=localhost password=${secret}`, `http://postgres:${secret}@localhost/`]) {
    t.throws(() => createSqlConnector({ connectionString, timeoutSeconds: 1 }), {
      message: 'the connection string must be a postgresql:// URL'
    })
  }
})

t.test('sslmode replaces the one in the connection string', async (t) => {
  const run = (connectionString: string, sslmode?: 'disable' | 'allow' | 'require' | 'verify-ca') =>
    createSqlConnector({ connectionString, timeoutSeconds: 5, sslmode }).run(selectOne)

  t.equal(await run(`${url}?sslmode=require`, 'disable'), 'done')
  t.equal(await run(url, 'allow'), 'done', 'allow starts without TLS, as in libpq')
  await t.rejects(run(url, 'require'), { kind: 'other', message: 'The server does not support SSL connections' })
  // pg refuses verify-ca without a CA before connecting; its long warning stays one line.
  const refused = await run(url, 'verify-ca').catch((err: unknown) => err)
  t.type(refused, SqlError)
  t.match(refused, { kind: 'other', message: /^SECURITY WARNING: Using sslmode=verify-ca requires/ })
  t.notMatch((refused as Error).message, /\n/)
})

t.test("a server error is one line with its SQLSTATE, detail and hint", async (t) => {
  const connector = createSqlConnector({ connectionString: url, timeoutSeconds: 5 })
  const raise = `DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = E'first\\nsecond', HINT = 'try again'; END $$`
  await t.rejects(
    connector.run((client) => client.query(raise)),
    new SqlError('other', 'boom (SQLSTATE P0001); detail: first second; hint: try again')
  )
})

t.test('secrets are taken out of any message, encoded or not', async (t) => {
  const echo = (connectionString: string, text: string) =>
    createSqlConnector({ connectionString, timeoutSeconds: 5 })
      .run(async () => {
        throw new Error(text)
      })
      .catch((err: unknown) => err)

  // The server repeats the database name, here the same as the password.
  const connector = createSqlConnector({ connectionString: pg.url('postgres', secret, secret), timeoutSeconds: 5 })
  await t.rejects(connector.run(selectOne), { message: 'database "***" does not exist (SQLSTATE 3D000)' })

  t.match(await echo(url, `failed: ${url}`), { kind: 'other', message: 'failed: ***' })
  const encoded = pg.url('postgres', 'p@ss word')
  t.match(await echo(encoded, 'p@ss word or p%40ss%20word'), { message: '*** or ***' })
  const query = `${pg.url()}?password=${secret}`
  t.match(await echo(query, `a ${secret}`), { message: 'a ***' })
  // Not valid percent-encoding: kept as written.
  const malformed = `postgresql://postgres:%zz@127.0.0.1:${pg.port}/postgres`
  t.match(await echo(malformed, 'bad %zz'), { message: 'bad ***' })
})

t.test('an aborted signal stops the work before it connects', async (t) => {
  const silent = await startSilentServer()
  t.teardown(silent.close)
  const connector = createSqlConnector({ connectionString: silent.url(), timeoutSeconds: 5 })
  await t.rejects(connector.run(selectOne, AbortSignal.abort()), new SqlError('other', 'cancelled'))
  t.equal(silent.connections(), 0)
  // Aborted in the same turn as the call, while pg is being loaded: still cancelled.
  const later = new AbortController()
  const pending = connector.run(selectOne, later.signal)
  later.abort()
  await t.rejects(pending, new SqlError('other', 'cancelled'))
  t.equal(silent.connections(), 0, 'it never connected')
})
