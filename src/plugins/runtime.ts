import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { AppOptions } from '../app-options.js'
import type { CloudClient } from '../cloud/client.js'
import type { Coordination } from '../coordination/coordination.js'
import type { Clock, Engine } from '../engine/engine.js'
import type { Operator } from '../engine/operator.js'
import { routeOf } from '../outbound.js'
import { createRuntime } from '../runtime.js'

declare module 'fastify' {
  interface FastifyInstance {
    // One client for the monitor, the admin routes and coordination: one pool, one rate budget.
    cloud: CloudClient
    engine: Engine
    clock: Clock
    // Present with COORDINATION=etcd.
    coordination: Coordination | undefined
    operator: Operator
  }
}

// The service's parts (src/runtime.ts), made with the app: the monitor starts once the
// server is ready and stops, after its current check, when the server closes; an
// operation still running then ends failed. Every event becomes one log line.
export default fp(
  async (fastify, opts: AppOptions) => {
    const { config, ...parts } = opts
    const runtime = await createRuntime({
      config,
      parts,
      stateFile: true,
      metrics: fastify.metrics,
      eventLog: fastify.log.child({ component: 'engine' }) as Logger,
      traffic: fastify.log as Logger,
      stopReason: 'service stopped'
    })
    // Which way each outbound destination goes, said once: direct or through which proxy.
    for (const [what, address] of [['Cloud API', config.pair.apiUrl], ['webhook', config.hooks.webhookUrl]] as const) {
      if (address === undefined) continue
      const url = new URL(address)
      const route = routeOf(url, config.proxy)
      fastify.log.info({ host: url.host, route }, `${what} requests go ${route}`)
    }
    fastify.decorate('cloud', runtime.cloud)
    fastify.decorate('engine', runtime.engine)
    fastify.decorate('clock', runtime.clock)
    fastify.decorate('coordination', runtime.coordination)
    fastify.decorate('operator', runtime.operator)
    fastify.addHook('onReady', () => runtime.start())
    fastify.addHook('onClose', () => runtime.stop())
  },
  { name: 'runtime', dependencies: ['metrics'] }
)
