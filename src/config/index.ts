import { existsSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { z } from 'zod'
import { API_RATE_LIMIT, DEFAULT_RATE_LIMIT } from '../cloud/rate-budget.js'
import { steadyRequestsPerSecond } from '../engine/request-rate.js'
import { evidenceModes, type EvidenceMode } from '../engine/verdict.js'
import {
  coordinationModes,
  etcdEndpoints,
  flag,
  hasOffset,
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
  utcTimestamp,
  uuid,
  type HookableEvent
} from './fields.js'

export { hookableEvents, timestampProblem, utcTimestamp, type HookableEvent } from './fields.js'

// A failback re-seeds the original primary in full (the reverse stream's initial scan):
// hours for a large database, so its wait is bounded in hours.
export const DEFAULT_FAILBACK_TIMEOUT_SECONDS = 6 * 3600

// The environment schema. Names and defaults of the Python tool are kept as they
// were; the variables it never had are added after them.
const EnvSchema = z
  .object({
    COCKROACH_API_SECRET_KEY: text('the CockroachDB Cloud service account API key'),
    PRIMARY_CLUSTER_ID: uuid('the primary cluster UUID'),
    STANDBY_CLUSTER_ID: uuid('the standby cluster UUID'),
    PCR_STREAM_ID: optionalText.pipe(z.guid({ error: 'must be a stream UUID' }).optional()),
    HEALTH_CHECK_INTERVAL: seconds(30),
    HEALTH_CHECK_TIMEOUT: seconds(10),
    FAILURE_THRESHOLD: integer(3, 1, 1000, 'a whole number from 1 to 1000'),
    FAILOVER_DELAY: seconds(60, true),
    FAILOVER_TO_LATEST: flag(true),
    FAILOVER_AT_TIMESTAMP: utcTimestamp.optional(),
    PRIMARY_CLUSTER_ENDPOINT: postgresUrl,
    PRIMARY_SQL_DNS: sqlAddress,
    STANDBY_SQL_DNS: sqlAddress,
    ENABLE_PROMETHEUS: flag(false),
    PROMETHEUS_PORT: port(8000),
    COCKROACH_API_URL: httpUrl.prefault('https://cockroachlabs.cloud'),
    PORT: port(8080),
    HOST: text('the address to listen on').prefault('0.0.0.0'),
    LOG_LEVEL: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }))
      .prefault('info'),
    ADMIN_TOKEN: z.string().trim().min(16, 'must be at least 16 characters long').optional(),
    ADMIN_MAX_FAILURES: integer(5, 1, 1000, 'a whole number from 1 to 1000'),
    ADMIN_FAILURE_WINDOW: seconds(60),
    ADMIN_LOCKOUT: seconds(60),
    TLS_CERT_FILE: readableFile,
    TLS_KEY_FILE: readableFile,
    AUTO_FAILOVER: flag(true),
    MAX_DATA_LOSS_SECONDS: secondsValue(false).optional(),
    FAILOVER_TIMEOUT: seconds(900),
    ACTIVATION_TIMEOUT: seconds(60),
    FAILBACK_TIMEOUT: seconds(DEFAULT_FAILBACK_TIMEOUT_SECONDS),
    FAILBACK_PROGRESS_INTERVAL: seconds(300),
    STANDBY_CLUSTER_ENDPOINT: postgresUrl,
    UNHEALTHY_EVIDENCE: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(evidenceModes, { error: `must be one of ${evidenceModes.join(', ')}` }))
      .prefault('both'),
    DATABASE_NAME: text('the database applications connect to').prefault('defaultdb'),
    DB_SSLMODE: z
      .string()
      .trim()
      .pipe(z.enum(sslModes, { error: `must be one of ${sslModes.join(', ')}` }))
      .prefault('verify-full'),
    WEBHOOK_URL: httpUrl.optional(),
    WEBHOOK_TIMEOUT: seconds(5),
    WEBHOOK_RETRIES: integer(5, 0, 100, 'a whole number from 0 to 100'),
    WEBHOOK_RETRY_BACKOFF: seconds(1),
    ON_FAILOVER_COMMAND: optionalText,
    ON_FAILOVER_COMMAND_TIMEOUT: seconds(30),
    HOOK_EVENTS: hookEvents,
    PGBOUNCER_DATABASES_FILE: optionalText,
    PGBOUNCER_ADMIN_URL: postgresUrl,
    PGBOUNCER_DATABASE: optionalText.pipe(
      z.string().regex(pgbouncerAlias, 'must be a database alias of letters, digits, _ . and - (not "pgbouncer")').optional()
    ),
    PGBOUNCER_DATABASE_OPTIONS: optionalText.pipe(
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
    ),
    COORDINATION: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(coordinationModes, { error: `must be one of ${coordinationModes.join(', ')}` }))
      .prefault('local'),
    ETCD_ENDPOINTS: etcdEndpoints,
    ETCD_PREFIX: z
      .string()
      .trim()
      .regex(/^\/[A-Za-z0-9_.\-/]*$/, 'must be a key prefix starting with / (letters, digits, _ . - and /)')
      .transform((v) => (v.endsWith('/') ? v : `${v}/`))
      .prefault('/pcr-sidecar/'),
    SIDECAR_ID: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1 to 128 letters, digits, _ . or -')
      .prefault(hostname()),
    SIDECAR_URL: httpUrl.optional(),
    ETCD_USERNAME: optionalText,
    ETCD_PASSWORD: optionalText,
    ETCD_CA_FILE: readableFile,
    ETCD_CERT_FILE: readableFile,
    ETCD_KEY_FILE: readableFile,
    ETCD_LEASE_TTL: integer(10, 1, 3600, 'a whole number of seconds from 1 to 3600'),
    QUORUM: z
      .string()
      .trim()
      .toLowerCase()
      .refine((v) => v === 'majority' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1000), 'must be majority or a whole number from 1 to 1000')
      .transform((v): number | 'majority' => (v === 'majority' ? v : Number(v)))
      .prefault('majority'),
    COORDINATION_STALE_AFTER: secondsValue(false).optional(),
    // Created at run time, so it need not exist when the process starts.
    STATE_FILE: optionalText,
    STATE_MAX_AGE: seconds(3600),
    CLOUD_API_RATE_LIMIT: z
      .string()
      .trim()
      .pipe(
        z.coerce
          .number<string>({ error: 'must be a number of requests a second greater than 0' })
          .refine((v) => Number.isFinite(v) && v > 0, 'must be a number of requests a second greater than 0')
      )
      .prefault(String(DEFAULT_RATE_LIMIT))
  })
  // Cross-variable rules run even when another variable is invalid, so every
  // problem is reported at once; each rule looks only at values that parsed.
  .superRefine(
    (env, ctx) => {
      const primary = env.PRIMARY_CLUSTER_ID
      const standby = env.STANDBY_CLUSTER_ID
      if (typeof primary === 'string' && typeof standby === 'string' && primary.toLowerCase() === standby.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['STANDBY_CLUSTER_ID'], message: 'must differ from PRIMARY_CLUSTER_ID' })
      }
      if (env.FAILOVER_TO_LATEST === false && env.FAILOVER_AT_TIMESTAMP === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['FAILOVER_AT_TIMESTAMP'],
          message: 'is required when FAILOVER_TO_LATEST is false'
        })
      }
      const alias = env.PGBOUNCER_DATABASE ?? env.DATABASE_NAME
      if (env.PGBOUNCER_DATABASES_FILE !== undefined && typeof alias === 'string' && !pgbouncerAlias.test(alias)) {
        ctx.addIssue({
          code: 'custom',
          path: ['PGBOUNCER_DATABASE'],
          message: 'is required when DATABASE_NAME is not a valid PgBouncer alias (letters, digits, _ . and -, not "pgbouncer")'
        })
      }
      const pgbouncer = [env.PGBOUNCER_DATABASES_FILE, env.PGBOUNCER_ADMIN_URL]
      if (pgbouncer.filter((v) => v !== undefined).length === 1) {
        ctx.addIssue({
          code: 'custom',
          path: [env.PGBOUNCER_DATABASES_FILE === undefined ? 'PGBOUNCER_DATABASES_FILE' : 'PGBOUNCER_ADMIN_URL'],
          message: 'is required when the other PGBOUNCER_ setting is given (the file is useless without a RELOAD)'
        })
      }
      if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [env.TLS_CERT_FILE === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE'],
          message: 'is required when the other TLS_ setting is given (HTTPS needs both the certificate and its key)'
        })
      }
      if (env.COORDINATION === 'etcd' && env.ETCD_ENDPOINTS === undefined) {
        ctx.addIssue({ code: 'custom', path: ['ETCD_ENDPOINTS'], message: 'is required when COORDINATION is etcd' })
      }
      for (const [a, b, why] of [
        ['ETCD_USERNAME', 'ETCD_PASSWORD', 'etcd authentication needs both'],
        ['ETCD_CERT_FILE', 'ETCD_KEY_FILE', 'a client certificate needs its key']
      ] as const) {
        if ((env[a] === undefined) !== (env[b] === undefined)) {
          ctx.addIssue({ code: 'custom', path: [env[a] === undefined ? a : b], message: `is required when ${env[a] === undefined ? b : a} is given (${why})` })
        }
      }
      const ports = [env.PORT, env.PROMETHEUS_PORT]
      if (env.ENABLE_PROMETHEUS === true && ports.every((p) => typeof p === 'number') && ports[0] !== 0 && ports[0] === ports[1]) {
        ctx.addIssue({ code: 'custom', path: ['PROMETHEUS_PORT'], message: 'must differ from PORT' })
      }
    },
    { when: () => true }
  )

