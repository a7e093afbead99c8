import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ErrorBody, FailoverAcceptedBody, FailoverRequestBody, OperationBody, OperationParams, PauseBody } from '../../api-schemas.js'
import { failoverStartedBody, operationBody } from '../../api-views.js'
import { adminErrors, adminSecurity, requestedBy } from '../../admin-route.js'

export default async function adminFailoverRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()

  app.post(
    '/failover',
    {
      schema: {
        tags: ['admin'],
        summary: 'Fail the stream over to the standby now',
        description:
          'Same checks as an automatic failover (stream REPLICATING, standby usable, data-loss guard unless allow_data_loss), one PATCH at most. 202 once the stream is FAILING_OVER, with an operation to follow; 200 for a dry run; 409 with the reason when it cannot fail over now.',
        security: adminSecurity,
        body: FailoverRequestBody,
        response: { 200: FailoverAcceptedBody, 202: FailoverAcceptedBody, ...adminErrors }
      }
    },
    async (request, reply) => {
      const body = request.body
      const result = await fastify.operator.failover({
        requestedBy: requestedBy(request),
        failoverAt: body.failover_at,
        allowDataLoss: body.allow_data_loss,
        dryRun: body.dry_run
      })
      return reply.code(result.outcome === 'dry_run' ? 200 : 202).send(failoverStartedBody(result))
    }
  )

  app.get(
    '/operations/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Progress and result of a failover or failback operation',
        security: adminSecurity,
        params: OperationParams,
        response: { 200: OperationBody, ...adminErrors }
      }
    },
    async (request, reply) => {
      const operation = fastify.operator.operation(request.params.id)
      if (operation === undefined) return reply.code(404).send({ error: 'Not Found', message: 'no such operation', code: 'unknown_operation' })
      return operationBody(operation)
    }
  )

  for (const [path, paused] of [['/pause', true], ['/resume', false]] as const) {
    app.post(
      path,
      {
        schema: {
          tags: ['admin'],
          summary: paused ? 'Pause automatic failover (monitoring goes on)' : 'Resume automatic failover',
          security: adminSecurity,
          response: { 200: PauseBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody, 503: ErrorBody }
        }
      },
      async (request, reply) => {
        const by = requestedBy(request)
        // In a fleet the pause is etcd's first: one held here alone, the next leader would not keep.
        try {
          await fastify.coordination?.recordPause(paused, by)
        } catch (err) {
          return reply.code(503).send({
            error: 'Service Unavailable',
            message: `the ${paused ? 'pause' : 'resume'} could not be recorded in etcd, where every sidecar and the next leader read it: ${(err as Error).message.replace(/\s+/g, ' ')}; nothing was changed`,
            code: 'coordination_unavailable'
          })
        }
        const changed = paused ? fastify.engine.pause(by) : fastify.engine.resume(by)
        return { paused, changed }
      }
    )
  }
}
