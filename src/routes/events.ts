import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ErrorBody, EventsBody, EventsQuery } from '../api-schemas.js'
import { readErrors, readSecurity } from '../read-route.js'

export default async function eventsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.get(
    '/events',
    {
      onRequest: fastify.requireReader,
      schema: {
        tags: ['status'],
        summary: 'The recent decision history, newest first',
        security: readSecurity,
        querystring: EventsQuery,
        response: { 200: EventsBody, 400: ErrorBody, ...readErrors }
      }
    },
    async (request) => ({ events: fastify.engine.events(request.query.limit) })
  )
}
