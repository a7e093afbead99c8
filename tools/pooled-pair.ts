import type { StartEmulatorOptions } from '../src/emulator/server.js'
import { startPgbouncer, type Pgbouncer } from './pgbouncer.js'
import { startGatedPostgres, type GatedPostgres } from './sql-gate.js'
import { PRIMARY, STANDBY, startFakeCloud, startService, type Cloud, type Service, type Teardown } from './stack.js'
import { waitFor } from './wait-for.js'
import { createWritesTable, runSql } from './write-probe.js'

// The PgBouncer path on real programs: two PostgreSQL servers standing for the
// clusters' SQL endpoints (each gated by the emulator: it serves while its cluster
// does), one PgBouncer in front whose alias `app` the service keeps on the active
// cluster, the emulator, and the service. Both servers hold the write probe's table.

export const POOLED_ALIAS = 'app'

export interface PooledPair {
  primary: GatedPostgres
  standby: GatedPostgres
  pgbouncer: Pgbouncer
  cloud: Cloud
  svc: Service
  /** Where applications connect: PgBouncer's alias. */
  appUrl: string
}

export async function startPooledPair(t: Teardown, cloudOptions: StartEmulatorOptions = {}, env: Record<string, string> = {}): Promise<PooledPair> {
  const serving = { cloud: undefined as Cloud | undefined }
  const serves = (id: string) => () => serving.cloud?.emulator.state.isSqlAvailable(id) ?? false
  const [primary, standby] = await Promise.all([startGatedPostgres(serves(PRIMARY)), startGatedPostgres(serves(STANDBY))])
  t.teardown(() => Promise.all([primary.destroy(), standby.destroy()]))
  // On the servers themselves: the standby's endpoint refuses until it is promoted.
  await Promise.all([runSql(primary.server.url(), createWritesTable), runSql(standby.server.url(), createWritesTable)])
  const pgbouncer = await startPgbouncer()
  t.teardown(pgbouncer.destroy)
  const cloud = await startFakeCloud(t, cloudOptions)
  serving.cloud = cloud
  const svc = await startService(t, cloud, {
    PRIMARY_SQL_DNS: `127.0.0.1:${primary.port}`,
    STANDBY_SQL_DNS: `127.0.0.1:${standby.port}`,
    DATABASE_NAME: 'postgres',
    PGBOUNCER_DATABASES_FILE: pgbouncer.databasesFile,
    PGBOUNCER_ADMIN_URL: pgbouncer.adminUrl(),
    PGBOUNCER_DATABASE: POOLED_ALIAS,
    ...env
  })
  await svc.waitForEvent('pgbouncer_updated', (e) => e.data.clusterId === PRIMARY, 60_000)
  await waitFor('PgBouncer sends app to the primary', () => svc.fastify.engine.snapshot().pooler?.state === 'serving', { timeoutMs: 60_000 })
  return { primary, standby, pgbouncer, cloud, svc, appUrl: pgbouncer.url(POOLED_ALIAS) }
}
