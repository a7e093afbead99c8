import { z } from 'zod'
import { DEFAULT_API_KEY, defaultClusterSeeds, type ClusterSeed, type StreamSeed, type Timings } from './seed.js'
import type { EmulatorOptions } from './server.js'

// The emulator as its own process (npm run emulator), configured by the
// environment.

export interface StandaloneConfig {
  host: string
  port: number
  options: EmulatorOptions & { apiKey: string; clusters: ClusterSeed[]; stream: StreamSeed }
}

const seconds = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a number of seconds')
  .transform(Number)
  .optional()

const Env = z.object({
  EMULATOR_HOST: z.string().default('127.0.0.1'),
  EMULATOR_PORT: z
    .string()
    .regex(/^\d+$/, 'must be a port number')
    .transform(Number)
    .pipe(z.number().max(65535, 'must be a port number'))
    .default(8090),
  EMULATOR_API_KEY: z.string().default(DEFAULT_API_KEY),
  // A second key, holding only CLUSTER_DEVELOPER: it reads clusters, nodes and streams, and changes nothing.
  EMULATOR_READONLY_API_KEY: z.string().optional(),
  // The status of a rate-limit refusal, which the real API does not document.
  EMULATOR_RATE_LIMIT_STATUS: z.enum(['429', '503']).transform((status) => Number(status) as 429 | 503).optional(),
  EMULATOR_STARTING_SECONDS: seconds,
  EMULATOR_FAILOVER_SECONDS: seconds,
  EMULATOR_LAG_SECONDS: seconds,
  EMULATOR_INITIAL_SCAN_SECONDS: seconds,
  EMULATOR_STEP_SECONDS: seconds,
  EMULATOR_CATCH_UP_RATE: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be seconds of data per second')
    .transform(Number)
    .optional(),
  EMULATOR_STALL_CANCEL_SECONDS: seconds,
  EMULATOR_PRIMARY_ID: z.string().optional(),
  EMULATOR_STANDBY_ID: z.string().optional(),
  EMULATOR_PRIMARY_SQL_DNS: z.string().optional(),
  EMULATOR_STANDBY_SQL_DNS: z.string().optional(),
  EMULATOR_STREAM: z.enum(['replicating', 'starting', 'none']).default('replicating')
})

/** The role of EMULATOR_READONLY_API_KEY: it may read clusters, nodes and streams, and change nothing. */
export const READONLY_ROLE = 'CLUSTER_DEVELOPER'

/** Drops the entries left undefined, so they do not hide the defaults. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>
}

/** Reads the EMULATOR_* variables; an empty variable counts as unset. Throws one line per problem. */
export function parseEmulatorEnv(env: Record<string, string | undefined>): StandaloneConfig {
  const set = Object.fromEntries(Object.entries(env).filter(([name, value]) => name.startsWith('EMULATOR_') && value))
  const result = Env.safeParse(set)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new Error(`invalid emulator environment:\n${problems.join('\n')}`)
  }
  const vars = result.data
  const timings: Partial<Timings> = defined({
    startingSeconds: vars.EMULATOR_STARTING_SECONDS,
    failoverSeconds: vars.EMULATOR_FAILOVER_SECONDS,
    lagSeconds: vars.EMULATOR_LAG_SECONDS,
    initialScanSeconds: vars.EMULATOR_INITIAL_SCAN_SECONDS,
    replicationStepSeconds: vars.EMULATOR_STEP_SECONDS,
    catchUpRate: vars.EMULATOR_CATCH_UP_RATE,
    stallCancelSeconds: vars.EMULATOR_STALL_CANCEL_SECONDS
  })
  const clusters = defaultClusterSeeds({
    primary: defined({ id: vars.EMULATOR_PRIMARY_ID, sqlDns: vars.EMULATOR_PRIMARY_SQL_DNS }),
    standby: defined({ id: vars.EMULATOR_STANDBY_ID, sqlDns: vars.EMULATOR_STANDBY_SQL_DNS })
  })
  return {
    host: vars.EMULATOR_HOST,
    port: vars.EMULATOR_PORT,
    options: {
      apiKey: vars.EMULATOR_API_KEY,
      ...(vars.EMULATOR_READONLY_API_KEY !== undefined && {
        apiKeys: [{ key: vars.EMULATOR_READONLY_API_KEY, roles: [READONLY_ROLE] }]
      }),
      ...(vars.EMULATOR_RATE_LIMIT_STATUS !== undefined && {
        rateLimit: { perSecond: 10, status: vars.EMULATOR_RATE_LIMIT_STATUS }
      }),
      timings,
      clusters,
      stream: vars.EMULATOR_STREAM
    }
  }
}

/** What the standalone emulator prints once listening. The key itself is shown only when it is the default. */
export function banner(url: string, config: StandaloneConfig): string {
  const { apiKey, apiKeys, clusters, stream } = config.options
  const key = apiKey === DEFAULT_API_KEY ? apiKey : '<the key in EMULATOR_API_KEY>'
  return [
    `Cloud API emulator listening on ${url}`,
    `  API:     ${url}/api/v1  (Authorization: Bearer ${key})`,
    ...(apiKeys === undefined ? [] : [`  read-only: Bearer <the key in EMULATOR_READONLY_API_KEY> (${READONLY_ROLE})`]),
    `  control: ${url}/_emulator/state`,
    ...clusters.map((c, i) => `  ${i === 0 ? 'primary' : 'standby'}: ${c.id}  ${c.name} in ${c.region}`),
    `  stream:  ${stream}`
  ].join('\n')
}
