import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ClustersBody } from '../api-schemas.js'
import { clustersBody } from '../api-views.js'

export default async function clustersRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.get(
    '/clusters',
    {
      schema: {
        tags: ['status'],
        summary: 'Both clusters, the stream and the failover state',
        response: { 200: ClustersBody }
      }
    },
    async () => clustersBody(fastify.engine.snapshot(), fastify.config.pair.primaryClusterId, fastify.coordination?.status())
  )
}
