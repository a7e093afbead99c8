import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ConnectionBody, ConnectionHeaders, ErrorBody } from '../api-schemas.js'
import { activeBody, unavailableBody } from '../api-views.js'
import { connectionString } from '../connection-string.js'

// Header values arrive as latin1; a client that sent UTF-8 bytes meant UTF-8.
function fromHeader(value: string): string {
  const bytes = Buffer.from(value, 'latin1')
  const utf8 = bytes.toString('utf8')
  return Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : value
}

export default async function connectionRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { config } = fastify
  const retryAfter = String(Math.max(1, Math.ceil(config.timeline.intervalSeconds)))

  app.get(
    '/connection',
    {
      schema: {
        tags: ['applications'],
        summary: 'Connection string of the active cluster',
        description:
          'Credentials come in the X-DB-Username and X-DB-Password headers and are percent-encoded into the answer. Answered from memory; 503 with Retry-After while failing over, while the new primary is activating (COMPLETED, its SQL probe not answering yet; code `activating`) or while the active cluster is unknown.',
        headers: ConnectionHeaders,
        response: { 200: ConnectionBody, 400: ErrorBody, 503: ErrorBody }
      }
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      const s = fastify.engine.snapshot()
      const active = activeBody(s, config)
      if (active === undefined) {
        return reply.code(503).header('retry-after', retryAfter).send(unavailableBody(s))
      }
      const user = fromHeader(request.headers['x-db-username'])
      const password = fromHeader(request.headers['x-db-password'])
      return {
        connection_string: connectionString({ ...active, user, password }),
        cluster_id: active.cluster_id,
        role: active.role,
        host: active.host,
        port: active.port,
        database: active.database,
        sslmode: active.sslmode
      }
    }
  )
}
