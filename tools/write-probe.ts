import pg from 'pg'

// An application that writes one timestamped row at a fixed pace through one
// connection (PgBouncer's, in the switch tests and benchmarks), and records what
// it saw: each write's outcome, when it was sent and how long it waited. A write
// that failed is not retried; the next one opens a new connection if the old one
// broke. The row says when the server took it (clock_timestamp()) and which
// endpoint did (pcr.endpoint_port, set by the SQL gate), so the tables can be
// compared with the failover point afterwards.

export const WRITES_TABLE = 'pcr_writes'

export const createWritesTable = `create table if not exists ${WRITES_TABLE} (seq int primary key, at timestamptz not null, endpoint int)`

export interface WriteOutcome {
  seq: number
  sentAt: number
  waitedMs: number
  /** The server's time of the write, when it was acknowledged. */
  at?: string
  endpoint?: number
  error?: string
}

export interface WriteProbe {
  readonly outcomes: readonly WriteOutcome[]
  /** Stops after the write in flight and closes the connection. */
  stop(): Promise<WriteOutcome[]>
}

export function startWriteProbe(connectionString: string, options: { everyMs?: number; now?: () => number } = {}): WriteProbe {
  const everyMs = options.everyMs ?? 10
  const now = options.now ?? Date.now
  const outcomes: WriteOutcome[] = []
  let client: pg.Client | undefined
  let stopping = false

  async function connected(): Promise<pg.Client> {
    if (client !== undefined) return client
    const fresh = new pg.Client({ connectionString })
    // A broken connection is replaced at the next write; its error is that write's.
    fresh.on('error', () => {
      if (client === fresh) client = undefined
    })
    try {
      await fresh.connect()
    } catch (err) {
      await fresh.end().catch(() => undefined)
      throw err
    }
    client = fresh
    return fresh
  }

  async function write(seq: number): Promise<void> {
    const sentAt = now()
    try {
      const c = await connected()
      const { rows } = await c.query<{ at: Date; endpoint: number | null }>(
        `insert into ${WRITES_TABLE} (seq, at, endpoint) values ($1, clock_timestamp(), nullif(current_setting('pcr.endpoint_port', true), '')::int) returning at, endpoint`,
        [seq]
      )
      outcomes.push({ seq, sentAt, waitedMs: now() - sentAt, at: rows[0]?.at.toISOString(), endpoint: rows[0]?.endpoint ?? undefined })
    } catch (err) {
      const broken = client
      client = undefined
      await broken?.end().catch(() => undefined)
      outcomes.push({ seq, sentAt, waitedMs: now() - sentAt, error: (err as Error).message })
    }
  }

  const loop = (async () => {
    let seq = 0
    let next = now()
    while (!stopping) {
      seq += 1
      await write(seq)
      next += everyMs
      const wait = next - now()
      // Behind schedule (a long wait): the next write goes at once, not in a burst.
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      else next = now()
    }
  })()

  return {
    outcomes,
    async stop() {
      stopping = true
      await loop
      await client?.end().catch(() => undefined)
      return outcomes
    }
  }
}

/** Runs one statement on a server, on a connection of its own; its rows. */
export async function runSql<T extends pg.QueryResultRow = pg.QueryResultRow>(connectionString: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end()
  }
}

/** The rows a server holds that were written after `at` (an RFC 3339 time). */
export async function rowsAfter(connectionString: string, at: string): Promise<number> {
  const rows = await runSql<{ n: string }>(connectionString, `select count(*) as n from ${WRITES_TABLE} where at > $1`, [at])
  return Number(rows[0]?.n ?? 0)
}
