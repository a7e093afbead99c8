import { z } from 'zod'
import { streamStatuses } from './cloud/schemas.js'
import { poolerStates, type Phase } from './engine/snapshot.js'

// The sidecar's own HTTP shapes: one zod schema each, used for validation, for
// the TypeScript types and for the OpenAPI document alike.

const nullableTime = z.iso.datetime().nullable()
// Every phase of the engine (engine/snapshot.ts), as the API and the metrics name them.
export const phases = ['starting', 'normal', 'suspect', 'delay', 'blocked', 'failover_scheduled', 'failing_over', 'activating', 'completed'] as const satisfies readonly Phase[]
const verdicts = ['healthy', 'unhealthy', 'unknown'] as const

export const ErrorBody = z
  .object({
    error: z.string().describe('HTTP reason phrase'),
    message: z.string().describe('what went wrong, in one line'),
    code: z.string().optional().describe('machine-readable reason, where there is one')
  })
  .meta({ id: 'Error' })

export const ConfiguredRole = z.enum(['primary', 'standby']).describe('the role the cluster was configured with')

export const HealthBody = z
  .object({
    status: z.enum(['ok', 'stale']),
    active_cluster_id: z.string().nullable(),
    role: ConfiguredRole.nullable().describe('configured role of the active cluster'),
    phase: z.enum(phases),
    last_check_at: nullableTime
  })
  .meta({ id: 'Health' })

export const ReadyBody = z
  .object({
    ready: z.boolean(),
    active_cluster_id: z.string().nullable(),
    phase: z.enum(phases),
    reason: z.string().optional()
  })
  .meta({ id: 'Ready' })

export const ClusterParams = z.object({
  cluster_id: z.string().max(100).describe('the UUID of one of the two configured clusters')
})

export const ClusterActiveBody = z
  .object({
    active: z.boolean().describe('whether this cluster is the one applications should write to'),
    cluster_id: z.string(),
    active_cluster_id: z.string().nullable(),
    phase: z.enum(phases)
  })
  .meta({ id: 'ClusterActive' })

const DataLossBody = z
  .object({
    lower: z.number().describe('writes after the cut up to the last check that saw the primary healthy'),
    upper: z.number().describe('up to the first check that saw it unhealthy (or now); MAX_DATA_LOSS_SECONDS is compared with this')
  })
  .nullable()
  .describe('what a failover would lose, in seconds; precise to about one check interval')

const StaleBody = z
  .object({ saved_at: z.string(), age_seconds: z.number() })
  .nullable()
  .describe('the active cluster comes from STATE_FILE: the Cloud API has not been read since the start')

export const ActiveBody = z
  .object({
    cluster_id: z.string(),
    role: ConfiguredRole,
    host: z.string(),
    port: z.number().int(),
    database: z.string(),
    sslmode: z.string(),
    phase: z.enum(phases),
    stale: StaleBody
  })
  .meta({ id: 'Active' })

export const ConnectionHeaders = z.object({
  'x-db-username': z.string({ error: 'the X-DB-Username header is required' }).min(1, 'the X-DB-Username header must not be empty'),
  'x-db-password': z.string({ error: 'the X-DB-Password header is required' })
})

export const ConnectionBody = z
  .object({
    connection_string: z.string(),
    cluster_id: z.string(),
    role: ConfiguredRole,
    host: z.string(),
    port: z.number().int(),
    database: z.string(),
    sslmode: z.string()
  })
  .meta({ id: 'Connection' })

export const ClusterBody = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    configured_role: ConfiguredRole,
    role: z.enum(['primary', 'standby', 'detached']).describe('role in the newest stream'),
    state: z.string().nullable(),
    operation_status: z.string().nullable(),
    verdict: z.enum(verdicts),
    reason: z.string(),
    nodes_live: z.number().int().nullable(),
    nodes_total: z.number().int().nullable(),
    sql_dns: z.string().nullable(),
    last_checked_at: nullableTime
  })
  .meta({ id: 'Cluster' })

export const StreamBody = z
  .object({
    id: z.string(),
    status: z.enum(streamStatuses),
    primary_cluster_id: z.string(),
    standby_cluster_id: z.string(),
    created_at: z.string(),
    replicated_time: z.string().nullable(),
    retained_time: z.string().nullable(),
    replication_lag_seconds: z.number().nullable(),
    activated_at: z.string().nullable(),
    failover_at: z.string().nullable().describe('a scheduled failover: the time it fails over to')
  })
  .meta({ id: 'Stream' })

export const FailoverBody = z
  .object({
    stream_id: z.string(),
    trigger: z.enum(['auto', 'manual', 'adopted']),
    requested_by: z.string(),
    started_at: z.string(),
    failover_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    timed_out: z.boolean()
  })
  .meta({ id: 'Failover' })

