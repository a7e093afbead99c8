import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { loadConfig, readEnv, type Config, type LoadedConfig } from '../config/index.js'
import type { Backend } from './backend.js'
import { createLogger, secretsOf } from '../logger.js'
import { createMetrics, serveMetrics, type Metrics } from '../plugins/metrics.js'
import { readSecretFile } from '../secret-file.js'
import { hostPort } from '../sql/host-port.js'
import { openDirect } from './direct.js'
import { CliError, EXIT } from './errors.js'
import { createOutput, interruptible, sleep, type CliIo, type Output } from './io.js'
import { openRemote } from './remote.js'

// What every verb shares: the streams, the configuration (read once), and the
// backend chosen by the global options.

export interface GlobalOptions {
  url?: string
  token?: string
  tokenFile?: string
  pollInterval?: number
}

export interface OpenOptions {
  // Run the check loop: needed to follow a failover in direct mode.
  start?: boolean
  // Direct mode only: the engine fails over on its own as AUTO_FAILOVER says (monitor,
  // drill); for every other verb it acts only when told to.
  acting?: boolean
  // Direct mode only: PgBouncer and the hooks follow this engine even though it does not
  // fail over on its own (a switchover fences writes with PgBouncer).
  traffic?: boolean
  // Direct mode only: with ENABLE_PROMETHEUS, serve /metrics on PROMETHEUS_PORT
  // while the verb runs, as the Python tool's monitor did (pcr monitor).
  metrics?: boolean
}

export interface Context {
  io: CliIo
  out: Output
  // The exit code of the verb that ran.
  exitCode: number
  action<A extends unknown[]>(run: (...args: A) => Promise<number>): (...args: A) => Promise<void>
  // The service's configuration from the environment and .env; warnings once, on stderr.
  config(): Config
  // The environment merged with .env, for the few settings read outside the configuration.
  env(): Record<string, string | undefined>
  remoteUrl(command: Command): string | undefined
  withBackend<T>(command: Command, options: OpenOptions, work: (backend: Backend) => Promise<T>): Promise<T>
  sleep(ms: number): Promise<void>
}

export function createContext(io: CliIo): Context {
  const out = createOutput(io)
  let loaded: LoadedConfig | undefined
  const requestedBy = `pcr CLI (${io.env.USER ?? 'unknown user'})`

  const env = () => readEnv(io.env, join(io.cwd, '.env'))

  function config(): Config {
    if (loaded === undefined) {
      loaded = loadConfig(io.env, io.cwd)
      for (const warning of loaded.warnings) out.note(`pcr: warning: ${warning}`)
    }
    return loaded.config
  }

  function remoteUrl(command: Command): string | undefined {
    const url = command.optsWithGlobals<GlobalOptions>().url ?? env().PCR_URL
    if (url !== undefined && !(URL.canParse(url) && /^https?:$/.test(new URL(url).protocol))) {
      throw new CliError(EXIT.usage, `--url/PCR_URL must be the sidecar's http(s) URL, not ${JSON.stringify(url)}`)
    }
    return url
  }

  // A token kept in a file (read as the service reads its secret files); `what` names where the path came from.
  function tokenIn(path: string, what: string): string {
    let token: string
    try {
      token = readSecretFile(resolve(io.cwd, path))
    } catch (err) {
      throw new CliError(EXIT.usage, `${what} ${path}: cannot be read (${(err as NodeJS.ErrnoException).code})`)
    }
    if (token === '') throw new CliError(EXIT.usage, `${what} ${path}: is empty`)
    return token
  }

  // The token from the first of --token-file, --token, PCR_ADMIN_TOKEN, ADMIN_TOKEN and
  // ADMIN_TOKEN_FILE (the sidecar's own, in its container).
  function adminToken(globals: GlobalOptions, vars: Record<string, string | undefined>): string | undefined {
    const { token, tokenFile } = globals
    if (tokenFile !== undefined) {
      if (token !== undefined) throw new CliError(EXIT.usage, '--token and --token-file exclude each other')
      return tokenIn(tokenFile, '--token-file')
    }
    const given = token ?? vars.PCR_ADMIN_TOKEN ?? vars.ADMIN_TOKEN
    const file = vars.ADMIN_TOKEN_FILE
    return given !== undefined || file === undefined ? given : tokenIn(file, 'ADMIN_TOKEN_FILE')
  }

  async function open(command: Command, options: OpenOptions): Promise<{ backend: Backend; metrics?: Metrics }> {
    const globals = command.optsWithGlobals<GlobalOptions>()
    const pollMs = globals.pollInterval === undefined ? undefined : globals.pollInterval * 1000
    const url = remoteUrl(command)
    if (url !== undefined) {
      // The environment and .env, read once for both tokens.
      const vars = env()
      return { backend: openRemote({ url, token: adminToken(globals, vars), readToken: vars.PCR_READ_TOKEN, pollMs: pollMs ?? 1000, sleep: (ms) => sleep(io, ms) }) }
    }
    const c = config()
    const metrics = options.metrics === true && c.server.enablePrometheus ? createMetrics() : undefined
    const backend = await openDirect({
      config: c,
      clock: io.clock,
      start: options.start ?? false,
      autoFailover: options.acting === true && c.timeline.autoFailover,
      // A failover this process makes moves traffic as the service's would.
      traffic:
        options.acting === true || options.traffic === true
          ? createLogger({ level: c.server.logLevel, secrets: secretsOf(c) }, { write: (line: string) => io.stderr.write(line) })
          : undefined,
      metrics,
      pollMs: pollMs ?? Math.min(c.timeline.intervalSeconds, 5) * 1000,
      requestedBy
    })
    return { backend, metrics }
  }

  // The metrics port, open until the verb ends; a port that cannot be had stops the verb.
  async function listen(metrics: Metrics): Promise<{ close(): Promise<void> }> {
    const c = config()
    try {
      const listener = await serveMetrics(metrics.registry, c.server.prometheusPort, c.server.host)
      out.note(`pcr monitor: Prometheus metrics on http://${hostPort(c.server.host, listener.port)}/metrics (ENABLE_PROMETHEUS)`)
      return listener
    } catch (err) {
      throw new CliError(EXIT.usage, `PROMETHEUS_PORT ${c.server.prometheusPort}: cannot serve metrics on ${hostPort(c.server.host, c.server.prometheusPort)}: ${(err as Error).message}`)
    }
  }

  const context: Context = {
    io,
    out,
    exitCode: EXIT.ok,
    action: (run) => async (...args) => {
      context.exitCode = await run(...args)
    },
    config,
    env,
    remoteUrl,
    async withBackend(command, options, work) {
      const { backend, metrics } = await open(command, options)
      // In direct mode a check may wait a whole interval: a stop signal does not.
      const interruptibleNext = { ...backend, next: () => interruptible(io.signal, backend.next()) }
      try {
        const scrapes = metrics === undefined ? undefined : await listen(metrics)
        try {
          return await work(interruptibleNext)
        } finally {
          await scrapes?.close()
        }
      } finally {
        await backend.close()
      }
    },
    sleep: (ms) => sleep(io, ms)
  }
  return context
}
