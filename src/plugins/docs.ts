import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
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
    // Looked up per request: the auth plugin decorates the instance after this one.
    await fastify.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: (request, reply) => fastify.requireReader(request, reply) } })
  },
  { name: 'docs' }
)
