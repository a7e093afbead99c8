import t from 'tap'
import { buildSetClusterSetting, executeClusterSetting, showClusterSetting } from '../../src/sql/cluster-settings.js'
import { SqlError } from '../../src/sql/connector.js'
import { startFakeSqlServer, type FakeReply } from '../helpers/fake-sql-server.js'
import { unusedPort } from '../../tools/unused-port.js'
import { startPostgres } from '../../tools/postgres.js'

const name = 'server.time_until_store_dead'

const badNames = [
  '',
  'Server.time_until_store_dead',
  'server.time_until_store_dead;',
  "server.time_until_store_dead = 'x'; DROP DATABASE defaultdb",
  "server.x'",
  'server."x"',
  'server x',
  'server.x -- comment',
  'server./*c*/x',
  'server..x',
  '.server',
  'server.',
  '1server.x',
  'server.x\n',
  'server.x\0',
  'server-x',
  'ſerver.x',
  'server.x\u2028'
]

// Assertion messages must stay on one line of TAP output.
const codePoints = (text: string) => [...text].map((c) => `U+${c.codePointAt(0)?.toString(16)}`).join(' ') || 'empty'

const badValues = ['\0', 'a\0b', 'a\nb', 'a\rb', '\t', '\x1b[31m', '\x7f', '\u0085', '\u2028', '\u2029', '\ud800']

t.test('statements name only plain setting names', async (t) => {
  for (const good of ['version', 'kv.rangefeed.enabled', name, 'physical_replication.consumer.minimum_flush_interval']) {
    t.equal(showClusterSetting(good), `SHOW CLUSTER SETTING ${good}`)
    t.equal(buildSetClusterSetting(good, 'x'), `SET CLUSTER SETTING ${good} = 'x'`)
  }
  for (const bad of badNames) {
    const refused = { name: 'RangeError', message: /^invalid cluster setting name ".*": expected dotted lower-case identifiers such as server\.time_until_store_dead$/ }
    t.throws(() => showClusterSetting(bad), refused, codePoints(bad))
    t.throws(() => buildSetClusterSetting(bad, '1m'), refused, codePoints(bad))
  }
  t.throws(() => showClusterSetting('a\u2028b\nc'), { message: /^invalid cluster setting name "a\\u2028b\\nc":/ }, 'the name is echoed on one line')
})

t.test('values are string literals with their quotes doubled', async (t) => {
  const quoted = (value: string) => buildSetClusterSetting(name, value).slice(`SET CLUSTER SETTING ${name} = `.length)
  t.equal(quoted('5m0s'), "'5m0s'")
  t.equal(quoted(''), "''")
  t.equal(quoted("it's"), "'it''s'")
  t.equal(quoted("'"), "''''")
  t.equal(quoted("1m'; DROP DATABASE defaultdb; --"), "'1m''; DROP DATABASE defaultdb; --'")
  t.equal(quoted("x' /* "), "'x'' /* '")
  t.equal(quoted('C:\\dir\\'), "'C:\\dir\\'", 'backslashes are plain characters in a standard string')
  t.equal(quoted('naïve ✓'), "'naïve ✓'")
  for (const bad of badValues) {
    t.throws(
      () => buildSetClusterSetting(name, bad),
      { name: 'RangeError', message: `invalid value for cluster setting ${name}: control characters and line breaks are not allowed` },
      codePoints(bad)
    )
  }
})

// Just enough of CockroachDB: settings shown and set, each statement on its own.
function cockroach(settings: Map<string, string | null>): (sql: string) => FakeReply {
  return (sql) => {
    const show = /^SHOW CLUSTER SETTING ([a-z0-9_.]+)$/.exec(sql)
    const set = /^SET CLUSTER SETTING ([a-z0-9_.]+) = '((?:[^']|'')*)'$/s.exec(sql)
    const setting = show?.[1] ?? set?.[1] ?? ''
    if (!settings.has(setting)) {
      return { error: { code: '42704', message: `unknown cluster setting '${setting}'` } }
    }
    if (show) return { columns: [setting], rows: [[settings.get(setting) ?? null]], tag: 'SHOW 1' }
    if (set) {
      const value = (set[2] as string).replaceAll("''", "'")
      if (value === 'invalid') return { error: { code: '22023', message: `invalid value for ${setting}` } }
      settings.set(setting, value)
      return { tag: 'SET CLUSTER SETTING' }
    }
    return { error: { code: '42601', message: 'at or near "EOF": syntax error' } }
  }
}

