import type { Command } from 'commander'
import type { StreamCreatedJson } from '../backend.js'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { streamText } from '../format.js'
import { confirm } from '../io.js'
import { positiveSeconds } from '../parse.js'

export function registerSetup(program: Command, ctx: Context): void {
  program
    .command('setup')
    .description('create the PCR stream primary → standby (refused while a stream is live or the standby is active)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--wait', 'wait until the stream is REPLICATING')
    .option('--timeout <seconds>', 'with --wait: give up after this long', positiveSeconds, 3600)
    .option('--json', 'print the created stream as JSON')
    .action(
      ctx.action(async (opts: { yes?: boolean; wait?: boolean; timeout: number; json?: boolean }, command: Command) => {
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
          const deadline = ctx.io.clock.now() + opts.timeout * 1000
          for (let status = created.stream.status; status !== 'REPLICATING'; ) {
            if (ctx.io.clock.now() > deadline) throw new CliError(EXIT.failed, `stream ${created.stream.id} is still ${status} after ${opts.timeout} s`)
            await ctx.sleep(backend.pollMs)
            // The stream just created is the newest one.
            const stream = (await backend.refresh()).stream as StreamCreatedJson['stream']
            if (stream.status !== status) print(`stream ${stream.id} is ${stream.status}`)
            status = stream.status
          }
          return EXIT.ok
        })
      })
    )
}
