import { Command, CommanderError } from 'commander'
import { systemClock } from '../engine/engine.js'
import { createContext, type Context } from './context.js'
import { EXIT, exitCodeOf, messageOf } from './errors.js'
import type { CliIo } from './io.js'
import { positiveSeconds } from './parse.js'
import { registerConnection } from './verbs/connection.js'
import { registerDebug } from './verbs/debug.js'
import { registerDrill } from './verbs/drill.js'
import { registerFailback } from './verbs/failback.js'
import { registerSwitchover } from './verbs/switchover.js'
import { registerFailover } from './verbs/failover.js'
import { registerMonitor } from './verbs/monitor.js'
import { registerService } from './verbs/service.js'
import { registerSettings } from './verbs/settings.js'
import { registerSetup } from './verbs/setup.js'
import { registerSimulate } from './verbs/simulate.js'
import { registerStatus } from './verbs/status.js'
import { registerTest } from './verbs/test.js'

// `pcr`: the operator CLI. The same verbs as the Python tool, plus `drill`.

export type RunOptions = Omit<CliIo, 'clock'> & Partial<Pick<CliIo, 'clock'>>

const verbs: Array<(program: Command, ctx: Context) => void> = [
  registerStatus,
  registerConnection,
  registerMonitor,
  registerService,
  registerFailover,
  registerFailback,
  registerSwitchover,
  registerSimulate,
  registerSetup,
  registerTest,
  registerSettings,
  registerDebug,
  registerDrill
]

function program(ctx: Context): Command {
  const { io } = ctx
  const pcr = new Command('pcr')
    .description('Operate a CockroachDB PCR pair: status, failover, failback, drills. Configuration: the service\'s environment and .env.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      // One line: commander's suggestion joins its message.
      outputError: (text, write) => write(`pcr: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`)
    })
    .option('--url <url>', 'drive a running sidecar at this URL instead of the Cloud API (or PCR_URL); a sidecar with READ_TOKEN set needs it in PCR_READ_TOKEN for status')
    .option('--token <token>', "the sidecar's admin token; it shows in ps and shell history: prefer --token-file or PCR_ADMIN_TOKEN")
    .option('--token-file <path>', 'a file holding the admin token (a trailing newline is ignored); without either option: PCR_ADMIN_TOKEN, then ADMIN_TOKEN, then ADMIN_TOKEN_FILE')
    .option('--poll-interval <seconds>', 'how often progress is polled (default: min(HEALTH_CHECK_INTERVAL, 5), remote 1)', positiveSeconds)
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 operation failed or refused, 2 bad usage or configuration, 3 Cloud API, sidecar or SQL unreachable, 130 interrupted.'
    )
  for (const register of verbs) register(pcr, ctx)
  return pcr
}

/** Runs one command line and resolves with its exit code; never rejects, never exits the process. */
export async function runCli(argv: readonly string[], options: RunOptions): Promise<number> {
  const ctx = createContext({ ...options, clock: options.clock ?? systemClock })
  try {
    await program(ctx).parseAsync([...argv], { from: 'user' })
    return ctx.exitCode
  } catch (err) {
    // Commander has already said what was wrong with the command line.
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' ? EXIT.ok : EXIT.usage
    ctx.out.note(`pcr: ${messageOf(err)}`)
    return exitCodeOf(err)
  }
}
