import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { SwitchoverAcceptedBody, SwitchoverRequestBody } from '../../api-schemas.js'
import { operationBody } from '../../api-views.js'
import { adminErrors, adminSecurity, requestedBy } from '../../admin-route.js'

export default async function adminSwitchoverRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.post(
    '/switchover',
    {
      schema: {
        tags: ['admin'],
        summary: 'Move to the standby on purpose, losing no write',
        description:
          'With the stream REPLICATING and both clusters healthy: fence writes (PgBouncer PAUSE; /connection, /active and the primary\'s /clusters/{id}/active answer 503), note the fence time T, wait until replicated_time ≥ T, fail over to T, then send applications to the new primary and resume. 202 with an operation whose steps carry their durations, followed at GET /admin/operations/{id}; 409 with the reason when it cannot start. Given up before the failover (timeout_seconds), the fence is lowered and the primary serves again.',
        security: adminSecurity,
        body: SwitchoverRequestBody,
        response: { 202: SwitchoverAcceptedBody, ...adminErrors }
      }
    },
    async (request, reply) => {
      const body = request.body
      const operation = await fastify.operator.switchover({ requestedBy: requestedBy(request), timeoutSeconds: body.timeout_seconds, unfenced: body.unfenced })
      return reply.code(202).send({ operation: operationBody(operation) })
    }
  )
}
