import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { AppOptions } from './app-options.js'
import authPlugin from './plugins/auth.js'
import docsPlugin from './plugins/docs.js'
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.js'
import metricsPlugin from './plugins/metrics.js'
import runtimePlugin from './plugins/runtime.js'
import activeRoutes from '../routes/active.js'
import adminRoutes from '../routes/admin/index.js'
import clustersRoutes from '../routes/clusters.js'
import connectionRoutes from '../routes/connection.js'
import eventsRoutes from '../routes/events.js'
import eventsStreamRoutes from '../routes/events-stream.js'
import healthRoutes from '../routes/health.js'
import metricsRoutes from '../routes/metrics.js'
import statusPageRoutes from '../routes/status-page.js'

export type { AppOptions } from './app-options.js'

// Options of the Fastify instance itself, shared by src/server.ts and the tests.
const quietRoutes = new Set(['/health', '/ready', '/connection', '/active', '/metrics', '/events/stream'])
const clusterCheck = /^\/clusters\/[^/]+\/active$/

export const serverOptions = {
  routerOptions: { maxParamLength: 200 },
  bodyLimit: 16 * 1024,
  // Probes and application lookups are the hot path: no log line per request;
  // nor for the status page's long-lived stream, which logs its own opening and closing at debug.
  logController: new LogController({
    disableRequestLogging: (request) => {
      const path = request.url.split('?')[0] ?? ''
      return quietRoutes.has(path) || clusterCheck.test(path)
    }
  }),
  forceCloseConnections: true,
  clientErrorHandler,
  frameworkErrors
} satisfies FastifyServerOptions

// The whole service as one plugin: src/server.ts registers it on the instance it
// creates, and the tests do the same on theirs.
async function app(fastify: FastifyInstance, opts: AppOptions) {
  fastify.setValidatorCompiler(validatorCompiler)
  fastify.setSerializerCompiler(serializerCompiler)
  fastify.decorate('config', opts.config)
  await fastify.register(errorsPlugin)
  await fastify.register(docsPlugin)
  await fastify.register(metricsPlugin)
  await fastify.register(runtimePlugin, opts)
  await fastify.register(authPlugin)
  const routeGroups = [
    healthRoutes,
    connectionRoutes,
    activeRoutes,
    clustersRoutes,
    eventsRoutes,
    eventsStreamRoutes,
    statusPageRoutes,
    metricsRoutes,
    adminRoutes
  ]
  for (const routes of routeGroups) {
    await fastify.register(routes)
  }
}

export default fp(app, { name: 'pcr-sidecar' })
