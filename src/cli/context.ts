import { join } from 'node:path'
import type { Command } from 'commander'
import { loadConfig, readEnv, type Config, type LoadedConfig } from '../config.js'
import type { Backend } from './backend.js'
import { createLogger, secretsOf } from '../logger.js'
import { openDirect } from './direct.js'
import { CliError, EXIT } from './errors.js'
import { createOutput, interruptible, sleep, type CliIo, type Output } from './io.js'
import { openRemote } from './remote.js'

// What every verb shares: the streams, the configuration (read once), and the
// backend chosen by the global options.

export interface GlobalOptions {
  url?: string
  token?: string
  pollInterval?: number
}

export interface OpenOptions {
  // Run the check loop: needed to follow a failover in direct mode.
  start?: boolean
  // Direct mode only: the engine fails over on its own as AUTO_FAILOVER says (monitor,
  // drill); for every other verb it acts only when told to.
  acting?: boolean
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

  function open(command: Command, options: OpenOptions): Backend {
    const globals = command.optsWithGlobals<GlobalOptions>()
    const pollMs = globals.pollInterval === undefined ? undefined : globals.pollInterval * 1000
    const url = remoteUrl(command)
    if (url !== undefined) {
      return openRemote({ url, token: globals.token ?? env().ADMIN_TOKEN, pollMs: pollMs ?? 1000, sleep: (ms) => sleep(io, ms) })
    }
    const c = config()
    return openDirect({
      config: c,
      clock: io.clock,
      start: options.start ?? false,
      autoFailover: options.acting === true && c.autoFailover,
      // A failover this process makes moves traffic as the service's would.
      traffic:
        options.acting === true
          ? createLogger({ level: c.logLevel, secrets: secretsOf(c) }, { write: (line: string) => io.stderr.write(line) })
          : undefined,
      pollMs: pollMs ?? Math.min(c.healthCheckIntervalSeconds, 5) * 1000,
      requestedBy
    })
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
      const backend = open(command, options)
      // In direct mode a check may wait a whole interval: a stop signal does not.
      const interruptibleNext = { ...backend, next: () => interruptible(io.signal, backend.next()) }
      try {
        return await work(interruptibleNext)
      } finally {
        await backend.close()
      }
    },
    sleep: (ms) => sleep(io, ms)
  }
  return context
}
