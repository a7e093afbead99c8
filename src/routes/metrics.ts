import type { FastifyInstance } from 'fastify'

export default async function metricsRoutes(fastify: FastifyInstance) {
  fastify.get(
    '/metrics',
    { schema: { tags: ['status'], summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] } },
    async (request, reply) => {
      const { registry } = fastify.metrics
      return reply.type(registry.contentType).send(await registry.metrics())
    }
  )
}
