import type { Logger } from 'pino'
import { createCloudClient, type CloudClient, type RequestEvent } from './cloud/client.js'
import type { Config } from './config/index.js'
import type { Coordination } from './coordination/coordination.js'
import type { Coordinator } from './engine/coordinator.js'
import { createEngine, systemClock, type Clock, type Engine, type SqlProbe } from './engine/engine.js'
import { createOperations } from './engine/operations.js'
import { createOperator, type Operator } from './engine/operator.js'
import { createStateStore } from './engine/state-file.js'
import type { Metrics } from './plugins/metrics.js'
import { watchSecretFile, type SecretFile } from './secret-file.js'
import { createSqlProbe, type SqlProbe as OwnedSqlProbe } from './sql/probe.js'
import { followEngine, type Traffic } from './traffic.js'

// The one composition root: the Cloud API client, the SQL probes, coordination, the
// engine, the operator and what follows the engine out (hooks, PgBouncer), built in
// the order data flows through them. The service's plugins and the CLI's direct mode
// both use it; observers subscribe as each part is made.

// Parts a test or another entry point may hand in instead of the ones made from the
// configuration. A part handed in belongs to whoever made it: it is not closed here.
export interface RuntimeParts {
  cloud?: CloudClient
  probes?: Record<string, SqlProbe>
  clock?: Clock
  coordinator?: Coordinator
  /** How often a secret's file is looked at for a rotation (1 s unless told). */
  secretPollMs?: number
}

export interface RuntimeOptions {
  config: Config
  parts?: RuntimeParts
  // The CLI's verbs other than the monitor and the drill fail over only when told to.
  autoFailover?: boolean
  // STATE_FILE is the service's: a CLI run beside it must not write the same file.
  stateFile?: boolean
  // Counts requests and waits, follows the engine and coordination.
  metrics?: Metrics
  // Every event as one log line.
  eventLog?: Logger
  // With a logger, hooks and PgBouncer follow the engine.
  traffic?: Logger
  // Reported as the reason of an operation still running at stop.
  stopReason: string
}

export interface Runtime {
  clock: Clock
  cloud: CloudClient
  coordination: Coordination | undefined
  engine: Engine
  operator: Operator
  // Joins the fleet (COORDINATION=etcd) once; resolves at once without it.
  join(): Promise<void>
  // Joins, then starts the check loop.
  start(): Promise<void>
  // Operator, traffic (which stops the engine first, so its last events are delivered),
  // engine, coordination, then what was made here.
  stop(): Promise<void>
}

function probesOf({ pair, sql, timeline }: Config): Record<string, OwnedSqlProbe> {
  const probes: Record<string, OwnedSqlProbe> = {}
  const endpoints: Array<[string, string | undefined]> = [
    [pair.primaryClusterId, sql.primaryEndpoint],
    [pair.standbyClusterId, sql.standbyEndpoint]
  ]
  for (const [id, connectionString] of endpoints) {
    if (connectionString !== undefined) probes[id] = createSqlProbe({ connectionString, timeoutSeconds: timeline.checkTimeoutSeconds })
  }
  return probes
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, parts = {}, metrics } = options
  const clock = parts.clock ?? systemClock
  const owned: Array<{ close(): Promise<void> }> = []
  // A key rotated in its file is sent from the next request on. The engine says so, naming
  // the file and never the key, and says so again if the API then refuses the new key.
  const keyFile = config.pair.apiKeyFile
  let keyChanged: { at: number; reported: boolean } | undefined
  const apiKey: SecretFile | undefined =
    parts.cloud !== undefined || keyFile === undefined
      ? undefined
      : watchSecretFile(
          keyFile,
          config.pair.apiKey,
          () => {
            keyChanged = { at: clock.now(), reported: false }
            engine.record({ type: 'secret_reloaded', message: `the Cloud API key changed in ${keyFile}; the next requests use it`, data: { secret: 'api_key', file: keyFile } })
          },
          parts.secretPollMs ?? 1000
        )
  const observeRequest = (event: RequestEvent) => {
    metrics?.observeApiRequest(event)
    if (event.status !== 401 || keyChanged === undefined || keyChanged.reported) return
    keyChanged.reported = true
    engine.record({
      type: 'secret_rejected',
      severity: 'error',
      message: `the Cloud API refused the key read from ${keyFile} at ${new Date(keyChanged.at).toISOString()} (HTTP 401): check the file holds the new key`,
      data: { secret: 'api_key', file: keyFile ?? null }
    })
  }
  const cloud =
    parts.cloud ??
    createCloudClient({
      baseUrl: config.pair.apiUrl,
      apiKey: apiKey?.value ?? config.pair.apiKey,
      timeoutSeconds: config.timeline.checkTimeoutSeconds,
      rateLimit: config.pair.apiRateLimit,
      proxy: config.proxy,
      onRequest: observeRequest,
      onWait: metrics?.observeApiWait
    })
  let probes: Record<string, SqlProbe> | undefined = parts.probes
  if (probes === undefined) {
    const made = probesOf(config)
    owned.push(...Object.values(made))
    probes = made
  }
  // With COORDINATION=etcd this process joins the fleet: it leads or follows, and acts only when leading.
  // Only then is the etcd client (gRPC, protobuf) loaded: it is a fifth of a plain start.
  const { etcd } = config.coordination
  const coordination =
    etcd === undefined ? undefined : (await import('./coordination/coordination.js')).createCoordination({ config: { timeline: config.timeline, etcd }, cloud, clock })
  const pair = { primaryClusterId: config.pair.primaryClusterId, standbyClusterId: config.pair.standbyClusterId }
  const engine = createEngine({
    settings: options.autoFailover === undefined ? config : { ...config, timeline: { ...config.timeline, autoFailover: options.autoFailover } },
    cloud: coordination?.cloud ?? cloud,
    probes,
    clock,
    coordinator: parts.coordinator ?? coordination?.coordinator,
    store: options.stateFile === true && config.timeline.stateFile !== undefined ? createStateStore({ path: config.timeline.stateFile, pair }) : undefined
  })
  const log = options.eventLog
  if (log !== undefined) engine.onEvent((event) => log[event.severity]({ event: event.type, eventId: event.id, ...event.data }, event.message))
  coordination?.follow(engine)
  metrics?.follow(engine, coordination?.status)
  // A switchover fences writes with PgBouncer only where this runtime follows it and may pause it.
  const pooled = options.traffic !== undefined && config.pgbouncer !== undefined && config.pgbouncer.maxPauseSeconds > 0
  const operator = createOperator({ engine, cloud, settings: { ...config, pooled }, clock, operations: createOperations({ now: () => clock.now() }) })
  const traffic: Traffic | undefined = options.traffic === undefined ? undefined : followEngine(engine, config, options.traffic)
  let joined: Promise<void> | undefined
  // Joining the fleet once, whether the caller starts the engine or only joins.
  const join = () => (joined ??= coordination?.start() ?? Promise.resolve())

  return {
    clock,
    cloud,
    coordination,
    engine,
    operator,
    join,
    async start() {
      await join()
      engine.start()
    },
    async stop() {
      operator.close(options.stopReason)
      await traffic?.close()
      await engine.stop()
      // Leaving etcd after the last check: the leadership ends now, not a lease TTL later.
      await coordination?.stop()
      await Promise.all(owned.map((p) => p.close()))
      apiKey?.close()
      if (parts.cloud === undefined) await cloud.close()
    }
  }
}
