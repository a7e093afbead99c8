import { hostname } from 'node:os'
import { z } from 'zod'
import { DEFAULT_RATE_LIMIT } from '../cloud/rate-budget.js'
import { evidenceModes } from '../engine/verdict.js'
import {
  coordinationModes,
  etcdEndpoints,
  flag,
  hookEvents,
  httpUrl,
  integer,
  logLevels,
  optionalText,
  pgbouncerAlias,
  port,
  postgresUrl,
  readableFile,
  seconds,
  secondsValue,
  sqlAddress,
  sslModes,
  text,
  trustProxy,
  utcTimestamp,
  uuid,
  variableNames
} from './fields.js'

// Every variable the sidecar reads, each declared once: its name, how its value is
// read, and the section and field it becomes. The section types are derived from
// these declarations. Names and defaults of the Python tool are kept as they were and
// come first, in their order, which is also the order problems are reported in.

interface Variable<S extends string, F extends string, T extends z.ZodType> {
  section: S
  field: F
  schema: T
}

const into =
  <S extends string>(section: S) =>
  <F extends string, T extends z.ZodType>(field: F, schema: T): Variable<S, F, T> => ({ section, field, schema })

const pair = into('pair')
const timeline = into('timeline')
const sql = into('sql')
const server = into('server')
const admin = into('admin')
const tls = into('tls')
const hooks = into('hooks')
const pgbouncer = into('pgbouncer')
const coordination = into('coordination')
const proxy = into('proxy')

// A failback re-seeds the original primary in full (the reverse stream's initial scan):
// hours for a large database, so its wait is bounded in hours.
export const DEFAULT_FAILBACK_TIMEOUT_SECONDS = 6 * 3600
// replicated_time moves in steps of about 30 s behind a lag of tens of seconds.
export const DEFAULT_SWITCHOVER_TIMEOUT_SECONDS = 90

// The variables that hold the sidecar's credentials: a hook command never gets them.
export const secretVariables = [
  'COCKROACH_API_SECRET_KEY',
  'ADMIN_TOKEN',
  'READ_TOKEN',
  'ETCD_PASSWORD',
  'PGBOUNCER_ADMIN_URL',
  'WEBHOOK_URL',
  'PRIMARY_CLUSTER_ENDPOINT',
  'STANDBY_CLUSTER_ENDPOINT'
]

