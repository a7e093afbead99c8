import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ClustersBody } from '../api-schemas.js'
import { clustersBody } from '../api-views.js'
import { readErrors, readSecurity } from '../read-route.js'

export default async function clustersRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.get(
    '/clusters',
    {
      onRequest: fastify.requireReader,
      schema: {
        tags: ['status'],
        summary: 'Both clusters, the stream and the failover state',
        security: readSecurity,
        response: { 200: ClustersBody, ...readErrors }
      }
    },
    async () => clustersBody(fastify.engine.snapshot(), fastify.config.pair.primaryClusterId, fastify.coordination?.status())
  )
}
