import fp from 'fastify-plugin'
import type { AppOptions } from '../app-options.js'
import { createOperations } from '../engine/operations.js'
import { createOperator, type Operator } from '../engine/operator.js'

declare module 'fastify' {
  interface FastifyInstance {
    operator: Operator
  }
}

// Operator actions (setup, failover, failback, drills) over the same client and
// engine as the monitor.
export default fp(
  async (fastify, opts: AppOptions) => {
    fastify.decorate(
      'operator',
      createOperator({
        engine: fastify.engine,
        cloud: fastify.cloud,
        settings: opts.config,
        clock: fastify.clock,
        operations: createOperations({ now: () => fastify.clock.now() })
      })
    )
  },
  { name: 'operator', dependencies: ['engine', 'cloud'] }
)
