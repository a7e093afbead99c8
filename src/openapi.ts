import Fastify from 'fastify'
import app, { serverOptions } from './app.js'
import { parseConfig } from './config/index.js'

// The OpenAPI document as the routes declare it. The placeholder configuration
// only has to be valid: the document does not depend on its values.
export async function openapiDocument(): Promise<unknown> {
  const { config } = parseConfig({
    COCKROACH_API_SECRET_KEY: 'placeholder',
    COCKROACH_API_URL: 'http://127.0.0.1:9',
    PRIMARY_CLUSTER_ID: '00000000-0000-4000-8000-000000000001',
    STANDBY_CLUSTER_ID: '00000000-0000-4000-8000-000000000002',
    HEALTH_CHECK_TIMEOUT: '0.1'
  })
  const fastify = Fastify(serverOptions)
  await fastify.register(app, { config })
  await fastify.ready()
  const document = fastify.swagger()
  await fastify.close()
  return document
}