export const variables = {
  COCKROACH_API_SECRET_KEY: pair('apiKey', text('the CockroachDB Cloud service account API key')),
  // Where the key came from, when from a file (index.ts reads it): watched, so a rotated key is used at once.
  COCKROACH_API_SECRET_KEY_FILE: pair('apiKeyFile', optionalText),
  PRIMARY_CLUSTER_ID: pair('primaryClusterId', uuid('the primary cluster UUID')),
  STANDBY_CLUSTER_ID: pair('standbyClusterId', uuid('the standby cluster UUID')),
  PCR_STREAM_ID: pair('streamId', optionalText.pipe(z.guid({ error: 'must be a stream UUID' }).optional())),
  HEALTH_CHECK_INTERVAL: timeline('intervalSeconds', seconds(30)),
  // After a failed check, until a healthy one or a failover; HEALTH_CHECK_INTERVAL unless given.
  SUSPECT_CHECK_INTERVAL: timeline('suspectIntervalSeconds', secondsValue(false).optional()),
  HEALTH_CHECK_TIMEOUT: timeline('checkTimeoutSeconds', seconds(10)),
  FAILURE_THRESHOLD: timeline('failureThreshold', integer(3, 1, 1000, 'a whole number from 1 to 1000')),
  FAILOVER_DELAY: timeline('failoverDelaySeconds', seconds(60, true)),
  FAILOVER_TO_LATEST: timeline('failoverToLatest', flag(true)),
  FAILOVER_AT_TIMESTAMP: timeline('failoverAtTimestamp', utcTimestamp.optional()),
  PRIMARY_CLUSTER_ENDPOINT: sql('primaryEndpoint', postgresUrl),
  PRIMARY_SQL_DNS: sql('primaryAddress', sqlAddress),
  STANDBY_SQL_DNS: sql('standbyAddress', sqlAddress),
  ENABLE_PROMETHEUS: server('enablePrometheus', flag(false)),
  PROMETHEUS_PORT: server('prometheusPort', port(8000)),
  COCKROACH_API_URL: pair('apiUrl', httpUrl.prefault('https://cockroachlabs.cloud')),
  PORT: server('port', port(8080)),
  HOST: server('host', text('the address to listen on').prefault('0.0.0.0')),
  TRUST_PROXY: server('trustProxy', trustProxy),
  LOG_LEVEL: server(
    'logLevel',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }))
      .prefault('info')
  ),
  ADMIN_TOKEN: admin('token', z.string().trim().min(16, 'must be at least 16 characters long').optional()),
  ADMIN_TOKEN_FILE: admin('tokenFile', optionalText),
  READ_TOKEN: admin('readToken', z.string().trim().min(16, 'must be at least 16 characters long').optional()),
  READ_TOKEN_FILE: admin('readTokenFile', optionalText),
  ADMIN_MAX_FAILURES: admin('maxFailures', integer(5, 1, 1000, 'a whole number from 1 to 1000')),
  ADMIN_FAILURE_WINDOW: admin('failureWindowSeconds', seconds(60)),
  ADMIN_LOCKOUT: admin('lockoutSeconds', seconds(60)),
  TLS_CERT_FILE: tls('certFile', readableFile),
  TLS_KEY_FILE: tls('keyFile', readableFile),
  AUTO_FAILOVER: timeline('autoFailover', flag(true)),
  MAX_DATA_LOSS_SECONDS: timeline('maxDataLossSeconds', secondsValue(false).optional()),
  FAILOVER_TIMEOUT: timeline('failoverTimeoutSeconds', seconds(900)),
  // After COMPLETED, how long applications wait for the new primary's SQL probe to answer.
  ACTIVATION_TIMEOUT: timeline('activationTimeoutSeconds', seconds(60)),
  // How long a full failback waits for the reverse stream to start, scan and catch up.
  FAILBACK_TIMEOUT: timeline('failbackTimeoutSeconds', seconds(DEFAULT_FAILBACK_TIMEOUT_SECONDS)),
  // How often a failback waiting for its stream reports progress (each new stage at once).
  FAILBACK_PROGRESS_INTERVAL: timeline('failbackProgressIntervalSeconds', seconds(300)),
  // A planned switchover's wait for replicated_time to pass the fence, then it unfences and gives up.
  SWITCHOVER_TIMEOUT: timeline('switchoverTimeoutSeconds', seconds(DEFAULT_SWITCHOVER_TIMEOUT_SECONDS)),
  // After the fence, before the fence time is noted: for HAProxy and applications that re-read /connection to leave the primary.
  SWITCHOVER_DRAIN: timeline('switchoverDrainSeconds', seconds(0, true)),
  STANDBY_CLUSTER_ENDPOINT: sql('standbyEndpoint', postgresUrl),
  UNHEALTHY_EVIDENCE: timeline(
    'unhealthyEvidence',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(evidenceModes, { error: `must be one of ${evidenceModes.join(', ')}` }))
      .prefault('both')
  ),
  DATABASE_NAME: sql('databaseName', text('the database applications connect to').prefault('defaultdb')),
  DB_SSLMODE: sql(
    'sslmode',
    z
      .string()
      .trim()
      .pipe(z.enum(sslModes, { error: `must be one of ${sslModes.join(', ')}` }))
      .prefault('verify-full')
  ),
  WEBHOOK_URL: hooks('webhookUrl', httpUrl.optional()),
  WEBHOOK_URL_FILE: hooks('webhookUrlFile', optionalText),
  WEBHOOK_TIMEOUT: hooks('webhookTimeoutSeconds', seconds(5)),
  WEBHOOK_RETRIES: hooks('webhookRetries', integer(5, 0, 100, 'a whole number from 0 to 100')),
  WEBHOOK_RETRY_BACKOFF: hooks('webhookRetryBackoffSeconds', seconds(1)),
  ON_FAILOVER_COMMAND: hooks('command', optionalText),
  ON_FAILOVER_COMMAND_TIMEOUT: hooks('commandTimeoutSeconds', seconds(30)),
  HOOK_ENV_PASSTHROUGH: hooks('envPassthrough', variableNames(secretVariables)),
  HOOK_EVENTS: hooks('events', hookEvents),
  PGBOUNCER_DATABASES_FILE: pgbouncer('databasesFile', optionalText),
  PGBOUNCER_ADMIN_URL: pgbouncer('adminUrl', postgresUrl),
  PGBOUNCER_DATABASE: pgbouncer(
    'database',
    optionalText.pipe(
      z.string().regex(pgbouncerAlias, 'must be a database alias of letters, digits, _ . and - (not "pgbouncer")').optional()
    )
  ),
  // The longest PgBouncer holds queries around a switch (below its query_wait_timeout, 120 s by default); 0: it never does.
  PGBOUNCER_MAX_PAUSE: pgbouncer('maxPauseSeconds', seconds(100, true)),
  PGBOUNCER_DATABASE_OPTIONS: pgbouncer(
    'options',
    optionalText.pipe(
      z
        .string()
        .regex(
          /^([a-z_]+=[A-Za-z0-9_.\-]+)( [a-z_]+=[A-Za-z0-9_.\-]+)*$/,
          'must be space-separated key=value pairs such as "pool_size=20 pool_mode=transaction"'
        )
        // The sidecar owns where the alias points, and the file is world-readable.
        .refine(
          (v) => !/(^| )(host|port|dbname|password)=/.test(v),
          'must not set host, port, dbname or password (the sidecar sets where the alias points; the file is world-readable)'
        )
        .optional()
    )
  ),
  COORDINATION: coordination(
    'mode',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(coordinationModes, { error: `must be one of ${coordinationModes.join(', ')}` }))
      .prefault('local')
  ),
  ETCD_ENDPOINTS: coordination('endpoints', etcdEndpoints),
  ETCD_PREFIX: coordination(
    'prefix',
    z
      .string()
      .trim()
      .regex(/^\/[A-Za-z0-9_.\-/]*$/, 'must be a key prefix starting with / (letters, digits, _ . - and /)')
      .transform((v) => (v.endsWith('/') ? v : `${v}/`))
      .prefault('/pcr-sidecar/')
  ),
  SIDECAR_ID: coordination(
    'sidecarId',
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1 to 128 letters, digits, _ . or -')
      .prefault(hostname())
  ),
  // Where this sidecar's API is reached, told to callers sent to the leader.
  SIDECAR_URL: coordination('sidecarUrl', httpUrl.optional()),
  ETCD_USERNAME: coordination('username', optionalText),
  ETCD_PASSWORD: coordination('password', optionalText),
  ETCD_PASSWORD_FILE: coordination('passwordFile', optionalText),
  ETCD_CA_FILE: coordination('caFile', readableFile),
  ETCD_CERT_FILE: coordination('certFile', readableFile),
  ETCD_KEY_FILE: coordination('keyFile', readableFile),
  ETCD_LEASE_TTL: coordination('leaseTtlSeconds', integer(10, 1, 3600, 'a whole number of seconds from 1 to 3600')),
  QUORUM: coordination(
    'quorum',
    z
      .string()
      .trim()
      .toLowerCase()
      .refine((v) => v === 'majority' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1000), 'must be majority or a whole number from 1 to 1000')
      .transform((v): number | 'majority' => (v === 'majority' ? v : Number(v)))
      .prefault('majority')
  ),
  // How old the leader's view may be before a follower reads the Cloud API itself.
  COORDINATION_STALE_AFTER: coordination('staleAfterSeconds', secondsValue(false).optional()),
  // Where the last known active cluster and this process's failover request are kept
  // across restarts. Created at run time, so it need not exist when the process starts.
  STATE_FILE: timeline('stateFile', optionalText),
  // How old that active cluster may be and still be served while the Cloud API is unreadable.
  STATE_MAX_AGE: timeline('stateMaxAgeSeconds', seconds(3600)),
  CLOUD_API_RATE_LIMIT: pair(
    'apiRateLimit',
    z
      .string()
      .trim()
      .pipe(
        z.coerce
          .number<string>({ error: 'must be a number of requests a second greater than 0' })
          .refine((v) => Number.isFinite(v) && v > 0, 'must be a number of requests a second greater than 0')
      )
      .prefault(String(DEFAULT_RATE_LIMIT))
  ),
  // Outbound HTTP (the Cloud API, the webhook) through an egress proxy, read as curl reads
  // them; the lowercase names are read too.
  HTTPS_PROXY: proxy('httpsProxy', httpUrl.optional()),
  HTTP_PROXY: proxy('httpProxy', httpUrl.optional()),
  NO_PROXY: proxy('noProxy', optionalText)
}

