import type { Command } from 'commander'
import type { StreamCreatedJson } from '../backend.js'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { streamText } from '../format.js'
import { confirm } from '../io.js'
import { positiveSeconds } from '../parse.js'
import { failbackWaitSeconds } from '../budgets.js'

type StreamJson = StreamCreatedJson['stream']

// Where a new stream is on its way to protecting the primary.
function stage(s: StreamJson): string {
  if (s.status !== 'REPLICATING') return `stream ${s.id} is ${s.status}`
  if (s.replicated_time === null) return `stream ${s.id} is REPLICATING, initial scan (a full copy onto ${s.standby_cluster_id}; no replicated_time yet)`
  return `stream ${s.id} is REPLICATING, replicated to ${s.replicated_time}`
}

export function registerSetup(program: Command, ctx: Context): void {
  program
    .command('setup')
    .description('create the PCR stream primary → standby (refused while a stream is live or the standby is active)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--wait', 'wait until the stream protects the primary: REPLICATING, its initial scan (a full re-seed of the standby, hours for a large database) done')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default: FAILBACK_TIMEOUT, 6 h)', positiveSeconds)
    .option('--json', 'print the created stream as JSON')
    .action(
      ctx.action(async (opts: { yes?: boolean; wait?: boolean; timeout?: number; json?: boolean }, command: Command) => {
        await confirm(ctx.io, {
          yes: opts.yes === true,
          action: 'create the stream',
          warning: 'The standby is wiped and re-seeded from the primary.',
          expected: 'yes'
        })
        return ctx.withBackend(command, {}, async (backend) => {
          const print = opts.json === true ? ctx.out.note : ctx.out.line
          const created = await backend.setup()
          if (opts.json === true) ctx.out.json(created)
          else ctx.out.line(`stream created: ${streamText(created.stream)}`)
          if (opts.wait !== true) return EXIT.ok
          const timeout = failbackWaitSeconds(ctx, command, opts.timeout)
          const deadline = ctx.io.clock.now() + timeout * 1000
          let stream = created.stream
          let shown = stage(stream)
          while (stream.status !== 'REPLICATING' || stream.replicated_time === null) {
            if (stream.status !== 'STARTING' && stream.status !== 'REPLICATING') throw new CliError(EXIT.failed, `${shown}: it will not replicate`)
            if (ctx.io.clock.now() > deadline) throw new CliError(EXIT.failed, `${shown} after ${timeout} s`)
            await ctx.sleep(backend.pollMs)
            // The stream just created is the newest one.
            stream = (await backend.refresh()).stream as StreamJson
            const now = stage(stream)
            if (now.replace(/, replicated to .*/, '') !== shown.replace(/, replicated to .*/, '')) print(now)
            shown = now
          }
          return EXIT.ok
        })
      })
    )
}
