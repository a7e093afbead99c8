import fp from 'fastify-plugin'
import type { AppOptions } from '../app-options.js'
import { createCoordination, type Coordination } from '../coordination/coordination.js'
import { createEngine, systemClock, type Clock, type Engine, type SqlProbe } from '../engine/engine.js'
import { createStateStore } from '../engine/state-file.js'
import { createSqlProbe } from '../sql/probe.js'

declare module 'fastify' {
  interface FastifyInstance {
    engine: Engine
    clock: Clock
    // Present with COORDINATION=etcd.
    coordination: Coordination | undefined
  }
}

// The monitor: created with the app, started once the server is ready, stopped
// (after its current check) when the server closes. Every event becomes one log line.
export default fp(
  async (fastify, opts: AppOptions) => {
    const { config } = opts
    const clock = opts.clock ?? systemClock
    const owned: Array<{ close(): Promise<void> }> = []
    let probes: Record<string, SqlProbe> | undefined = opts.probes
    if (probes === undefined) {
      probes = {}
      const endpoints: Array<[string, string | undefined]> = [
        [config.primaryClusterId, config.primaryClusterEndpoint],
        [config.standbyClusterId, config.standbyClusterEndpoint]
      ]
      for (const [id, connectionString] of endpoints) {
        if (connectionString === undefined) continue
        const probe = createSqlProbe({ connectionString, timeoutSeconds: config.healthCheckTimeoutSeconds })
        probes[id] = probe
        owned.push(probe)
      }
    }
    const etcd = config.etcd
    const coordination = etcd === undefined ? undefined : createCoordination({ config: { ...config, etcd }, cloud: fastify.cloud, clock })
    const engine = createEngine({
      settings: config,
      cloud: coordination?.cloud ?? fastify.cloud,
      probes,
      clock,
      coordinator: opts.coordinator ?? coordination?.coordinator,
      store: config.stateFile === undefined ? undefined : createStateStore({ path: config.stateFile, pair: { primaryClusterId: config.primaryClusterId, standbyClusterId: config.standbyClusterId } })
    })
    coordination?.attach(engine)
    const log = fastify.log.child({ component: 'engine' })
    engine.onEvent((event) => {
      log[event.severity]({ event: event.type, eventId: event.id, ...event.data }, event.message)
    })
    fastify.metrics.attach(engine)
    if (coordination !== undefined) fastify.metrics.attachCoordination(coordination.status)
    fastify.decorate('engine', engine)
    fastify.decorate('clock', clock)
    fastify.decorate('coordination', coordination)
    fastify.addHook('onReady', async () => {
      await coordination?.start()
      engine.start()
    })
    fastify.addHook('onClose', async () => {
      await engine.stop()
      // Leaving etcd after the last check: the leadership ends now, not a lease TTL later.
      await coordination?.stop()
      await Promise.all(owned.map((p) => p.close()))
    })
  },
  { name: 'engine', dependencies: ['cloud', 'metrics'] }
)
