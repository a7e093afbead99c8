import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { AppOptions } from '../app-options.js'
import { followEngine } from '../traffic.js'

// Hooks and PgBouncer follow the service's engine. This onClose runs before the
// engine plugin's own, and stops the engine itself so nothing emitted is lost.
export default fp(
  async (fastify, opts: AppOptions) => {
    const traffic = followEngine(fastify.engine, opts.config, fastify.log as Logger)
    fastify.addHook('onClose', () => traffic.close())
  },
  { name: 'traffic', dependencies: ['engine'] }
)
