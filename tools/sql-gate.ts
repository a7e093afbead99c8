import { connect, createServer, type Socket } from 'node:net'
import { startPostgres, type Postgres, type PostgresOptions } from './postgres.js'

// A cluster's SQL endpoint follows its role: PCR keeps the standby's application
// virtual cluster offline while its stream replicates, and brings it online once
// the failover has completed. A gate in front of the PostgreSQL that stands in for
// the endpoint passes connections only while `serves()` says the cluster serves
// (`() => cloud.emulator.state.isSqlAvailable(id)`): it refuses new ones otherwise,
// and cuts the open ones when it turns false.

export interface SqlGate {
  readonly host: '127.0.0.1'
  /** The gate's own port: the endpoint's address. */
  readonly port: number
  /** Connections refused or cut so far. */
  readonly refused: number
  close(): Promise<void>
}

/** How often open connections are checked against `serves()`. */
const checkMs = 50

export async function startSqlGate(target: { host: string; port: number }, serves: () => boolean): Promise<SqlGate> {
  const open = new Set<{ client: Socket; upstream: Socket }>()
  let refused = 0
  const server = createServer({ pauseOnConnect: true }, (client) => {
    if (!serves()) {
      refused += 1
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    const pair = { client, upstream }
    open.add(pair)
    const end = () => {
      open.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream).pipe(client)
    client.resume()
  })
  const timer = setInterval(() => {
    if (open.size === 0 || serves()) return
    for (const { client, upstream } of open) {
      refused += 1
      client.destroy()
      upstream.destroy()
    }
    open.clear()
  }, checkMs)
  timer.unref()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    host: '127.0.0.1',
    port,
    get refused() {
      return refused
    },
    async close() {
      clearInterval(timer)
      for (const { client, upstream } of open) {
        client.destroy()
        upstream.destroy()
      }
      open.clear()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** The query that names the endpoint a session reached: the gate's port when behind one. */
export const ENDPOINT_PORT_QUERY = "select coalesce(current_setting('pcr.endpoint_port', true), current_setting('port'))::int as port"

/**
 * A PostgreSQL reached only through a gate: `port` and `url()` are the gate's, and
 * `select current_setting('pcr.endpoint_port')` (ENDPOINT_PORT_QUERY) answers that
 * port too, so a session can tell which endpoint it reached. stop() and start()
 * act on the server behind it.
 */
export interface GatedPostgres extends Postgres {
  readonly server: Postgres
  readonly gate: SqlGate
}

export async function startGatedPostgres(serves: () => boolean, options: PostgresOptions = {}): Promise<GatedPostgres> {
  // The gate first, so the server can be told the port it is reached at.
  let server: Postgres | undefined
  const target = { host: '127.0.0.1', port: 0 }
  const gate = await startSqlGate(target, serves)
  try {
    server = await startPostgres({ ...options, settings: { ...options.settings, 'pcr.endpoint_port': String(gate.port) } })
  } catch (err) {
    await gate.close()
    throw err
  }
  target.port = server.port
  const behind = server
  return {
    host: '127.0.0.1',
    port: gate.port,
    server: behind,
    gate,
    url(user, password, database) {
      const url = new URL(behind.url(user, password, database))
      url.port = String(gate.port)
      return url.toString()
    },
    stop: () => behind.stop(),
    start: () => behind.start(),
    async destroy() {
      await gate.close()
      await behind.destroy()
    },
    log: () => behind.log()
  }
}
