import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { RequestEvent, WaitEvent } from '../cloud/client.js'
import { phases } from '../api-schemas.js'
import { fenced } from '../api-views.js'
import { streamStatuses } from '../cloud/schemas.js'
import type { CoordinationStatus } from '../coordination/coordination.js'
import type { Engine } from '../engine/engine.js'
import type { EngineEvent } from '../engine/events.js'
import { poolerStates } from '../engine/snapshot.js'

// Prometheus series. Counters are derived from engine events and client
// requests, gauges from the latest snapshot at scrape time, so /metrics, /events
// and the log always agree. Each app has its own registry.

export interface Metrics {
  registry: Registry
  observeApiRequest(event: RequestEvent): void
  observeApiWait(event: WaitEvent): void
  observeAdminAuth(outcome: AdminAuthOutcome): void
  // Subscribes to the engine's events and checks, and reads it (and coordination) when scraped.
  follow(engine: Engine, coordination?: () => CoordinationStatus): void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

// rejected: a 401; locked_out: that 401 started a lockout; throttled: a 429 during one.
export type AdminAuthOutcome = 'rejected' | 'locked_out' | 'throttled'

const verdicts = ['healthy', 'unhealthy', 'unknown'] as const

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const apiRequests = new Counter({
    name: 'pcr_cloud_api_requests_total',
    help: 'Cloud API requests by operation and status (HTTP code, or timeout/network/invalid_response/rate_limited_local)',
    labelNames: ['operation', 'status'],
    registers
  })
  const apiLatency = new Histogram({
    name: 'pcr_cloud_api_request_duration_seconds',
    help: 'Cloud API request latency',
    labelNames: ['operation'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers
  })
  const throttled = new Counter({
    name: 'pcr_cloud_api_throttled_total',
    help: 'Cloud API requests refused by its rate limit (429, or 503 with Retry-After), by operation',
    labelNames: ['operation'],
    registers
  })
  const apiWait = new Histogram({
    name: 'pcr_cloud_api_wait_seconds',
    help: "Time a Cloud API request waited before it was sent: for a slot in the client's rate budget (budget) or behind a Retry-After (retry_after)",
    labelNames: ['operation', 'cause'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers
  })
  const checks = new Counter({
    name: 'pcr_checks_total',
    help: 'Health checks by cluster and verdict',
    labelNames: ['cluster_id', 'verdict'],
    registers
  })
  const adminAuth = new Counter({
    name: 'pcr_admin_auth_failures_total',
    help: 'Admin API authentication failures: rejected (401), locked_out (a lockout started), throttled (429)',
    labelNames: ['outcome'],
    registers
  })
  const events = new Counter({ name: 'pcr_events_total', help: 'Engine events by type', labelNames: ['type'], registers })
  const secretReloads = new Counter({
    name: 'pcr_secret_reloads_total',
    help: 'Secrets read anew from their rotated files (api_key, admin_token)',
    labelNames: ['secret'],
    registers
  })
  const failovers = new Counter({
    name: 'pcr_failovers_total',
    help: 'Failovers by trigger and result (requested, started, adopted, refused, failed, completed, timeout)',
    labelNames: ['trigger', 'result'],
    registers
  })
  const blocked = new Counter({
    name: 'pcr_failover_blocked_total',
    help: 'Failovers blocked, by reason code',
    labelNames: ['code'],
    registers
  })
  const failoverDuration = new Histogram({
    name: 'pcr_failover_duration_seconds',
    help: 'From the failover request (or its adoption) to COMPLETED',
    buckets: [5, 15, 30, 60, 120, 300, 600, 900, 1800],
    registers
  })
  const pgbouncerPause = new Histogram({
    name: 'pcr_pgbouncer_pause_seconds',
    help: 'How long PgBouncer held the alias (PAUSE to RESUME) around each switch',
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300],
    registers
  })
  let engine: Engine | undefined
  const fromSnapshot = (name: string, help: string, labelNames: string[], fill: (g: Gauge, e: Engine) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset()
        if (engine !== undefined) fill(this, engine)
      }
    })
  fromSnapshot('pcr_consecutive_failures', 'Consecutive unhealthy checks of the watched cluster', [], (g, e) =>
    g.set(e.snapshot().consecutiveFailures)
  )
  fromSnapshot('pcr_failure_threshold', 'FAILURE_THRESHOLD', [], (g, e) => g.set(e.snapshot().threshold))
  fromSnapshot('pcr_cluster_health', '1 for the current verdict of each cluster', ['cluster_id', 'verdict'], (g, e) => {
    for (const c of e.snapshot().clusters) for (const v of verdicts) g.set({ cluster_id: c.id, verdict: v }, c.verdict === v ? 1 : 0)
  })
  fromSnapshot('pcr_cluster_nodes_live', 'Live nodes of each cluster at its last check', ['cluster_id'], (g, e) => {
    for (const c of e.snapshot().clusters) if (c.nodesLive !== null) g.set({ cluster_id: c.id }, c.nodesLive)
  })
  fromSnapshot('pcr_active_cluster_info', 'The active (writable) cluster', ['cluster_id', 'name'], (g, e) => {
    const s = e.snapshot()
    const active = s.clusters.find((c) => c.id === s.activeClusterId)
    if (active !== undefined) g.set({ cluster_id: active.id, name: active.name ?? '' }, 1)
  })
  fromSnapshot('pcr_phase', '1 for the current phase', ['phase'], (g, e) => {
    const phase = e.snapshot().phase
    for (const p of phases) g.set({ phase: p }, p === phase ? 1 : 0)
  })
  fromSnapshot('pcr_stream_status', '1 for the status of the newest stream', ['stream_id', 'status'], (g, e) => {
    const stream = e.snapshot().stream
    if (stream !== null) for (const st of streamStatuses) g.set({ stream_id: stream.id, status: st }, st === stream.status ? 1 : 0)
  })
  fromSnapshot('pcr_replication_lag_seconds', 'replication_lag_seconds of the newest stream', [], (g, e) => {
    const lag = e.snapshot().stream?.replicationLagSeconds
    if (lag !== null && lag !== undefined) g.set(lag)
  })
  fromSnapshot('pcr_estimated_data_loss_seconds', 'Last healthy time of the primary minus the latest replicated time', [], (g, e) => {
    const loss = e.snapshot().estimatedDataLossSeconds
    if (loss !== null) g.set(loss)
  })
  fromSnapshot('pcr_paused', '1 while automatic failover is paused', [], (g, e) => g.set(e.snapshot().paused ? 1 : 0))
  fromSnapshot('pcr_pgbouncer_state', '1 for the state of PgBouncer\'s alias: serving, pausing, paused or resuming (absent without PgBouncer)', ['state'], (g, e) => {
    const pooler = e.snapshot().pooler
    if (pooler !== null) for (const st of poolerStates) g.set({ state: st }, st === pooler.state ? 1 : 0)
  })
  fromSnapshot('pcr_fenced', '1 while a planned switchover fences writes on the active cluster', [], (g, e) => g.set(fenced(e.snapshot()) ? 1 : 0))
  fromSnapshot('pcr_auto_failover_enabled', 'AUTO_FAILOVER', [], (g, e) => g.set(e.snapshot().autoFailover ? 1 : 0))
  fromSnapshot('pcr_last_check_timestamp_seconds', 'When the last check finished', [], (g, e) => {
    const at = e.snapshot().lastCheckAt
    if (at !== null) g.set(Date.parse(at) / 1000)
  })

  let coordination: (() => CoordinationStatus) | undefined
  const fromCoordination = (name: string, help: string, value: (s: CoordinationStatus) => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.reset()
        const v = coordination === undefined ? null : value(coordination())
        if (v !== null) this.set(v)
      }
    })
  fromCoordination('pcr_coordination_leader', '1 while this sidecar leads the fleet (COORDINATION=etcd)', (s) => (s.role === 'leader' ? 1 : 0))
  fromCoordination('pcr_coordination_connected', '1 while etcd answers within a lease TTL', (s) => (s.connected ? 1 : 0))
  fromCoordination('pcr_coordination_view_age_seconds', "Age of the leader's view on a follower", (s) => s.viewAgeSeconds)

  function onEvent(event: EngineEvent): void {
    events.inc({ type: event.type })
    const trigger = String(event.data.trigger ?? 'auto')
    switch (event.type) {
      case 'secret_reloaded':
        secretReloads.inc({ secret: String(event.data.secret) })
        return
      case 'failover_blocked':
        blocked.inc({ code: String(event.data.code) })
        return
      case 'failover_requested':
        failovers.inc({ trigger, result: 'requested' })
        return
      case 'failover_patched':
        failovers.inc({ trigger: String(event.data.trigger), result: 'started' })
        return
      case 'failover_adopted':
        failovers.inc({ trigger: 'adopted', result: 'adopted' })
        return
      case 'failover_failed':
        failovers.inc({ trigger, result: 'failed' })
        return
      case 'failover_refused':
        failovers.inc({ trigger, result: 'refused' })
        return
      case 'failover_timeout':
        failovers.inc({ trigger, result: 'timeout' })
        return
      case 'failover_completed':
        failovers.inc({ trigger, result: 'completed' })
        failoverDuration.observe(Number(event.data.durationSeconds))
        return
      case 'pgbouncer_resumed':
        // A pause left by an earlier run has no known length.
        if (typeof event.data.pausedSeconds === 'number') pgbouncerPause.observe(event.data.pausedSeconds)
        return
    }
  }

  return {
    registry,
    observeApiRequest(event) {
      const status = event.status !== undefined ? String(event.status) : event.outcome
      apiRequests.inc({ operation: event.operation, status })
      if (event.outcome === 'rate_limited') throttled.inc({ operation: event.operation })
      if (event.outcome !== 'rate_limited_local') apiLatency.observe({ operation: event.operation }, event.durationMs / 1000)
    },
    observeApiWait(event) {
      apiWait.observe({ operation: event.operation, cause: event.cause }, event.waitMs / 1000)
    },
    observeAdminAuth(outcome) {
      adminAuth.inc({ outcome })
    },
    follow(e, status) {
      engine = e
      coordination = status
      e.onEvent(onEvent)
      e.onCheck((c) => checks.inc({ cluster_id: c.clusterId, verdict: c.verdict }))
    }
  }
}

export interface MetricsListener {
  // The port listened on (PROMETHEUS_PORT, or the one the system chose for 0).
  port: number
  close(): Promise<void>
}

// ENABLE_PROMETHEUS keeps the Python tool's separate metrics port: GET /metrics
// only, on PROMETHEUS_PORT. The service and `pcr monitor` both serve it so.
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end()
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(port, host, resolve)
  })
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

export default fp(
  async (fastify) => {
    const metrics = createMetrics()
    fastify.decorate('metrics', metrics)
    if (!fastify.config.server.enablePrometheus) return
    let listener: MetricsListener | undefined
    fastify.addHook('onReady', async () => {
      listener = await serveMetrics(metrics.registry, fastify.config.server.prometheusPort, fastify.config.server.host)
      fastify.log.info({ port: listener.port }, 'prometheus metrics listening')
    })
    fastify.addHook('onClose', async () => {
      await listener?.close()
    })
  },
  { name: 'metrics' }
)
