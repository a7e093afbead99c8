import type { FastifyInstance } from 'fastify'
import adminFailbackRoutes from './failback.js'
import adminFailoverRoutes from './failover.js'
import adminSetupRoutes from './setup.js'
import adminSimulateRoutes from './simulate.js'

// Every admin route, behind one hook. onRequest runs before the body is read, so a
// caller without the token learns nothing from validation and costs no parsing.
export default async function adminRoutes(fastify: FastifyInstance) {
  fastify.addHook('onRequest', fastify.requireAdmin)
  for (const routes of [adminFailoverRoutes, adminFailbackRoutes, adminSimulateRoutes, adminSetupRoutes]) {
    await fastify.register(routes)
  }
}
