import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { z } from 'zod'
import { API_RATE_LIMIT } from '../cloud/rate-budget.js'
import { steadyRequestsPerSecond } from '../engine/request-rate.js'
import { readSecretFile } from '../secret-file.js'
import { hasOffset, pgbouncerAlias } from './fields.js'
import { envShape, sectionsOf, type Config } from './sections.js'

export { hookableEvents, timestampProblem, utcTimestamp, type HookableEvent } from './fields.js'
export { DEFAULT_FAILBACK_TIMEOUT_SECONDS, DEFAULT_SWITCHOVER_TIMEOUT_SECONDS, type Config } from './sections.js'

const EnvSchema = z
  .object(envShape)
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
      if (typeof env.SUSPECT_CHECK_INTERVAL === 'number' && typeof env.HEALTH_CHECK_INTERVAL === 'number' && env.SUSPECT_CHECK_INTERVAL > env.HEALTH_CHECK_INTERVAL) {
        ctx.addIssue({ code: 'custom', path: ['SUSPECT_CHECK_INTERVAL'], message: 'must not be longer than HEALTH_CHECK_INTERVAL (it shortens the interval after a failed check)' })
      }
      const maxPause = env.PGBOUNCER_MAX_PAUSE
      if (env.PGBOUNCER_DATABASES_FILE !== undefined && typeof maxPause === 'number' && maxPause > 0 && typeof env.SWITCHOVER_TIMEOUT === 'number' && env.SWITCHOVER_TIMEOUT >= maxPause) {
        ctx.addIssue({ code: 'custom', path: ['SWITCHOVER_TIMEOUT'], message: 'must be shorter than PGBOUNCER_MAX_PAUSE (a switchover gives up, and resumes PgBouncer on the primary, before the pause would expire)' })
      }
      if (typeof env.SWITCHOVER_DRAIN === 'number' && typeof env.SWITCHOVER_TIMEOUT === 'number' && env.SWITCHOVER_TIMEOUT > 0 && env.SWITCHOVER_DRAIN >= env.SWITCHOVER_TIMEOUT) {
        ctx.addIssue({ code: 'custom', path: ['SWITCHOVER_DRAIN'], message: 'must be shorter than SWITCHOVER_TIMEOUT (the drain is part of the time a switchover may take before it gives up)' })
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

export type LogLevel = Config['server']['logLevel']
export type SslMode = Config['sql']['sslmode']
export type EtcdConfig = NonNullable<Config['coordination']['etcd']>
export type PgbouncerConfig = NonNullable<Config['pgbouncer']>

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

// The proxy variables are as often written in lowercase (curl reads only http_proxy so).
function withProxyAliases(env: Env): Env {
  const aliased = { ...env }
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) aliased[name] ??= env[name.toLowerCase()]
  return aliased
}

// Docker and Kubernetes hand secrets over as mounted files: NAME_FILE is the path of a
// file that holds NAME's value (a trailing newline is not part of it).
export const secretFileVariables = ['COCKROACH_API_SECRET_KEY', 'ADMIN_TOKEN', 'READ_TOKEN', 'ETCD_PASSWORD', 'WEBHOOK_URL'] as const

function withSecretFiles(env: Env): { env: Env; problems: Map<string, string> } {
  const read = { ...env }
  const problems = new Map<string, string>()
  for (const name of secretFileVariables) {
    const path = env[`${name}_FILE`]
    if (path === undefined) continue
    if (env[name] !== undefined) {
      problems.set(name, `${name}_FILE: ${name} is set as well; give one of them`)
      continue
    }
    try {
      read[name] = readSecretFile(path)
    } catch (err) {
      problems.set(name, `${name}_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code})`)
    }
  }
  return { env: read, problems }
}

export function parseConfig(env: Env): LoadedConfig {
  const files = withSecretFiles(withoutEmpty(withProxyAliases(env)))
  const result = EnvSchema.safeParse(withoutEmpty(files.env))
  if (!result.success || files.problems.size > 0) {
    // Every message is written here, none comes from the input: a secret's value is never echoed.
    // A variable whose file could not be read is reported once, for its file.
    const issues = result.success ? [] : result.error.issues.filter((issue) => !files.problems.has(String(issue.path[0])))
    const problems = [...files.problems.values(), ...issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`)]
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
  warnings.push(...rateWarnings(e.HEALTH_CHECK_INTERVAL, e.SUSPECT_CHECK_INTERVAL, e.CLOUD_API_RATE_LIMIT))
  if (e.HEALTH_CHECK_TIMEOUT >= e.HEALTH_CHECK_INTERVAL) {
    warnings.push('HEALTH_CHECK_TIMEOUT is not shorter than HEALTH_CHECK_INTERVAL: checks will run back to back')
  }
  return { warnings, config: sectionsOf(e) }
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): LoadedConfig {
  return parseConfig(readEnv(env, join(cwd, '.env')))
}

// The API allows 10 requests a second per key, shared by every sidecar and operator using
// it: a monitor that needs half of its own budget leaves too little for a failover.
function rateWarnings(intervalSeconds: number, suspectIntervalSeconds: number | undefined, limit: number): string[] {
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
  // After a failed check the monitor reads faster, just when a failover needs its slots.
  const suspect = suspectIntervalSeconds === undefined ? undefined : steadyRequestsPerSecond(suspectIntervalSeconds)
  if (suspect !== undefined && suspect > limit / 2 && steady <= limit / 2) {
    warnings.push(
      `after a failed check the monitor sends about ${suspect.toFixed(2)} Cloud API requests a second at SUSPECT_CHECK_INTERVAL=${suspectIntervalSeconds}, ` +
        `more than half of CLOUD_API_RATE_LIMIT=${limit}: the failover it leads to will wait for slots`
    )
  }
  return warnings
}
