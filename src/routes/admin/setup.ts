import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { StreamCreatedBody } from '../../api-schemas.js'
import { streamBody } from '../../api-views.js'
import { adminErrors, adminSecurity, requestedBy } from '../../admin-route.js'

export default async function adminSetupRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.post(
    '/setup',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create the PCR stream for the configured pair (primary → standby)',
        description:
          'Refused (409) while a stream is live, and while the standby is the active cluster (the new stream would wipe it: fail back instead). The standby is wiped and re-seeded; the stream takes minutes to reach REPLICATING.',
        security: adminSecurity,
        response: { 201: StreamCreatedBody, ...adminErrors }
      }
    },
    async (request, reply) => reply.code(201).send({ stream: streamBody(await fastify.operator.setup(requestedBy(request))) })
  )
}