type Variables = typeof variables

export const envShape = Object.fromEntries(Object.entries(variables).map(([name, v]) => [name, v.schema])) as {
  [N in keyof Variables]: Variables[N]['schema']
}

type SectionName = Variables[keyof Variables]['section']

// A section as its variables declare it: a field unset in the environment is optional.
type Declared<S extends SectionName> = z.output<
  z.ZodObject<{
    [N in keyof Variables as Variables[N]['section'] extends S ? Variables[N]['field'] : never]: Variables[N]['schema']
  }>
>

type DeclaredSections = { [S in SectionName]: Declared<S> }

// The sections built from several variables, each a transform of its declared section.
const derived = {
  // PRIMARY_SQL_DNS and STANDBY_SQL_DNS, each a host and an optional port.
  sql: ({ primaryAddress, standbyAddress, ...fields }: Declared<'sql'>) => ({
    ...fields,
    primaryDns: primaryAddress?.host,
    primaryPort: primaryAddress?.port,
    standbyDns: standbyAddress?.host,
    standbyPort: standbyAddress?.port
  }),
  // PEM files; the server answers HTTPS only when both are set.
  tls: ({ certFile, keyFile }: Declared<'tls'>) => (certFile === undefined || keyFile === undefined ? undefined : { certFile, keyFile }),
  // PgBouncer is followed only with both its file and its admin console.
  pgbouncer: (fields: Declared<'pgbouncer'>, databaseName: string) => {
    const { databasesFile, adminUrl, database } = fields
    return databasesFile === undefined || adminUrl === undefined ? undefined : { ...fields, databasesFile, adminUrl, database: database ?? databaseName }
  },
  // With etcd, the sidecars watching this pair elect one to decide.
  coordination: ({ mode, endpoints, staleAfterSeconds, ...etcd }: Declared<'coordination'>, intervalSeconds: number) => ({
    mode,
    etcd:
      mode !== 'etcd' || endpoints === undefined
        ? undefined
        : { endpoints, ...etcd, staleAfterSeconds: staleAfterSeconds ?? Math.max(3 * intervalSeconds, 2 * etcd.leaseTtlSeconds) }
  })
}

function configOf(declared: DeclaredSections) {
  const { timeline } = declared
  return {
    ...declared,
    timeline: { ...timeline, suspectIntervalSeconds: timeline.suspectIntervalSeconds ?? timeline.intervalSeconds },
    sql: derived.sql(declared.sql),
    tls: derived.tls(declared.tls),
    pgbouncer: derived.pgbouncer(declared.pgbouncer, declared.sql.databaseName),
    coordination: derived.coordination(declared.coordination, declared.timeline.intervalSeconds)
  }
}

// An interface, so that types and errors name it rather than spell it out.
export interface Config extends ReturnType<typeof configOf> {}

// Groups the parsed environment by section, then derives the sections built from several variables.
export function sectionsOf(env: Record<string, unknown>): Config {
  const declared: Record<string, Record<string, unknown>> = {}
  for (const [name, { section, field }] of Object.entries(variables)) (declared[section] ??= {})[field] = env[name]
  return configOf(declared as DeclaredSections)
}
