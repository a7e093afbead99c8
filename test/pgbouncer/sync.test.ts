import { Client } from 'pg'
import t, { type Test } from 'tap'
import type { EventInput } from '../../src/engine/events.js'
import { renderDatabasesFile } from '../../src/pgbouncer/databases-file.js'
import { writeIfChanged } from '../../src/pgbouncer/atomic-write.js'
import { createPgbouncerSync, type PgbouncerSyncOptions } from '../../src/pgbouncer/sync.js'
import { startPgbouncer, type Pgbouncer } from '../../tools/pgbouncer.js'
import { waitFor } from '../../tools/wait-for.js'
import { startServerPair } from '../helpers/server-pair.js'

// Real PgBouncer, real PostgreSQL: two servers stand in for the two clusters,
// and `SHOW port` says which one answered.

const { pgA, pgB, A, B } = await startServerPair(t)
const alias = 'my-app.v1'

async function bouncer(t: Test, options: Parameters<typeof startPgbouncer>[0] = {}): Promise<Pgbouncer> {
  const pgbouncer = await startPgbouncer(options)
  t.teardown(pgbouncer.destroy)
  return pgbouncer
}

function syncFor(t: Test, pgbouncer: Pgbouncer, overrides: Partial<PgbouncerSyncOptions> = {}) {
  const events: EventInput[] = []
  const sync = createPgbouncerSync({
    config: {
      sql: { databaseName: 'postgres' },
      pgbouncer: { databasesFile: pgbouncer.databasesFile, adminUrl: pgbouncer.adminUrl(), database: alias, maxPauseSeconds: 0 }
    },
    log: { error: () => t.fail('nothing to log') },
    record: (input) => events.push(input),
    retryBaseMs: 20,
    retryMaxMs: 100,
    ...overrides
  })
  t.teardown(sync.close)
  const of = (type: string) => events.filter((e) => e.type === type)
  return { sync, events, updated: () => of('pgbouncer_updated'), failed: () => of('pgbouncer_failed') }
}

// Which PostgreSQL answers a new connection through PgBouncer.
async function answering(pgbouncer: Pgbouncer): Promise<number> {
  const client = new Client({ connectionString: pgbouncer.url(alias) })
  await client.connect()
  try {
    return Number((await client.query('SHOW port')).rows[0].port)
  } finally {
    await client.end()
  }
}

t.test('PgBouncer follows apply(), with no restart, and only reloads for a change', async (t) => {
  const pgbouncer = await bouncer(t)
  const pid = pgbouncer.pid()
  const { sync, updated } = syncFor(t, pgbouncer)

  sync.apply(A)
  await sync.idle()
  t.match(updated()[0], {
    message: `PgBouncer sends ${alias} to cluster ${A.clusterId} at 127.0.0.1:${pgA.port} (reloaded, reconnected)`,
    data: { clusterId: A.clusterId, host: '127.0.0.1', port: pgA.port, database: alias, fileWritten: true, reloaded: true, reconnected: true }
  })
  t.equal(await answering(pgbouncer), pgA.port, 'new connections reach the first server')

  // An application connected before the switch, pooled per transaction.
  const app = new Client({ connectionString: pgbouncer.url(alias) })
  await app.connect()
  t.teardown(() => app.end())
  t.equal(Number((await app.query('SHOW port')).rows[0].port), pgA.port)

  const reloads = pgbouncer.reloads()
  sync.apply(B)
  await sync.idle()
  t.match(updated()[1], { data: { clusterId: B.clusterId, port: pgB.port, fileWritten: true, reloaded: true, reconnected: true } })
  t.equal(await answering(pgbouncer), pgB.port, 'new connections reach the second server')
  t.equal(Number((await app.query('SHOW port')).rows[0].port), pgB.port, 'so does the connected application, at its next transaction')
  t.equal(pgbouncer.pid(), pid, 'the same PgBouncer process')
  t.equal(pgbouncer.reloads(), reloads + 1, 'one RELOAD')

  sync.apply(B)
  await sync.idle()
  t.match(updated()[2], {
    message: /\(it already did\)$/,
    data: { clusterId: B.clusterId, fileWritten: false, reloaded: false, reconnected: false }
  })
  t.equal(pgbouncer.reloads(), reloads + 1, 'unchanged: no RELOAD')
  t.equal(pgbouncer.pid(), pid)
})

t.test('a file already right but not loaded (a run that stopped before RELOAD) is reloaded', async (t) => {
  const pgbouncer = await bouncer(t)
  const { sync, updated } = syncFor(t, pgbouncer)
  await writeIfChanged(pgbouncer.databasesFile, renderDatabasesFile({ alias, dbname: 'postgres' }, A))
  sync.apply(A)
  await sync.idle()
  t.match(updated(), [{ data: { fileWritten: false, reloaded: true } }])
  t.equal(await answering(pgbouncer), pgA.port)
})

