import { randomUUID } from 'node:crypto'
import { startEtcdCluster, type EtcdCluster, type EtcdTls } from './etcd.js'
import type { RateLimit } from '../src/emulator/rate-limit.js'
import { startGatedPostgres, type GatedPostgres } from './sql-gate.js'
import { PRIMARY, STANDBY, serviceEnv, startFakeCloud, startService, type Cloud, type Service, type Teardown } from './stack.js'

// Several sidecars coordinated through a real etcd cluster, watching the
// emulator's pair, each probing two real PostgreSQL servers standing in for the
// clusters' SQL endpoints, each gated by the emulator: it serves while its
// cluster does, so the standby's refuses while its stream replicates.

export const fleetEnv = {
  HEALTH_CHECK_INTERVAL: '0.1',
  HEALTH_CHECK_TIMEOUT: '1',
  FAILURE_THRESHOLD: '3',
  FAILOVER_DELAY: '0.2',
  ETCD_LEASE_TTL: '2',
  DB_SSLMODE: 'disable'
}

export interface Fleet {
  etcd: EtcdCluster
  cloud: Cloud
  primarySql: GatedPostgres
  standbySql: GatedPostgres
  // The environment every sidecar of this fleet shares.
  env: Record<string, string>
  sidecars: Service[]
  start(id: string, env?: Record<string, string>): Promise<Service>
  // The whole environment of a sidecar process (src/server.ts) of this fleet.
  processEnv(id: string, env?: Record<string, string>): Record<string, string>
}

export async function startFleet(
  t: Teardown,
  // etcd: how the etcd cluster is started (three plain members unless told); rateLimit: the emulator's.
  options: { cloudTimings?: { failoverSeconds?: number }; etcd?: { size?: number; tls?: EtcdTls }; rateLimit?: RateLimit } = {}
): Promise<Fleet> {
  // The emulator starts alongside; until it has, no endpoint serves.
  const serving = { cloud: undefined as Cloud | undefined }
  const serves = (id: string) => () => serving.cloud?.emulator.state.isSqlAvailable(id) ?? false
  const [etcd, primarySql, standbySql, cloud] = await Promise.all([
    startEtcdCluster(t, options.etcd),
    startGatedPostgres(serves(PRIMARY)),
    startGatedPostgres(serves(STANDBY)),
    startFakeCloud(t, { timings: { startingSeconds: 0.3, ...options.cloudTimings }, ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }) })
  ])
  serving.cloud = cloud
  t.teardown(() => Promise.all([primarySql.destroy(), standbySql.destroy()]))
  const env = {
    ...fleetEnv,
    COORDINATION: 'etcd',
    ETCD_ENDPOINTS: etcd.endpoints.join(','),
    ETCD_PREFIX: `/pcr-test/${randomUUID()}/`,
    PRIMARY_CLUSTER_ENDPOINT: primarySql.url(),
    STANDBY_CLUSTER_ENDPOINT: standbySql.url(),
    PRIMARY_SQL_DNS: `127.0.0.1:${primarySql.port}`,
    STANDBY_SQL_DNS: `127.0.0.1:${standbySql.port}`
  }
  const fleet: Fleet = {
    etcd,
    cloud,
    primarySql,
    standbySql,
    env,
    sidecars: [],
    // The process's URL is read from its "listening" line.
    processEnv: (id, extra = {}) => serviceEnv(cloud, { ...env, LOG_LEVEL: 'info', SIDECAR_ID: id, ...extra }),
    async start(id, extra = {}) {
      const svc = await startService(t, cloud, { ...env, SIDECAR_ID: id, SIDECAR_URL: `http://${id}.test:8080`, ...extra })
      fleet.sidecars.push(svc)
      return svc
    }
  }
  return fleet
}

export function roleOf(svc: Service): string | undefined {
  return svc.fastify.coordination?.status().role
}

// Cloud API requests this sidecar's own client has sent.
export function apiRequestsOf(svc: Service): Promise<number> {
  return counterTotal(svc, 'pcr_cloud_api_requests_total')
}

// A counter of this sidecar summed over its series, or over those with the given labels.
export async function counterTotal(svc: Service, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await svc.fastify.metrics.registry.getSingleMetric(name)?.get()
  const matching = (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
  return matching.reduce((sum, v) => sum + v.value, 0)
}
