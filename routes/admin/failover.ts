import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ErrorBody, FailoverAcceptedBody, FailoverRequestBody, PauseBody } from '../../src/api-schemas.js'
import { planBody, streamBody } from '../../src/api-views.js'

const adminErrors = { 401: ErrorBody, 403: ErrorBody }

export default async function adminFailoverRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const requestedBy = (ip: string) => `admin API (${ip})`

  app.post(
    '/admin/failover',
    {
      preHandler: fastify.requireAdmin,
      schema: {
        tags: ['admin'],
        summary: 'Fail the stream over to the standby now',
        description:
          'Same checks as an automatic failover (stream REPLICATING, standby usable, data-loss guard unless allow_data_loss), one PATCH at most. 202 once the stream is FAILING_OVER; 200 for a dry run; 409 with the reason when it cannot fail over now.',
        security: [{ adminToken: [] }],
        body: FailoverRequestBody,
        response: { 200: FailoverAcceptedBody, 202: FailoverAcceptedBody, 400: ErrorBody, 409: ErrorBody, 502: ErrorBody, ...adminErrors }
      }
    },
    async (request, reply) => {
      const body = request.body
      const result = await fastify.engine.failover({
        requestedBy: requestedBy(request.ip),
        failoverAt: body.failover_at,
        allowDataLoss: body.allow_data_loss,
        dryRun: body.dry_run
      })
      switch (result.outcome) {
        case 'dry_run':
          return reply.code(200).send({ outcome: 'dry_run', plan: planBody(result.plan) })
        case 'started':
        case 'adopted':
          return reply.code(202).send({ outcome: result.outcome, plan: planBody(result.plan), stream: streamBody(result.stream) })
        case 'blocked':
          return reply.code(409).send({ error: 'Conflict', message: result.reason, code: result.code })
        case 'failed':
          return reply.code(502).send({ error: 'Bad Gateway', message: result.reason, code: 'failover_failed' })
      }
    }
  )

  for (const [path, paused] of [['/admin/pause', true], ['/admin/resume', false]] as const) {
    app.post(
      path,
      {
        preHandler: fastify.requireAdmin,
        schema: {
          tags: ['admin'],
          summary: paused ? 'Pause automatic failover (monitoring goes on)' : 'Resume automatic failover',
          security: [{ adminToken: [] }],
          response: { 200: PauseBody, ...adminErrors }
        }
      },
      async (request) => {
        const by = requestedBy(request.ip)
        const changed = paused ? fastify.engine.pause(by) : fastify.engine.resume(by)
        return { paused, changed }
      }
    )
  }
}
