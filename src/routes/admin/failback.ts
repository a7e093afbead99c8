import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { FailbackAcceptedBody, FailbackRequestBody, FailbackStatusBody, FailoverAcceptedBody, StreamCreatedBody } from '../../api-schemas.js'
import { failbackStatusBody, failoverStartedBody, operationBody, streamBody } from '../../api-views.js'
import { adminErrors, adminSecurity, requestedBy } from '../../admin-route.js'

export default async function adminFailbackRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.post(
    '/failback',
    {
      schema: {
        tags: ['admin'],
        summary: 'Fail back to the original primary after a completed failover',
        description:
          '`create-stream` (201): the reverse stream, promoted standby → original primary. `status` (200): that stream and whether failback may start. `initiate` (202): fail it over, with the same rules as a failover. `full` (202): all of it as an operation, followed at GET /admin/operations/{id}.',
        security: adminSecurity,
        body: FailbackRequestBody,
        response: {
          200: FailbackStatusBody,
          201: StreamCreatedBody,
          202: FailoverAcceptedBody.or(FailbackAcceptedBody),
          ...adminErrors
        }
      }
    },
    async (request, reply) => {
      const body = request.body
      const by = requestedBy(request)
      switch (body.action) {
        case 'create-stream':
          return reply.code(201).send({ stream: streamBody(await fastify.operator.createFailbackStream(by)) })
        case 'status':
          return reply.code(200).send(failbackStatusBody(await fastify.operator.failbackStatus(body.max_lag_seconds)))
        case 'initiate': {
          const started = await fastify.operator.initiateFailback({ requestedBy: by, failoverAt: body.failover_at, allowDataLoss: body.allow_data_loss })
          return reply.code(202).send(failoverStartedBody(started))
        }
        case 'full': {
          const operation = fastify.operator.startFailbackFull(by, { maxLagSeconds: body.max_lag_seconds, timeoutSeconds: body.timeout_seconds })
          return reply.code(202).send({ operation: operationBody(operation) })
        }
      }
    }
  )
}