export const CoordinationBody = z
  .object({
    sidecar_id: z.string(),
    role: z.enum(['leader', 'follower', 'none']).describe('none: no leader is known (etcd unreachable or an election under way)'),
    connected: z.boolean().describe('etcd answered within the last lease TTL'),
    leader_id: z.string().nullable(),
    leader_url: z.string().nullable().describe("the leader's SIDECAR_URL, where admin requests go"),
    source: z.enum(['cloud_api', 'leader_view']).describe("where this sidecar's checks read the Cloud API's answers from"),
    view_age_seconds: z.number().nullable().describe("age of the leader's view (followers)"),
    view_stale: z.boolean().describe('older than COORDINATION_STALE_AFTER, or none received: this sidecar reads the Cloud API itself')
  })
  .meta({ id: 'Coordination' })

export const PgbouncerBody = z
  .object({
    database: z.string().describe('the alias PgBouncer sends applications through'),
    state: z
      .enum(poolerStates)
      .describe('paused: PgBouncer holds queries (PAUSE) around a switch, at most PGBOUNCER_MAX_PAUSE; pausing and resuming: asked, not yet confirmed by PgBouncer'),
    reason: z.string().nullable().describe('why it holds, while it does'),
    since: nullableTime.describe('when the hold was asked for')
  })
  .meta({ id: 'Pgbouncer' })

export const FenceBody = z
  .object({
    cluster_id: z.string().describe('the cluster applications are kept away from: /connection, /active and its /clusters/{id}/active answer 503'),
    operation_id: z.string().describe('the switchover that raised it'),
    since: z.iso.datetime()
  })
  .meta({ id: 'Fence' })

export const ClustersBody = z
  .object({
    active_cluster_id: z.string().nullable(),
    watched_cluster_id: z.string(),
    failover_target_id: z.string().nullable(),
    phase: z.enum(phases),
    consecutive_failures: z.number().int(),
    failure_threshold: z.number().int(),
    delay_ends_at: nullableTime,
    blocked_reason: z.string().nullable(),
    paused: z.boolean(),
    auto_failover: z.boolean(),
    last_check_at: nullableTime,
    last_healthy_at: nullableTime,
    estimated_data_loss_seconds: z.number().nullable().describe('the upper bound of data_loss_seconds'),
    data_loss_seconds: DataLossBody,
    stale: StaleBody,
    clusters: z.array(ClusterBody),
    stream: StreamBody.nullable(),
    failover: FailoverBody.nullable(),
    coordination: CoordinationBody.optional().describe('present with COORDINATION=etcd'),
    pgbouncer: PgbouncerBody.nullable().describe('null when the sidecar does not follow a PgBouncer'),
    fence: FenceBody.nullable().describe('a planned switchover holding writes off the active cluster')
  })
  .meta({ id: 'Clusters' })

export const EventsQuery = z.object({
  limit: z.coerce
    .number<string>({ error: 'limit must be a whole number from 1 to 500' })
    .int('limit must be a whole number from 1 to 500')
    .min(1, 'limit must be a whole number from 1 to 500')
    .max(500, 'limit must be a whole number from 1 to 500')
    .default(50)
})

export const EventBody = z
  .object({
    id: z.number().int(),
    at: z.string(),
    type: z.string(),
    severity: z.enum(['info', 'warn', 'error']),
    message: z.string(),
    data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  })
  .meta({ id: 'Event' })

export const EventsBody = z.object({ events: z.array(EventBody) }).meta({ id: 'Events' })

export const FailoverRequestBody = z
  .strictObject({
    failover_at: z.iso
      .datetime({ offset: true, error: 'failover_at must be an RFC 3339 timestamp' })
      .optional()
      .describe('fail over to this point in time instead of the latest consistent time'),
    allow_data_loss: z.boolean().default(false).describe('override the MAX_DATA_LOSS_SECONDS guard'),
    dry_run: z.boolean().default(false).describe('say what would happen; patch nothing')
  })
  .default({ allow_data_loss: false, dry_run: false })

export const FailoverPlanBody = z
  .object({
    stream_id: z.string(),
    from_cluster_id: z.string(),
    to_cluster_id: z.string(),
    failover_at: z.string().nullable(),
    estimated_data_loss_seconds: z.number().nullable(),
    data_loss_seconds: DataLossBody
  })
  .meta({ id: 'FailoverPlan' })

export const FailoverAcceptedBody = z
  .object({
    outcome: z.enum(['started', 'adopted', 'dry_run']),
    plan: FailoverPlanBody,
    stream: StreamBody.optional(),
    operation_id: z.string().optional().describe('follow it at GET /admin/operations/{id}')
  })
  .meta({ id: 'FailoverAccepted' })

