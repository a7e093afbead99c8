import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ConnectionBody, ConnectionHeaders, ErrorBody } from '../api-schemas.js'
import { hotRouteOptions, sendAnswer } from '../hot-route.js'

// Header values arrive as latin1; a client that sent UTF-8 bytes meant UTF-8.
const ascii = /^[\x00-\x7f]*$/
function fromHeader(value: string): string {
  if (ascii.test(value)) return value
  const bytes = Buffer.from(value, 'latin1')
  const utf8 = bytes.toString('utf8')
  return Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : value
}

export default async function connectionRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { answers } = fastify

  app.get(
    '/connection',
    {
      ...hotRouteOptions(fastify, '/connection'),
      schema: {
        tags: ['applications'],
        summary: 'Connection string of the active cluster',
        description:
          'Credentials come in the X-DB-Username and X-DB-Password headers and are percent-encoded into the answer. Answered from memory; 503 with Retry-After while failing over, while the new primary is activating (COMPLETED, its SQL probe not answering yet; code `activating`) or while the active cluster is unknown.',
        headers: ConnectionHeaders,
        response: { 200: ConnectionBody, 400: ErrorBody, 503: ErrorBody }
      }
    },
    (request, reply) => {
      const target = answers.connection()
      if ('status' in target) return sendAnswer(reply, target, true)
      const body = answers.connectionBody(target, fromHeader(request.headers['x-db-username']), fromHeader(request.headers['x-db-password']))
      sendAnswer(reply, { status: 200, body }, true)
    }
  )
}
