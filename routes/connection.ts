import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { AppOptions } from '../src/app-options.js'
import { activeCluster } from '../src/engine/snapshot.js'
import { hostPort } from '../src/sql/host-port.js'
import { ConnectionBody, ConnectionHeaders, ErrorBody } from '../src/api-schemas.js'
import { configuredRole, unavailableBody } from '../src/api-views.js'

// Header values arrive as latin1; a client that sent UTF-8 bytes meant UTF-8.
function fromHeader(value: string): string {
  const bytes = Buffer.from(value, 'latin1')
  const utf8 = bytes.toString('utf8')
  return Buffer.from(utf8, 'utf8').equals(bytes) ? utf8 : value
}

// encodeURIComponent leaves !'()* alone; they are encoded too so that every
// parser reads back exactly the credentials that were sent.
function encodeUserinfo(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export default async function connectionRoutes(fastify: FastifyInstance, opts: AppOptions) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { config } = opts
  const retryAfter = String(Math.max(1, Math.ceil(config.healthCheckIntervalSeconds)))

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
      const active = activeCluster(s)
      if (active === undefined) {
        return reply.code(503).header('retry-after', retryAfter).send(unavailableBody(s))
      }
      const user = encodeUserinfo(fromHeader(request.headers['x-db-username']))
      const password = encodeUserinfo(fromHeader(request.headers['x-db-password']))
      const database = config.databaseName
      return {
        connection_string: `postgresql://${user}:${password}@${hostPort(active.sqlDns, active.sqlPort)}/${encodeURIComponent(database)}?sslmode=${config.dbSslmode}`,
        cluster_id: active.id,
        role: configuredRole(active.id, config.primaryClusterId),
        host: active.sqlDns,
        port: active.sqlPort,
        database,
        sslmode: config.dbSslmode
      }
    }
  )
}