export const OperationBody = z
  .object({
    id: z.string(),
    kind: z.enum(['failover', 'failback', 'switchover']),
    requested_by: z.string(),
    status: z.enum(['running', 'succeeded', 'failed']),
    phase: z.string(),
    progress: z.string(),
    stream_id: z.string().nullable(),
    started_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
    error: z.string().nullable(),
    steps: z
      .array(
        z.object({
          phase: z.string(),
          progress: z.string().describe('the last progress reported in this phase'),
          started_at: z.string(),
          duration_ms: z.number().nullable().describe('null while the phase runs')
        })
      )
      .describe('every phase the operation went through, in order, with how long each took')
  })
  .meta({ id: 'Operation' })

export const OperationParams = z.object({ id: z.string().max(100) })

const maxLag = z.number().positive().max(86_400).default(60).describe('failback may start once the lag is at most this (seconds)')

export const FailbackRequestBody = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('create-stream').describe('create the reverse stream: promoted standby → original primary (the original primary is wiped and re-seeded)') }),
  z.strictObject({ action: z.literal('status'), max_lag_seconds: maxLag }),
  z.strictObject({
    action: z.literal('initiate'),
    failover_at: z.iso.datetime({ offset: true, error: 'failover_at must be an RFC 3339 timestamp' }).optional(),
    allow_data_loss: z.boolean().default(false)
  }),
  z.strictObject({
    action: z.literal('full'),
    max_lag_seconds: maxLag,
    timeout_seconds: z
      .number()
      .positive()
      .max(7 * 86_400)
      .optional()
      .describe("how long to wait for the reverse stream to replicate within the lag limit: STARTING, an initial scan that re-seeds the original primary in full (hours for a large database), catching up; default the sidecar's FAILBACK_TIMEOUT")
  })
])

export const StreamCreatedBody = z.object({ stream: StreamBody }).meta({ id: 'StreamCreated' })

export const FailbackStatusBody = z
  .object({
    stream: StreamBody.nullable(),
    active_cluster_id: z.string().nullable(),
    ready: z.boolean().describe('the failback stream is REPLICATING with a lag within the limit'),
    reason: z.string()
  })
  .meta({ id: 'FailbackStatus' })

export const FailbackAcceptedBody = z.object({ operation: OperationBody }).meta({ id: 'FailbackAccepted' })

export const SwitchoverRequestBody = z
  .strictObject({
    timeout_seconds: z
      .number()
      .positive()
      .max(3600)
      .optional()
      .describe("bounds PgBouncer's PAUSE and the wait for replicated_time to pass the fence; when it runs out the fence is lowered and the primary serves again; default the sidecar's SWITCHOVER_TIMEOUT"),
    unfenced: z
      .boolean()
      .default(false)
      .describe('go on without PgBouncer to hold writes: only /connection, /active and /clusters/{id}/active are fenced, and applications already connected to the primary may write after the failover point (lost)')
  })
  .default({ unfenced: false })

export const SwitchoverAcceptedBody = z.object({ operation: OperationBody }).meta({ id: 'SwitchoverAccepted' })

const names = z.array(z.string().min(1).max(200)).max(100)

export const SimulateRequestBody = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('disrupt'),
    confirm: z.string().max(100).optional().describe('the id of the cluster to disrupt, repeated: a stray request cannot take a cluster down'),
    cluster_id: z.string().max(100).optional().describe('default: the watched (primary) cluster'),
    region_code: z.string().max(100).optional().describe("default: the cluster's region"),
    pods: names.optional(),
    azs: names.optional()
  }),
  z.strictObject({ action: z.literal('restore'), cluster_id: z.string().max(100).optional() }),
  z.strictObject({ action: z.literal('status') })
])

export const DisruptionBody = z
  .object({
    cluster_id: z.string(),
    regional_disruptor_specifications: z.array(
      z.object({
        region_code: z.string(),
        is_whole_region: z.boolean(),
        pods: z.array(z.string()).optional(),
        azs: z.array(z.string()).optional()
      })
    )
  })
  .meta({ id: 'Disruption' })

export const SimulateBody = z.object({ clusters: z.array(DisruptionBody) }).meta({ id: 'Simulate' })

export const PauseBody = z
  .object({
    paused: z.boolean(),
    changed: z.boolean().describe('false when it was already so')
  })
  .meta({ id: 'Pause' })

export const EventsStreamHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^\d{1,15}$/, 'Last-Event-ID must be an event id (a whole number)')
    .optional()
    .describe('sent by EventSource when it reconnects: the events after this one are replayed')
})

export const EventsStreamBody = z
  .string()
  .describe(
    'Server-Sent Events. `event: status`: the GET /clusters answer, first and after every change; `event: engine` (with `id:` = the event id): each event as GET /events gives it, oldest first; `event: reset`: forget the events received so far (a first connection, or one that cannot continue where it left off), followed by the latest 50. Comment lines keep the connection open.'
  )
