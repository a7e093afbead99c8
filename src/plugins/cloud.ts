import fp from 'fastify-plugin'
import { createCloudClient, type CloudClient } from '../cloud/client.js'
import type { AppOptions } from '../app-options.js'

declare module 'fastify' {
  interface FastifyInstance {
    cloud: CloudClient
  }
}

// One Cloud API client for the monitor, the admin routes and coordination alike, so
// all share its connection pool, its rate budget and its Retry-After gate.
export default fp(
  async (fastify, opts: AppOptions) => {
    const { config } = opts
    const client =
      opts.cloud ??
      createCloudClient({
        baseUrl: config.apiUrl,
        apiKey: config.apiKey,
        timeoutSeconds: config.healthCheckTimeoutSeconds,
        rateLimit: config.cloudApiRateLimit,
        onRequest: (event) => fastify.metrics.observeApiRequest(event),
        onWait: (event) => fastify.metrics.observeApiWait(event)
      })
    fastify.decorate('cloud', client)
    // A client handed in belongs to whoever made it.
    if (opts.cloud === undefined) fastify.addHook('onClose', () => client.close())
  },
  { name: 'cloud', dependencies: ['metrics'] }
)
