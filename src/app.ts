import autoload from '@fastify/autoload'
import { join } from 'node:path'
import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { AppOptions } from './app-options.js'
import type { Config } from './config/index.js'
import { quietLoggers } from './hot-route.js'
import authPlugin from './plugins/auth.js'
import docsPlugin from './plugins/docs.js'
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.js'
import answersPlugin from './plugins/answers.js'
import metricsPlugin from './plugins/metrics.js'
import runtimePlugin from './plugins/runtime.js'

export type { AppOptions } from './app-options.js'

// Options of the Fastify instance itself, shared by src/server.ts and the tests.
const quietRoutes = new Set(['/metrics', '/events/stream'])

export const serverOptions = {
  routerOptions: { maxParamLength: 200 },
  bodyLimit: 16 * 1024,
  // Probes and application lookups are the hot path (src/hot-route.ts): no log line per request;
  // nor for scrapes and the status page's long-lived stream, which logs its own opening and closing at debug.
  logController: new LogController({
    disableRequestLogging: (request) => quietLoggers.has(request.log) || quietRoutes.has(request.url.split('?')[0] ?? '')
  }),
  forceCloseConnections: true,
  clientErrorHandler,
  frameworkErrors
} satisfies FastifyServerOptions

// The instance's options for one configuration: the fixed ones, and which proxies'
// X-Forwarded-For gives the client's address (request.ip, the admin lockout's key).
export function serverOptionsFor(config: Config) {
  const trust = config.server.trustProxy
  // n hops: the addresses the last n proxies appended (Fastify's own reading of a number, which its types leave out).
  return { ...serverOptions, trustProxy: typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust }
}

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
  await fastify.register(answersPlugin)
  await fastify.register(authPlugin, { secretPollMs: opts.secretPollMs })
  // From the TypeScript sources (tsx, tap) the routes are .ts files, and autoload cannot
  // tell `--import tsx` from plain Node: it is told.
  if (import.meta.url.endsWith('.ts')) process.env.FASTIFY_AUTOLOAD_TYPESCRIPT ??= 'true'
  await fastify.register(autoload, {
    dir: join(import.meta.dirname, 'routes'),
    // A folder is a prefix (admin/ → /admin) and its autohooks.ts guards every route in it.
    autoHooks: true,
    forceESM: true
  })
}

export default fp(app, { name: 'pcr-sidecar' })