// Every variable the sidecar reads, for the tests that try them all.
export const variableNames = Object.keys(EnvSchema.shape)

export type LogLevel = (typeof logLevels)[number]
export type SslMode = (typeof sslModes)[number]

export interface Config {
  apiKey: string
  apiUrl: string
  primaryClusterId: string
  standbyClusterId: string
  streamId?: string
  healthCheckIntervalSeconds: number
  healthCheckTimeoutSeconds: number
  failureThreshold: number
  failoverDelaySeconds: number
  failoverToLatest: boolean
  failoverAtTimestamp?: string
  primaryClusterEndpoint?: string
  standbyClusterEndpoint?: string
  primarySqlDns?: string
  primarySqlPort?: number
  standbySqlDns?: string
  standbySqlPort?: number
  enablePrometheus: boolean
  prometheusPort: number
  port: number
  host: string
  logLevel: LogLevel
  adminToken?: string
  adminMaxFailures: number
  adminFailureWindowSeconds: number
  adminLockoutSeconds: number
  tls?: TlsConfig
  autoFailover: boolean
  maxDataLossSeconds?: number
  failoverTimeoutSeconds: number
  // After COMPLETED, how long applications wait for the new primary's SQL probe to answer.
  activationTimeoutSeconds: number
  // How long a full failback waits for the reverse stream to start, scan and catch up.
  failbackTimeoutSeconds: number
  // How often a failback waiting for its stream reports progress (each new stage at once).
  failbackProgressIntervalSeconds: number
  databaseName: string
  dbSslmode: SslMode
  unhealthyEvidence: EvidenceMode
  webhookUrl?: string
  webhookTimeoutSeconds: number
  webhookRetries: number
  webhookRetryBackoffSeconds: number
  onFailoverCommand?: string
  onFailoverCommandTimeoutSeconds: number
  hookEvents: HookableEvent[]
  pgbouncer?: PgbouncerConfig
  // Present when COORDINATION=etcd: the sidecars watching this pair elect one to decide.
  etcd?: EtcdConfig
  // Where the last known active cluster and this process's failover request are kept across restarts.
  stateFile?: string
  // How old that active cluster may be and still be served while the Cloud API is unreadable.
  stateMaxAgeSeconds: number
  cloudApiRateLimit: number
}

