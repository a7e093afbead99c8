import type { Logger } from 'pino'
import { activeBody, clustersBody, failbackStatusBody, failoverStartedBody, operationBody, streamBody, unavailableReason } from '../api-views.js'
import type { ClusterDisruptionInfo } from '../cloud/schemas.js'
import type { Config } from '../config/index.js'
import type { Clock } from '../engine/engine.js'
import { OperatorError } from '../engine/operator.js'
import { activeCluster, type Snapshot } from '../engine/snapshot.js'
import type { Metrics } from '../plugins/metrics.js'
import { createRuntime } from '../runtime.js'
import type { Backend } from './backend.js'

// Direct mode: the service's parts (src/runtime.ts) in this process, so the CLI works
// without the service running.

export interface DirectOptions {
  config: Config
  clock: Clock
  // Follows a failover to COMPLETED: the check loop must run for the engine to see it.
  start: boolean
  // The monitor and the drill fail over on their own; the other verbs only when told to.
  autoFailover: boolean
  // With a logger, hooks and PgBouncer follow this engine (pcr monitor, pcr drill).
  traffic?: Logger
  // With metrics, this engine and its Cloud API requests are counted (pcr monitor with ENABLE_PROMETHEUS).
  metrics?: Metrics
  pollMs: number
  requestedBy: string
}

export async function openDirect(options: DirectOptions): Promise<Backend> {
  const { config, requestedBy } = options
  const runtime = await createRuntime({
    config,
    parts: { clock: options.clock },
    autoFailover: options.autoFailover,
    metrics: options.metrics,
    traffic: options.traffic,
    stopReason: 'pcr stopped'
  })
  const { engine, operator } = runtime
  const joined = runtime.join()
  if (options.start) void runtime.start()

  // The engine here is the CLI's, not the service's: AUTO_FAILOVER is what the configuration says.
  const view = (s = engine.snapshot()) => ({ ...clustersBody(s, config.pair.primaryClusterId), auto_failover: config.timeline.autoFailover })
  const simulated = (clusterId: string, info: ClusterDisruptionInfo) => ({ clusters: [{ cluster_id: clusterId, ...info }] })

  return {
    mode: 'direct',
    pollMs: options.pollMs,
    source: `Cloud API ${config.pair.apiUrl}`,
    refresh: async () => {
      await joined
      return view(await engine.refresh())
    },
    clusters: async () => view(),
    events: async (limit) => engine.events(limit),
    // What GET /connection would answer: the active cluster, once its SQL host is known.
    async connectionClusterId() {
      return activeCluster(engine.snapshot())?.id ?? null
    },
    async active() {
      await joined
      const s = await engine.refresh()
      const body = activeBody(s, config)
      if (body !== undefined) return body
      const reason = unavailableReason(s)
      if (reason.code !== 'unknown') return reason
      const watched = s.clusters.find((c) => c.id === s.watchedClusterId) as Snapshot['clusters'][number]
      return { code: reason.code, message: `the active cluster is not known: ${watched.reason}` }
    },
    async next() {
      await joined
      engine.start()
      await engine.nextCheck()
    },
    async failover(input) {
      // The engine decides from the stream it has read: read it now, and say so if it cannot be.
      await joined
      const s = await engine.refresh()
      if (s.activeClusterId === null && s.phase !== 'failing_over' && s.phase !== 'activating') {
        const reason = s.clusters.find((c) => c.id === s.watchedClusterId)?.reason
        throw new OperatorError('unknown', `the active cluster is not known: ${reason}`, 409)
      }
      const started = await operator.failover({
        requestedBy,
        failoverAt: input.failover_at,
        allowDataLoss: input.allow_data_loss,
        dryRun: input.dry_run
      })
      return failoverStartedBody(started)
    },
    createFailbackStream: async () => ({ stream: streamBody(await operator.createFailbackStream(requestedBy)) }),
    failbackStatus: async (maxLagSeconds) => failbackStatusBody(await operator.failbackStatus(maxLagSeconds)),
    initiateFailback: async (input) =>
      failoverStartedBody(await operator.initiateFailback({ requestedBy, failoverAt: input.failover_at, allowDataLoss: input.allow_data_loss })),
    failbackFull: async (input) => ({
      operation: operationBody(operator.startFailbackFull(requestedBy, { maxLagSeconds: input.max_lag_seconds, timeoutSeconds: input.timeout_seconds }))
    }),
    switchover: async (input) => ({
      operation: operationBody(await operator.switchover({ requestedBy, timeoutSeconds: input.timeout_seconds, unfenced: input.unfenced }))
    }),
    disrupt: async (input) =>
      simulated(
        input.cluster_id,
        await operator.disrupt(requestedBy, {
          confirm: input.confirm,
          clusterId: input.cluster_id,
          regionCode: input.region_code,
          pods: input.pods,
          azs: input.azs
        })
      ),
    restore: async (clusterId) => simulated(clusterId, await operator.restore(requestedBy, clusterId)),
    disruptionStatus: async () => ({
      clusters: (await operator.disruptionStatus()).map((c) => ({ cluster_id: c.clusterId, ...c.disruption }))
    }),
    setup: async () => ({ stream: streamBody(await operator.setup(requestedBy)) }),
    async operation(id) {
      const operation = operator.operation(id)
      if (operation === undefined) throw new OperatorError('unknown_operation', `no operation ${id} in this process`, 404)
      return operationBody(operation)
    },
    close: () => runtime.stop()
  }
}
