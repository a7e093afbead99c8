import type { Config } from './config/index.js'
import type { RuntimeParts } from './runtime.js'

// What buildApp takes: the configuration, and the parts a test or another entry
// point may hand in instead of the ones made from the configuration.
export interface AppOptions extends RuntimeParts {
  config: Config
}

declare module 'fastify' {
  interface FastifyInstance {
    // Decorated once by the app, read by plugins and routes.
    config: Config
  }
}