export interface EtcdConfig {
  endpoints: string[]
  prefix: string
  sidecarId: string
  // Where this sidecar's API is reached, told to callers sent to the leader.
  sidecarUrl?: string
  leaseTtlSeconds: number
  quorum: number | 'majority'
  // How old the leader's view may be before a follower reads the Cloud API itself.
  staleAfterSeconds: number
  username?: string
  password?: string
  caFile?: string
  certFile?: string
  keyFile?: string
}

// PEM files; the server answers HTTPS only when both are set.
export interface TlsConfig {
  certFile: string
  keyFile: string
}

export interface PgbouncerConfig {
  databasesFile: string
  adminUrl: string
  database: string
  options?: string
}

export interface LoadedConfig {
  config: Config
  // Settings that are valid but probably not what the operator meant.
  warnings: string[]
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

// An empty value (`KEY=` in a .env file) means "unset", as it did for the Python tool.
function withoutEmpty(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''))
}

// Values from the process environment win over the .env file.
export function readEnv(env: Env, dotenvPath?: string): Env {
  const fromFile = dotenvPath !== undefined && existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) : {}
  return { ...withoutEmpty(fromFile), ...withoutEmpty(env) }
}

export function parseConfig(env: Env): LoadedConfig {
  const result = EnvSchema.safeParse(withoutEmpty(env))
  if (!result.success) {
    // Every message is written here, none comes from the input: a secret's value is never echoed.
    const problems = result.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`)
    throw new ConfigError([...new Set(problems)])
  }
  const e = result.data
  const warnings: string[] = []
  if (e.FAILOVER_TO_LATEST && e.FAILOVER_AT_TIMESTAMP !== undefined) {
    warnings.push('FAILOVER_AT_TIMESTAMP is ignored because FAILOVER_TO_LATEST is true')
  }
  const at = env.FAILOVER_AT_TIMESTAMP?.trim()
  if (!e.FAILOVER_TO_LATEST && at !== undefined && !hasOffset(at)) {
    warnings.push(`FAILOVER_AT_TIMESTAMP ${at} has no UTC offset: taken as UTC (${e.FAILOVER_AT_TIMESTAMP})`)
  }
  warnings.push(...rateWarnings(e.HEALTH_CHECK_INTERVAL, e.CLOUD_API_RATE_LIMIT))
  if (e.HEALTH_CHECK_TIMEOUT >= e.HEALTH_CHECK_INTERVAL) {
    warnings.push('HEALTH_CHECK_TIMEOUT is not shorter than HEALTH_CHECK_INTERVAL: checks will run back to back')
  }
  return {
    warnings,
    config: {
      apiKey: e.COCKROACH_API_SECRET_KEY,
      apiUrl: e.COCKROACH_API_URL,
      primaryClusterId: e.PRIMARY_CLUSTER_ID,
      standbyClusterId: e.STANDBY_CLUSTER_ID,
      streamId: e.PCR_STREAM_ID,
      healthCheckIntervalSeconds: e.HEALTH_CHECK_INTERVAL,
      healthCheckTimeoutSeconds: e.HEALTH_CHECK_TIMEOUT,
      failureThreshold: e.FAILURE_THRESHOLD,
      failoverDelaySeconds: e.FAILOVER_DELAY,
      failoverToLatest: e.FAILOVER_TO_LATEST,
      failoverAtTimestamp: e.FAILOVER_AT_TIMESTAMP,
      primaryClusterEndpoint: e.PRIMARY_CLUSTER_ENDPOINT,
      standbyClusterEndpoint: e.STANDBY_CLUSTER_ENDPOINT,
      primarySqlDns: e.PRIMARY_SQL_DNS?.host,
      primarySqlPort: e.PRIMARY_SQL_DNS?.port,
      standbySqlDns: e.STANDBY_SQL_DNS?.host,
      standbySqlPort: e.STANDBY_SQL_DNS?.port,
      enablePrometheus: e.ENABLE_PROMETHEUS,
      prometheusPort: e.PROMETHEUS_PORT,
      port: e.PORT,
      host: e.HOST,
      logLevel: e.LOG_LEVEL,
      adminToken: e.ADMIN_TOKEN,
      adminMaxFailures: e.ADMIN_MAX_FAILURES,
      adminFailureWindowSeconds: e.ADMIN_FAILURE_WINDOW,
      adminLockoutSeconds: e.ADMIN_LOCKOUT,
      tls: e.TLS_CERT_FILE === undefined || e.TLS_KEY_FILE === undefined ? undefined : { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE },
      autoFailover: e.AUTO_FAILOVER,
      maxDataLossSeconds: e.MAX_DATA_LOSS_SECONDS,
      failoverTimeoutSeconds: e.FAILOVER_TIMEOUT,
      activationTimeoutSeconds: e.ACTIVATION_TIMEOUT,
      failbackTimeoutSeconds: e.FAILBACK_TIMEOUT,
      failbackProgressIntervalSeconds: e.FAILBACK_PROGRESS_INTERVAL,
      databaseName: e.DATABASE_NAME,
      dbSslmode: e.DB_SSLMODE,
      unhealthyEvidence: e.UNHEALTHY_EVIDENCE,
      webhookUrl: e.WEBHOOK_URL,
      webhookTimeoutSeconds: e.WEBHOOK_TIMEOUT,
      webhookRetries: e.WEBHOOK_RETRIES,
      webhookRetryBackoffSeconds: e.WEBHOOK_RETRY_BACKOFF,
      onFailoverCommand: e.ON_FAILOVER_COMMAND,
      onFailoverCommandTimeoutSeconds: e.ON_FAILOVER_COMMAND_TIMEOUT,
      hookEvents: e.HOOK_EVENTS,
      pgbouncer:
        e.PGBOUNCER_DATABASES_FILE === undefined || e.PGBOUNCER_ADMIN_URL === undefined
          ? undefined
          : {
              databasesFile: e.PGBOUNCER_DATABASES_FILE,
              adminUrl: e.PGBOUNCER_ADMIN_URL,
              database: e.PGBOUNCER_DATABASE ?? e.DATABASE_NAME,
              options: e.PGBOUNCER_DATABASE_OPTIONS
            },
      etcd:
        e.COORDINATION !== 'etcd' || e.ETCD_ENDPOINTS === undefined
          ? undefined
          : {
              endpoints: e.ETCD_ENDPOINTS,
              prefix: e.ETCD_PREFIX,
              sidecarId: e.SIDECAR_ID,
              sidecarUrl: e.SIDECAR_URL,
              leaseTtlSeconds: e.ETCD_LEASE_TTL,
              quorum: e.QUORUM,
              staleAfterSeconds: e.COORDINATION_STALE_AFTER ?? Math.max(3 * e.HEALTH_CHECK_INTERVAL, 2 * e.ETCD_LEASE_TTL),
              username: e.ETCD_USERNAME,
              password: e.ETCD_PASSWORD,
              caFile: e.ETCD_CA_FILE,
              certFile: e.ETCD_CERT_FILE,
              keyFile: e.ETCD_KEY_FILE
            },
      stateFile: e.STATE_FILE,
      stateMaxAgeSeconds: e.STATE_MAX_AGE,
      cloudApiRateLimit: e.CLOUD_API_RATE_LIMIT
    }
  }
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): LoadedConfig {
  return parseConfig(readEnv(env, join(cwd, '.env')))
}

// The API allows 10 requests a second per key, shared by every sidecar and operator using
// it: a monitor that needs half of its own budget leaves too little for a failover.
function rateWarnings(intervalSeconds: number, limit: number): string[] {
  const warnings: string[] = []
  if (limit > API_RATE_LIMIT) {
    warnings.push(`CLOUD_API_RATE_LIMIT=${limit} is above the Cloud API's ${API_RATE_LIMIT} requests a second per key: expect refusals, which are waited out`)
  }
  const steady = steadyRequestsPerSecond(intervalSeconds)
  if (steady > limit / 2) {
    warnings.push(
      `the monitor alone sends about ${steady.toFixed(2)} Cloud API requests a second at HEALTH_CHECK_INTERVAL=${intervalSeconds}, ` +
        `more than half of CLOUD_API_RATE_LIMIT=${limit}: failovers, failbacks and other sidecars sharing the key will wait for slots`
    )
  }
  return warnings
}
