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
// engine as the monitor. An operation still running when the server closes ends
// failed, releasing its listeners and timers.
export default fp(
  async (fastify, opts: AppOptions) => {
    const operator = createOperator({
      engine: fastify.engine,
      cloud: fastify.cloud,
      settings: opts.config,
      clock: fastify.clock,
      operations: createOperations({ now: () => fastify.clock.now() })
    })
    fastify.decorate('operator', operator)
    fastify.addHook('onClose', async () => operator.close('service stopped'))
  },
  { name: 'operator', dependencies: ['engine', 'cloud'] }
)
