import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ActiveBody, ClusterActiveBody, ClusterParams, ErrorBody } from '../api-schemas.js'
import { activeBody, unavailableBody } from '../api-views.js'

// Checks for load balancers and for applications that want the host without
// sending credentials. Both are answered from memory, like /connection.
export default async function activeRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { config } = fastify
  const configured = [config.pair.primaryClusterId, config.pair.standbyClusterId]
  const retryAfter = String(Math.max(1, Math.ceil(config.timeline.intervalSeconds)))

  app.get(
    '/clusters/:cluster_id/active',
    {
      schema: {
        tags: ['load balancers'],
        summary: 'Whether this cluster is the active, writable one',
        description:
          '200 when the cluster is active; 503 otherwise, also while failing over, while the new primary is activating (COMPLETED, its SQL not answering yet) or while the active cluster is unknown; 404 for an id that is neither configured cluster. Meant for HAProxy `http-check` (one check per server, named by cluster id).',
        params: ClusterParams,
        response: { 200: ClusterActiveBody, 503: ClusterActiveBody, 404: ErrorBody }
      }
    },
    async (request, reply) => {
      const asked = request.params.cluster_id.toLowerCase()
      const id = configured.find((c) => c.toLowerCase() === asked)
      reply.header('cache-control', 'no-store')
      if (id === undefined) {
        return reply.code(404).send({ error: 'Not Found', message: 'not one of the two configured clusters', code: 'unknown_cluster' })
      }
      const s = fastify.engine.snapshot()
      const active = s.activeClusterId?.toLowerCase() === asked
      return reply
        .code(active ? 200 : 503)
        .send({ active, cluster_id: id, active_cluster_id: s.activeClusterId, phase: s.phase })
    }
  )

  app.get(
    '/active',
    {
      schema: {
        tags: ['applications'],
        summary: 'Host and port of the active cluster, without credentials',
        description: '503 with Retry-After while failing over, while the new primary is activating (code `activating`) or while the active cluster is unknown.',
        response: { 200: ActiveBody, 503: ErrorBody }
      }
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      const s = fastify.engine.snapshot()
      const active = activeBody(s, config)
      if (active === undefined) {
        return reply.code(503).header('retry-after', retryAfter).send(unavailableBody(s))
      }
      return active
    }
  )
}
