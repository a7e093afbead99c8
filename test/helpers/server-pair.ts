import { startPostgres } from '../../tools/postgres.js'
import type { Teardown } from '../../tools/stack.js'

// Two PostgreSQL servers standing for the two clusters' SQL endpoints, and the
// targets PgBouncer is sent to for each.
export async function startServerPair(t: Teardown) {
  const [pgA, pgB] = await Promise.all([startPostgres(), startPostgres()])
  t.teardown(() => Promise.all([pgA.destroy(), pgB.destroy()]))
  return {
    pgA,
    pgB,
    A: { clusterId: 'aaaaaaaa-0000-4000-8000-000000000001', host: '127.0.0.1', port: pgA.port },
    B: { clusterId: 'bbbbbbbb-0000-4000-8000-000000000002', host: '127.0.0.1', port: pgB.port }
  }
}
