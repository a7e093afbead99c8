import type { Logger } from 'pino'
import type { Config } from './config/index.js'
import type { Engine } from './engine/engine.js'
import { createHooks } from './hooks/hooks.js'
import { scrubber, secretsOf } from './logger.js'
import { createPgbouncerSync } from './pgbouncer/sync.js'

// What follows the engine out into the world: the webhook and the failover
// command on hookable events, PgBouncer on every change of the active cluster.
// The service and `pcr monitor` both run it, so a failover moves traffic
// whichever of them made it.

export interface Traffic {
  // Stops the engine first, so that what its last check emits is still delivered.
  close(): Promise<void>
}

export function followEngine(engine: Engine, config: Config, log: Logger): Traffic {
  const hooks =
    config.hooks.webhookUrl === undefined && config.hooks.command === undefined
      ? undefined
      : createHooks({
          config: config.hooks,
          log: log.child({ component: 'hooks' }),
          record: engine.record,
          snapshot: engine.snapshot,
          proxy: config.proxy,
          scrub: scrubber(secretsOf(config))
        })
  const pgbouncer =
    config.pgbouncer === undefined
      ? undefined
      : createPgbouncerSync({
          config: { sql: config.sql, pgbouncer: config.pgbouncer },
          log: log.child({ component: 'pgbouncer' }),
          record: engine.record
        })
  const off = engine.onEvent((event) => {
    hooks?.notify(event)
    const { clusterId, host, port } = event.data
    // While failing over there is no active cluster: PgBouncer keeps its target
    // until the new one is known, and a failover called off leaves nothing to undo.
    if (pgbouncer === undefined || event.type !== 'active_cluster_changed' || clusterId === null) return
    pgbouncer.apply({ clusterId: String(clusterId), host: String(host), port: Number(port) })
  })
  return {
    async close() {
      await engine.stop()
      off()
      await Promise.all([hooks?.close(), pgbouncer?.close()])
    }
  }
}
