import t from 'tap'
import { Client } from 'pg'
import { ENDPOINT_PORT_QUERY, startGatedPostgres } from '../../tools/sql-gate.js'
import { PRIMARY, STANDBY, startFakeCloud } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'

// The gate a test puts in front of the PostgreSQL standing in for a cluster's SQL
// endpoint: open while the cluster serves, refusing and cutting otherwise.

async function endpointPort(url: string): Promise<number> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  client.on('error', () => undefined)
  await client.connect()
  try {
    return (await client.query<{ port: number }>(ENDPOINT_PORT_QUERY)).rows[0]?.port as number
  } finally {
    await client.end()
  }
}

t.test('open while the predicate holds; refused, and open sessions cut, while it does not', async (t) => {
  let serves = true
  const pg = await startGatedPostgres(() => serves)
  t.teardown(pg.destroy)
  t.not(pg.port, pg.server.port, 'reached at the gate, not at the server')
  t.equal(await endpointPort(pg.url()), pg.port, 'a session can tell which endpoint it reached')

  const session = new Client({ connectionString: pg.url() })
  let cut: Error | undefined
  session.on('error', (err) => (cut = err))
  const ended = new Promise<void>((resolve) => session.once('end', () => resolve()))
  await session.connect()
  t.equal((await session.query('select 1 as one')).rows[0].one, 1)

  serves = false
  await ended
  t.pass(`the open session was cut${cut === undefined ? '' : ` (${cut.message})`}`)
  await t.rejects(endpointPort(pg.url()), 'a new connection is refused')
  t.ok(pg.gate.refused >= 2)

  serves = true
  t.equal(await endpointPort(pg.url()), pg.port, 'served again')
})

t.test('with the emulator: the standby serves SQL only once the failover has completed', async (t) => {
  const cloud = await startFakeCloud(t)
  const state = cloud.emulator.state
  const [primary, standby] = await Promise.all([
    startGatedPostgres(() => state.isSqlAvailable(PRIMARY)),
    startGatedPostgres(() => state.isSqlAvailable(STANDBY))
  ])
  t.teardown(() => Promise.all([primary.destroy(), standby.destroy()]))
  t.equal(await endpointPort(primary.url()), primary.port, 'the primary serves')
  await t.rejects(endpointPort(standby.url()), 'the standby of a replicating stream refuses')

  const stream = state.snapshot().streams[0] as { id: string }
  state.patchStream(stream.id, { status: 'FAILING_OVER' })
  await t.rejects(endpointPort(standby.url()), 'still refused while failing over')
  await waitFor('the failover completed', () => state.getStream(stream.id).status === 'COMPLETED')
  t.equal(await endpointPort(standby.url()), standby.port, 'it serves once COMPLETED')
})
