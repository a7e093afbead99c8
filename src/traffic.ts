import type { Logger } from 'pino'
import { fenced } from './api-views.js'
import type { Config } from './config/index.js'
import type { Engine } from './engine/engine.js'
import type { Snapshot } from './engine/snapshot.js'
import { createHooks } from './hooks/hooks.js'
import { scrubber, secretsOf } from './logger.js'
import { createPgbouncerSync } from './pgbouncer/sync.js'

// What follows the engine out into the world: the webhook and the failover
// command on hookable events, PgBouncer on every change of the active cluster,
// held (PAUSE) while a switch leaves no cluster to send queries to.
// The service and `pcr monitor` both run it, so a failover moves traffic
// whichever of them made it.

export interface Traffic {
  // Stops the engine first, so that what its last check emits is still delivered.
  close(): Promise<void>
}

// Why PgBouncer should hold the alias now, or undefined: from the PATCH until the new
// primary is active, and while a planned switchover fences the active cluster. A
// switchover's hold is kept past PGBOUNCER_MAX_PAUSE once it has failed over: the
// primary it left is alive, and what it took then would be lost.
export function holdOf(s: Pick<Snapshot, 'phase' | 'failover' | 'fence' | 'activeClusterId'>): { reason: string; keep: boolean } | undefined {
  const switching = s.phase === 'failing_over' || s.phase === 'activating'
  const failover = `failover of stream ${s.failover?.streamId ?? 'unknown'}`
  if (s.fence !== null && switching) return { reason: `switchover ${s.fence.operationId}: ${failover}`, keep: true }
  if (s.fence !== null && fenced(s)) return { reason: `switchover ${s.fence.operationId}: writes fenced on ${s.fence.clusterId}`, keep: false }
  return switching ? { reason: failover, keep: false } : undefined
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
          record: engine.record,
          // Later, not inside the publish that caused the change.
          onChange: (pooler) => queueMicrotask(() => engine.annotate({ pooler }))
        })
  if (pgbouncer !== undefined) engine.annotate({ pooler: pgbouncer.view() })
  let holding: string | undefined
  const offPublish = engine.onPublish((s) => {
    if (pgbouncer === undefined) return
    const hold = holdOf(s)
    const key = hold === undefined ? undefined : `${hold.reason} ${hold.keep}`
    if (key === holding) return
    holding = key
    if (hold === undefined) pgbouncer.release()
    else pgbouncer.hold(hold.reason, hold.keep)
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
      offPublish()
      await Promise.all([hooks?.close(), pgbouncer?.close()])
    }
  }
}
