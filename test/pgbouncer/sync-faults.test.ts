import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { EventInput } from '../../src/engine/events.js'
import { supportsReconnect } from '../../src/pgbouncer/admin-console.js'
import { createPgbouncerSync, type PgbouncerSyncOptions } from '../../src/pgbouncer/sync.js'
import { startFakeSqlServer, type FakeReply, type FakeServer } from '../helpers/fake-sql-server.js'

// What a real PgBouncer 1.18 will not do on demand: be older, ignore a file,
// answer oddly. A fake admin console answers the simple queries instead.

const target = { clusterId: 'aaaaaaaa-0000-4000-8000-000000000001', host: '10.1.2.3', port: 26257 }
const databases = ['name', 'host', 'port', 'database']
const row = (host: string) => ({ rows: [['app', host, '26257', 'defaultdb']], columns: databases, tag: 'SHOW' })
const none = { rows: [], columns: databases, tag: 'SHOW' }

interface Console {
  version?: FakeReply
  // What SHOW DATABASES says before and after a RELOAD.
  before?: FakeReply
  after?: FakeReply
}

async function fakeConsole(t: Test, answers: Console): Promise<FakeServer> {
  let reloaded = false
  const server = await startFakeSqlServer((sql) => {
    if (sql === 'SHOW VERSION') {
      return answers.version ?? { rows: [['PgBouncer 1.18.0']], columns: ['version'], tag: 'SHOW' }
    }
    if (sql === 'SHOW DATABASES') return (reloaded ? answers.after : answers.before) ?? none
    if (sql === 'RELOAD') reloaded = true
    return { tag: sql.split(' ')[0] as string }
  })
  t.teardown(server.close)
  return server
}

function syncFor(t: Test, server: FakeServer, overrides: Partial<PgbouncerSyncOptions> = {}) {
  const events: EventInput[] = []
  const logged: unknown[] = []
  const sync = createPgbouncerSync({
    config: {
      sql: { databaseName: 'defaultdb' },
      pgbouncer: {
        maxPauseSeconds: 0,
        databasesFile: join(t.testdir(), 'databases.ini'),
        adminUrl: `postgresql://admin:pw-0123456789@127.0.0.1:${server.port}/pgbouncer`,
        database: 'app'
      }
    },
    log: { error: (...args: unknown[]) => logged.push(args) },
    record: (input) => events.push(input),
    retryBaseMs: 10,
    retryMaxMs: 10,
    ...overrides
  })
  t.teardown(sync.close)
  return { sync, events, logged }
}

t.test('RECONNECT only where the version has it (1.9 and later)', async (t) => {
  t.equal(supportsReconnect('PgBouncer 1.18.0'), true)
  t.equal(supportsReconnect('PgBouncer 1.9.0'), true)
  t.equal(supportsReconnect('PgBouncer 2.0.0'), true)
  t.equal(supportsReconnect('PgBouncer 1.8.1'), false)
  t.equal(supportsReconnect('PgBouncer 0.10.0'), false)
  t.equal(supportsReconnect(''), false)

  const versions: FakeReply[] = [
    { rows: [['PgBouncer 1.8.1']], columns: ['version'], tag: 'SHOW' },
    { rows: [], columns: ['version'], tag: 'SHOW' }
  ]
  for (const version of versions) {
    const server = await fakeConsole(t, { version, after: row(target.host) })
    const { sync, events } = syncFor(t, server)
    sync.apply(target)
    await sync.idle()
    t.match(events, [{ type: 'pgbouncer_updated', message: /\(reloaded\)$/, data: { reloaded: true, reconnected: false } }])
    t.same(server.queries, ['SHOW VERSION', 'RELOAD', 'SHOW DATABASES'], 'a new file: reloaded without asking first')
  }
})

t.test('a RELOAD that PgBouncer did not take is a failure, retried', async (t) => {
  const cases: Array<[Console, string]> = [
    [{ after: row('10.9.9.9') }, 'app sends it to 10.9.9.9:26257/defaultdb'],
    [{ after: none }, 'app has no such database'],
    [{ before: row('::1'), after: row('::1') }, 'app sends it to [::1]:26257/defaultdb']
  ]
  for (const [answers, now] of cases) {
    const server = await fakeConsole(t, answers)
    const { sync, events } = syncFor(t, server)
    sync.apply(target)
    while (events.length < 2) await new Promise((resolve) => setImmediate(resolve))
    await sync.close()
    t.match(events[0], {
      type: 'pgbouncer_failed',
      data: { attempt: 1, reason: `PgBouncer kept its old settings after RELOAD: ${now} (see its log)` }
    })
    t.match(events[1], { data: { attempt: 2 } })
    t.notMatch(JSON.stringify(events), /pw-0123456789/)
  }
})

t.test('a file that cannot be written is a failure before PgBouncer is asked', async (t) => {
  const server = await fakeConsole(t, {})
  const { sync, events } = syncFor(t, server, {
    config: {
      sql: { databaseName: 'defaultdb' },
      pgbouncer: {
        maxPauseSeconds: 0,
        databasesFile: join(t.testdir(), 'missing', 'databases.ini'),
        adminUrl: `postgresql://admin@127.0.0.1:${server.port}/pgbouncer`,
        database: 'app'
      }
    }
  })
  sync.apply(target)
  while (events.length < 1) await new Promise((resolve) => setImmediate(resolve))
  await sync.close()
  t.match(events[0], { type: 'pgbouncer_failed', data: { reason: /^ENOENT: no such file or directory, open / } })
  t.equal(server.connections(), 0)
})

t.test('a listener that throws on the event does not stop the sync', async (t) => {
  const server = await fakeConsole(t, { after: row(target.host) })
  const { sync, logged } = syncFor(t, server, {
    record: () => {
      throw new Error('listener broke')
    }
  })
  sync.apply(target)
  await sync.idle()
  t.match(logged, [[{ err: { message: 'listener broke' }, event: 'pgbouncer_updated' }, 'could not record a PgBouncer event']])
})

t.test('an alias PgBouncer cannot read is refused when the sync is created', async (t) => {
  const server = await fakeConsole(t, {})
  for (const database of ['sales db', 'pgbouncer']) {
    t.throws(
      () =>
        syncFor(t, server, {
          config: { sql: { databaseName: 'defaultdb' }, pgbouncer: { databasesFile: 'x', adminUrl: 'postgresql://a@b/pgbouncer', database, maxPauseSeconds: 0 } }
        }),
      { message: /PgBouncer database alias .* must be letters, digits/ }
    )
  }
})
