import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { AppOptions } from './app-options.js'
import authPlugin from './plugins/auth.js'
import cloudPlugin from './plugins/cloud.js'
import docsPlugin from './plugins/docs.js'
import enginePlugin from './plugins/engine.js'
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.js'
import metricsPlugin from './plugins/metrics.js'
import operatorPlugin from './plugins/operator.js'
import trafficPlugin from './plugins/traffic.js'
import activeRoutes from '../routes/active.js'
import adminFailbackRoutes from '../routes/admin/failback.js'
import adminFailoverRoutes from '../routes/admin/failover.js'
import adminSetupRoutes from '../routes/admin/setup.js'
import adminSimulateRoutes from '../routes/admin/simulate.js'
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
  await fastify.register(errorsPlugin)
  await fastify.register(docsPlugin)
  await fastify.register(metricsPlugin, opts)
  await fastify.register(cloudPlugin, opts)
  await fastify.register(enginePlugin, opts)
  await fastify.register(operatorPlugin, opts)
  await fastify.register(trafficPlugin, opts)
  await fastify.register(authPlugin, opts)
  const routeGroups = [
    healthRoutes,
    connectionRoutes,
    activeRoutes,
    clustersRoutes,
    eventsRoutes,
    eventsStreamRoutes,
    statusPageRoutes,
    metricsRoutes,
    adminFailoverRoutes,
    adminFailbackRoutes,
    adminSimulateRoutes,
    adminSetupRoutes
  ]
  for (const routes of routeGroups) {
    await fastify.register(routes, opts)
  }
}

export default fp(app, { name: 'pcr-sidecar' })