t.test('what is rendered is what PgBouncer reads: quotes, IPv6, options', async (t) => {
  const pgbouncer = await bouncer(t)
  const events: EventInput[] = []
  const sync = createPgbouncerSync({
    config: {
      sql: { databaseName: "it's a db" },
      pgbouncer: {
        maxPauseSeconds: 0,
        databasesFile: pgbouncer.databasesFile,
        adminUrl: pgbouncer.adminUrl(),
        database: 'x-y.z',
        options: 'pool_size=3'
      }
    },
    log: { error: () => t.fail('nothing to log') },
    record: (input) => events.push(input)
  })
  t.teardown(sync.close)
  // Nothing listens there; PgBouncer only has to take the settings.
  sync.apply({ clusterId: A.clusterId, host: '::1', port: 1 })
  await sync.idle()
  t.match(events, [{ type: 'pgbouncer_updated', message: /at \[::1\]:1 /, data: { host: '::1', reloaded: true } }])
})

t.test('admin console down: failures are events, retried ever more slowly, until it is back', async (t) => {
  const pgbouncer = await bouncer(t)
  await pgbouncer.stop()
  const { sync, failed, updated } = syncFor(t, pgbouncer)
  sync.apply(A)
  await waitFor('four failed attempts', () => failed().length >= 4)
  t.pass('four failed attempts')
  t.match(failed().slice(0, 4), [
    { severity: 'warn', data: { clusterId: A.clusterId, attempt: 1, retryInSeconds: 0.02 } },
    { data: { attempt: 2, retryInSeconds: 0.04 } },
    { data: { attempt: 3, retryInSeconds: 0.08 } },
    { data: { attempt: 4, retryInSeconds: 0.1 } }
  ])
  t.match(failed()[0], {
    message: new RegExp(`^PgBouncer not yet sent to cluster ${A.clusterId} at 127.0.0.1:${pgA.port} \\(attempt 1\\): connection refused by 127\\.0\\.0\\.1:${pgbouncer.port}; retrying in 0\\.02s$`),
    data: { reason: `connection refused by 127.0.0.1:${pgbouncer.port}` }
  })
  t.equal(updated().length, 0)

  await pgbouncer.start()
  await sync.idle()
  // The first attempt wrote the file; PgBouncer read it when it started.
  t.match(updated(), [{ data: { clusterId: A.clusterId, fileWritten: false, reloaded: false } }])
  t.equal(await answering(pgbouncer), pgA.port)
})

t.test('the latest target wins, without waiting out the backoff of an older one', async (t) => {
  const pgbouncer = await bouncer(t)
  await pgbouncer.stop()
  const { sync, failed, updated } = syncFor(t, pgbouncer, { retryBaseMs: 600_000, retryMaxMs: 600_000 })
  sync.apply(A)
  await waitFor('a failed attempt, next one in ten minutes', () => failed().length === 1)
  t.pass('a failed attempt, next one in ten minutes')
  await pgbouncer.start()
  sync.apply(B)
  await sync.idle()
  t.match(updated(), [{ data: { clusterId: B.clusterId } }], 'only the newer target was applied')
  t.equal(failed().length, 1)
  t.equal(await answering(pgbouncer), pgB.port)
})

t.test('close() stops the retries and apply() after it does nothing', async (t) => {
  const pgbouncer = await bouncer(t)
  await pgbouncer.stop()
  const { sync, events } = syncFor(t, pgbouncer)
  sync.apply(B)
  await waitFor('two failed attempts', () => events.length >= 2)
  t.pass('two failed attempts')
  await sync.close()
  const seen = events.length
  sync.apply(A)
  await sync.idle()

  // Had it kept retrying, it would succeed now that PgBouncer is back, and say so.
  await pgbouncer.start()
  const other = syncFor(t, pgbouncer)
  other.sync.apply(A)
  await other.sync.idle()
  t.equal(other.updated().length, 1)
  t.equal(events.length, seen, 'nothing more from the closed sync')
})

t.test('close() cuts short an attempt in flight, without an event', async (t) => {
  const pgbouncer = await bouncer(t)
  const { sync, events } = syncFor(t, pgbouncer)
  sync.apply(A)
  await sync.close()
  t.same(events, [])
})

t.test('the admin password is never in an event', async (t) => {
  const password = "s3cret-pa55:w/rd'"
  const pgbouncer = await bouncer(t, { password })
  const wrong = syncFor(t, pgbouncer, {
    config: {
      sql: { databaseName: 'postgres' },
      pgbouncer: { databasesFile: pgbouncer.databasesFile, adminUrl: pgbouncer.adminUrl(`${password}-not`), database: alias, maxPauseSeconds: 0 }
    }
  })
  wrong.sync.apply(A)
  await waitFor('two failed attempts', () => wrong.failed().length >= 2)
  t.pass('two failed attempts')
  await wrong.sync.close()
  t.match(wrong.failed()[0], { data: { reason: /^SASL authentication failed/ } })
  t.notMatch(JSON.stringify(wrong.events), /s3cret|pa55|hunter/)

  const right = syncFor(t, pgbouncer, {
    config: {
      sql: { databaseName: 'postgres' },
      pgbouncer: { databasesFile: pgbouncer.databasesFile, adminUrl: pgbouncer.adminUrl(), database: alias, maxPauseSeconds: 0 }
    }
  })
  right.sync.apply(A)
  await right.sync.idle()
  t.match(right.updated(), [{ data: { reloaded: true } }])
  t.notMatch(JSON.stringify(right.events), /s3cret|pa55/)
})
