import type { CloudClient } from './cloud/client.js'
import type { Config } from './config.js'
import type { Coordinator } from './engine/coordinator.js'
import type { Clock, SqlProbe } from './engine/engine.js'

// What buildApp takes: the configuration, and the parts a test or another entry
// point may hand in instead of the ones made from the configuration.
export interface AppOptions {
  config: Config
  cloud?: CloudClient
  probes?: Record<string, SqlProbe>
  clock?: Clock
  coordinator?: Coordinator
}
