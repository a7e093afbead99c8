import { accessSync, constants, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { z } from 'zod'

// How one variable's value is read. Durations are seconds and accept fractions so
// tests and demos can run a whole timeline in seconds. Every message is written
// here, none quotes the input: a secret's value is never echoed.

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const sslModes = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export const coordinationModes = ['local', 'etcd'] as const

export const text = (what: string) => z.string({ error: `is required (${what})` }).trim().min(1, `is required (${what})`)

export const optionalText = z.string().trim().min(1).optional()

export const uuid = (what: string) => text(what).pipe(z.guid({ error: 'must be a cluster UUID (8-4-4-4-12 hexadecimal digits)' }))

export const flag = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'must be true or false' }))
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v))
    .prefault(fallback ? 'true' : 'false')

export const secondsValue = (allowZero: boolean) => {
  const problem = allowZero ? 'must be a number of seconds, 0 or more' : 'must be a number of seconds greater than 0'
  return z
    .string()
    .trim()
    .pipe(
      z.coerce
        .number<string>({ error: problem })
        .refine((v) => Number.isFinite(v) && (allowZero ? v >= 0 : v > 0), problem)
    )
}

export const seconds = (fallback: number, allowZero = false) => secondsValue(allowZero).prefault(String(fallback))

export const integer = (fallback: number, min: number, max: number, what: string) =>
  z
    .string()
    .trim()
    .pipe(
      z.coerce
        .number<string>({ error: `must be ${what}` })
        .refine((v) => Number.isInteger(v) && v >= min && v <= max, `must be ${what}`)
    )
    .prefault(String(fallback))

export const port = (fallback: number) => integer(fallback, 0, 65535, 'a TCP port (0 to 65535)')

// A URL parser keeps a `%` that starts no escape, but the clients decode the
// credentials (and pg the database) later, and throw: refuse it here, by name.
function decodes(v: string, parts: ReadonlyArray<'username' | 'password' | 'pathname'>): boolean {
  if (!URL.canParse(v)) return true
  const url = new URL(v)
  try {
    for (const part of parts) decodeURIComponent(url[part])
    return true
  } catch {
    return false
  }
}
const strayPercent = 'has a % that starts no escape (write a literal % as %25)'

export const httpUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL')
  .refine((v) => decodes(v, ['username', 'password']), strayPercent)
  .transform((v) => v.replace(/\/+$/, ''))

export const postgresUrl = z
  .string()
  .trim()
  .refine(
    (v) => URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol),
    'must be a postgresql:// connection string'
  )
  .refine((v) => decodes(v, ['username', 'password', 'pathname']), strayPercent)
  .optional()

// A SQL host, optionally with a port (`host:26257`, `[::1]:26257`): CockroachDB
// Cloud always serves 26257, but a tunnel or a local stand-in may not.
export const sqlAddress = z
  .string()
  .trim()
  .min(1)
  .transform((v, ctx) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+)(?::(\d{1,5}))?$/.exec(v)
    const port = m?.[2] === undefined ? undefined : Number(m[2])
    if (m === null || (port !== undefined && (port < 1 || port > 65535))) {
      ctx.addIssue({ code: 'custom', message: 'must be a host name or address, optionally followed by :port' })
      return z.NEVER
    }
    return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port }
  })
  .optional()

// Read when the server starts, so a missing or unreadable file stops it there.
export const readableFile = optionalText.pipe(
  z
    .string()
    .refine((path) => {
      try {
        accessSync(path, constants.R_OK)
        return statSync(path).isFile()
      } catch {
        return false
      }
    }, 'must be a readable file')
    .optional()
)

// Events that hooks can be told about: a change of the active cluster and each
// step of a failover. Hook outcomes are not in the list, so a hook never feeds itself.
export const hookableEvents = [
  'active_cluster_changed',
  'threshold_reached',
  'failover_requested',
  'failover_blocked',
  'failover_patched',
  'failover_adopted',
  'failover_refused',
  'failover_failed',
  'failover_timeout',
  'failover_completed',
  'activation_waiting',
  'activation_timeout'
] as const
export type HookableEvent = (typeof hookableEvents)[number]

export const hookEvents = z
  .string()
  .trim()
  .transform((v) => [...new Set(v.split(',').map((e) => e.trim().toLowerCase()).filter((e) => e !== ''))])
  .pipe(
    z
      .array(z.enum(hookableEvents, { error: `must be a comma-separated list of ${hookableEvents.join(', ')}` }))
      .min(1, 'must name at least one event')
  )
  .prefault(hookableEvents.join(','))

// Environment variable names, comma-separated, none of `refused`.
export const variableNames = (refused: readonly string[]) =>
  z
    .string()
    .trim()
    .transform((v) => [...new Set(v.split(',').map((name) => name.trim()).filter((name) => name !== ''))])
    .pipe(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a comma-separated list of environment variable names')))
    .refine((names) => !names.some((name) => refused.includes(name)), `must not name the sidecar's own secrets (${refused.join(', ')})`)
    .prefault('')

// Whom to believe about a client's address (Fastify's trustProxy): nobody, the last n
// proxies, or proxies at these addresses. Never everyone: a client could then name
// any address it likes in X-Forwarded-For, and escape the admin lockout.
const proxyNames = ['loopback', 'linklocal', 'uniquelocal']
function isProxyAddress(v: string): boolean {
  if (proxyNames.includes(v)) return true
  const [ip = '', prefix, ...rest] = v.split('/')
  const family = isIP(ip)
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}
export const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): false | number | string[] => {
    if (/^(false|off|no|0)$/i.test(v)) return false
    if (/^\d+$/.test(v)) return Number(v)
    const list = v.split(',').map((a) => a.trim()).filter((a) => a !== '')
    if (list.length > 0 && list.every(isProxyAddress)) return list
    ctx.addIssue({
      code: 'custom',
      message: 'must be a number of proxy hops, or a comma-separated list of proxy addresses (IPs, CIDR ranges, loopback, linklocal, uniquelocal)'
    })
    return z.NEVER
  })
  .prefault('false')

// PgBouncer reads unquoted keys only, and "pgbouncer" is its admin console.
export const pgbouncerAlias = /^(?!pgbouncer$)[A-Za-z0-9_.-]+$/

// An RFC 3339 time. One without an offset, as the Python tool took it
// (2026-01-02T15:04:05), is UTC: it is sent to the API as such, with a Z.
export const timestampProblem =
  'must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z, or one without an offset (2026-01-02T15:04:05), taken as UTC'

export const hasOffset = (v: string) => /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(v)

export const utcTimestamp = z
  .string()
  .trim()
  .pipe(z.iso.datetime({ offset: true, local: true, error: timestampProblem }))
  .transform((v) => (hasOffset(v) ? v : `${/T\d{2}:\d{2}$/.test(v) ? `${v}:00` : v}Z`))

// etcd members, comma-separated: http(s)://host:port each.
export const etcdEndpoints = optionalText.pipe(
  z
    .string()
    .transform((v) => v.split(',').map((e) => e.trim()).filter((e) => e !== ''))
    .pipe(z.array(httpUrl, { error: 'must be a comma-separated list of http(s) URLs' }).min(1, 'must name at least one etcd member'))
    .optional()
)
