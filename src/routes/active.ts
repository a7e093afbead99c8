import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ActiveBody, ClusterActiveBody, ClusterParams, ErrorBody } from '../api-schemas.js'
import { hotRouteOptions, sendAnswer } from '../hot-route.js'

// Checks for load balancers and for applications that want the host without
// sending credentials. Both are answered from memory, like /connection.
export default async function activeRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { answers } = fastify

  app.get(
    '/clusters/:cluster_id/active',
    {
      ...hotRouteOptions(fastify, '/clusters/:cluster_id/active'),
      schema: {
        tags: ['load balancers'],
        summary: 'Whether this cluster is the active, writable one',
        description:
          '200 when the cluster is active; 503 otherwise, also while failing over, while the new primary is activating (COMPLETED, its SQL not answering yet) or while the active cluster is unknown; 404 for an id that is neither configured cluster. Meant for HAProxy `http-check` (one check per server, named by cluster id).',
        params: ClusterParams,
        response: { 200: ClusterActiveBody, 503: ClusterActiveBody, 404: ErrorBody }
      }
    },
    (request, reply) => sendAnswer(reply, answers.clusterActive(request.params.cluster_id), true)
  )

  app.get(
    '/active',
    {
      ...hotRouteOptions(fastify, '/active'),
      schema: {
        tags: ['applications'],
        summary: 'Host and port of the active cluster, without credentials',
        description: '503 with Retry-After while failing over, while the new primary is activating (code `activating`) or while the active cluster is unknown.',
        response: { 200: ActiveBody, 503: ErrorBody }
      }
    },
    (request, reply) => sendAnswer(reply, answers.active(), true)
  )
}
