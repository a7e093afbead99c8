import t from 'tap'
import { Client } from 'pg'
import { startPostgres } from '../../tools/postgres.js'

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

t.test('a server can be stopped and started again on the same port and data', async (t) => {
  let started = performance.now()
  const pg = await startPostgres()
  t.teardown(pg.destroy)
  t.comment(`first start, initdb included: ${Math.round(performance.now() - started)} ms`)
  t.equal(pg.host, '127.0.0.1')
  t.ok(pg.port > 0)

  await query(pg.url(), 'CREATE TABLE kept (id int)')

  started = performance.now()
  await pg.stop()
  t.comment(`stop: ${Math.round(performance.now() - started)} ms`)
  await t.rejects(query(pg.url(), 'SELECT 1'), { code: 'ECONNREFUSED' })
  await pg.stop()

  started = performance.now()
  await pg.start()
  t.comment(`restart: ${Math.round(performance.now() - started)} ms`)
  t.same(await query(pg.url(), 'SELECT count(*)::int AS n FROM kept'), [{ n: 0 }])
  await pg.start()
  t.match(pg.log(), /ready to accept connections/)
})

t.test('later servers copy the initialised data directory', async (t) => {
  const started = performance.now()
  const [a, b] = await Promise.all([startPostgres(), startPostgres()])
  t.teardown(a.destroy)
  t.teardown(b.destroy)
  t.comment(`two more starts: ${Math.round(performance.now() - started)} ms`)
  t.not(a.port, b.port)
  t.same(await query(a.url(), 'SELECT 1 AS one'), [{ one: 1 }])
  t.same(await query(b.url(), 'SELECT 1 AS one'), [{ one: 1 }])
})

t.test('a password is required when one is given', async (t) => {
  const pg = await startPostgres({ password: "p@ss w'rd" })
  t.teardown(pg.destroy)
  t.same(await query(pg.url(), 'SELECT 1 AS one'), [{ one: 1 }])
  t.match(pg.url('postgres', 'x', 'template1'), /^postgresql:\/\/postgres:x@127\.0\.0\.1:\d+\/template1$/)
  await t.rejects(query(pg.url('postgres', 'wrong'), 'SELECT 1'), { code: '28P01' })
})

t.test('destroy removes the server and can be called twice', async (t) => {
  const pg = await startPostgres()
  await pg.destroy()
  await pg.destroy()
  await t.rejects(query(pg.url(), 'SELECT 1'), { code: 'ECONNREFUSED' })
  await t.rejects(pg.start(), /exited before it was ready/)
})
