import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ErrorBody, EventsBody, EventsQuery } from '../api-schemas.js'

export default async function eventsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.get(
    '/events',
    {
      schema: {
        tags: ['status'],
        summary: 'The recent decision history, newest first',
        querystring: EventsQuery,
        response: { 200: EventsBody, 400: ErrorBody }
      }
    },
    async (request) => ({ events: fastify.engine.events(request.query.limit) })
  )
}
