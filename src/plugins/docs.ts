import fp from 'fastify-plugin'
import swagger, { type StaticDocumentSpec } from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'

export const openapiInfo = {
  title: 'pcr-sidecar',
  description:
    'Watches the primary of a CockroachDB Physical Cluster Replication pair, fails over to the standby when the primary is really down, and tells applications which cluster is live.',
  version: '0.1.0'
}

// The OpenAPI document is generated from the routes' zod schemas; the committed
// openapi/openapi.json is this document, and a test fails when they drift.
export default fp(
  async (fastify) => {
    await fastify.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: openapiInfo,
        components: {
          securitySchemes: {
            adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
            readToken: { type: 'http', scheme: 'bearer', description: 'READ_TOKEN, also taken as a Basic password' }
          }
        }
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject
    })

    // Swagger UI and its assets are loaded on the first request for /docs, not at start
    // (a tenth of the start-up's plugin time): an instance of their own, serving the
    // document this one generated, answers those requests.
    let ui: Promise<FastifyInstance> | undefined
    const loadUi = () =>
      (ui ??= (async () => {
        const { default: swaggerUi } = await import('@fastify/swagger-ui')
        const docs = Fastify()
        await docs.register(swagger, { mode: 'static', specification: { document: fastify.swagger() as StaticDocumentSpec['document'] } })
        await docs.register(swaggerUi, { routePrefix: '/docs' })
        await docs.ready()
        return docs
      })())
    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      const docs = await loadUi()
      reply.hijack()
      docs.routing(request.raw, reply.raw)
    }
    // Looked up per request: the auth plugin decorates the instance after this one.
    const onRequest = (request: FastifyRequest, reply: FastifyReply) => fastify.requireReader(request, reply)
    for (const url of ['/docs', '/docs/*']) fastify.get(url, { schema: { hide: true }, onRequest }, serve)
    fastify.addHook('onClose', async () => {
      if (ui !== undefined) await (await ui).close()
    })
  },
  { name: 'docs' }
)