t.test('a setting is shown, set on its own, and shown again', async (t) => {
  const server = await startFakeSqlServer(cockroach(new Map([[name, '00:05:00']])))
  t.teardown(server.close)
  const change = await executeClusterSetting({ connectionString: server.url(), name, value: '1m15s', timeoutSeconds: 5 })
  t.same(change, { before: '00:05:00', after: '1m15s' })
  t.same(server.queries, [
    `SHOW CLUSTER SETTING ${name}`,
    `SET CLUSTER SETTING ${name} = '1m15s'`,
    `SHOW CLUSTER SETTING ${name}`
  ])
})

t.test('a value that looks like SQL reaches the server as the value', async (t) => {
  const server = await startFakeSqlServer(cockroach(new Map([['cluster.organization', null]])))
  t.teardown(server.close)
  const value = "Acme'; SET CLUSTER SETTING version = '99.1"
  const change = await executeClusterSetting({
    connectionString: server.url(),
    name: 'cluster.organization',
    value,
    timeoutSeconds: 5
  })
  t.same(change, { before: null, after: value })
  t.equal(server.queries.length, 3)
})

t.test('a refused statement is named, without the value', async (t) => {
  const server = await startFakeSqlServer(cockroach(new Map([[name, '00:05:00']])))
  t.teardown(server.close)
  const run = (setting: string, value: string) =>
    executeClusterSetting({ connectionString: server.url(), name: setting, value, timeoutSeconds: 5 })
  await t.rejects(
    run(name, 'invalid'),
    new SqlError('other', `SET CLUSTER SETTING ${name}: invalid value for ${name} (SQLSTATE 22023)`)
  )
  await t.rejects(
    run('no.such_setting', '1'),
    new SqlError('other', "SHOW CLUSTER SETTING no.such_setting: unknown cluster setting 'no.such_setting' (SQLSTATE 42704)")
  )
})

t.test('an invalid name or value is refused before connecting', async (t) => {
  const server = await startFakeSqlServer(cockroach(new Map()))
  t.teardown(server.close)
  await t.rejects(
    executeClusterSetting({ connectionString: server.url(), name: 'x;y', value: '1', timeoutSeconds: 5 }),
    { name: 'RangeError' }
  )
  await t.rejects(
    executeClusterSetting({ connectionString: server.url(), name, value: 'a\nb', timeoutSeconds: 5 }),
    { name: 'RangeError' }
  )
  t.equal(server.connections(), 0)
})

t.test('PostgreSQL does not know cluster settings and says so in one line', async (t) => {
  const password = 'S3ttings p@ss'
  const pg = await startPostgres({ password })
  t.teardown(pg.destroy)
  const failure = await executeClusterSetting({ connectionString: pg.url(), name, value: '1m', timeoutSeconds: 5 }).catch(
    (err: unknown) => err
  )
  t.type(failure, SqlError)
  t.match(failure, {
    kind: 'other',
    message: `SHOW CLUSTER SETTING ${name}: syntax error at or near "SETTING" (SQLSTATE 42601)`
  })
  t.notOk((failure as Error).message.includes(password))

  await t.rejects(
    executeClusterSetting({ connectionString: pg.url('postgres', 'wrong'), name, value: '1m', timeoutSeconds: 5 }),
    new SqlError('auth', 'password authentication failed for user "postgres" (SQLSTATE 28P01)'),
    'a failure to connect names no statement'
  )
})

t.test('an endpoint that is down is refused', async (t) => {
  const port = await unusedPort()
  await t.rejects(
    executeClusterSetting({
      connectionString: `postgresql://root:secret@127.0.0.1:${port}/defaultdb`,
      name,
      value: '1m',
      timeoutSeconds: 5
    }),
    new SqlError('refused', `connection refused by 127.0.0.1:${port}`)
  )
})
