import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { HealthBody, ReadyBody } from '../api-schemas.js'
import { hotRouteOptions, sendAnswer } from '../hot-route.js'

export default async function healthRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { answers, clock } = fastify

  app.get(
    '/health',
    {
      ...hotRouteOptions(fastify, '/health'),
      schema: {
        tags: ['probes'],
        summary: 'Liveness: the process and its monitor loop are alive',
        description: 'Answers 200 even while the database is down; 503 only when no check has finished for 3 × (interval + timeout).',
        response: { 200: HealthBody, 503: HealthBody }
      }
    },
    (request, reply) => sendAnswer(reply, answers.health(clock.now()), false)
  )

  app.get(
    '/ready',
    {
      ...hotRouteOptions(fastify, '/ready'),
      schema: {
        tags: ['probes'],
        summary: 'Readiness: the active cluster is known',
        description:
          "503 while the active cluster is unknown, a failover is under way or the new primary is activating (COMPLETED, its SQL not answering yet). With COORDINATION=etcd, also while this sidecar's own checks judge the active cluster unhealthy: a pod cut off from the database is taken out of service even when the fleet sees it up.",
        response: { 200: ReadyBody, 503: ReadyBody }
      }
    },
    (request, reply) => sendAnswer(reply, answers.ready(), false)
  )
}
