import type { Command } from 'commander'
import type { Context } from '../context.js'
import { EXIT } from '../errors.js'
import { startAndFollow } from '../follow.js'
import { planText } from '../format.js'
import { assertCanConfirm, confirm } from '../io.js'
import { positiveSeconds, timestamp } from '../parse.js'

interface FailoverOptions {
  dryRun?: boolean
  allowDataLoss?: boolean
  failoverAt?: string
  yes?: boolean
  timeout: number
  json?: boolean
}

export function registerFailover(program: Command, ctx: Context): void {
  program
    .command('failover')
    .description('fail the stream over to the standby now, with the checks of an automatic failover, and follow it to COMPLETED')
    .option('--dry-run', 'show what would be done; change nothing')
    .option('--allow-data-loss', 'fail over even when the estimated data loss exceeds MAX_DATA_LOSS_SECONDS')
    .option('--failover-at <time>', 'RFC 3339 time to fail over to (without an offset: UTC), instead of the latest consistent time; it must lie between the stream\'s retained time and one hour from now', timestamp)
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--timeout <seconds>', 'stop following after this long (the failover goes on)', positiveSeconds, 900)
    .option('--json', 'print the answer and the final operation as JSON (progress goes to stderr)')
    .action(
      ctx.action(async (opts: FailoverOptions, command: Command) => {
        const input = { failover_at: opts.failoverAt, allow_data_loss: opts.allowDataLoss === true }
        if (opts.dryRun !== true) assertCanConfirm(ctx.io, opts.yes === true, 'fail over')
        return ctx.withBackend(command, { start: true }, async (backend) => {
          if (opts.dryRun === true || opts.yes !== true) {
            const plan = await backend.failover({ ...input, dry_run: true })
            if (opts.dryRun === true) {
              if (opts.json === true) ctx.out.json(plan)
              else ctx.out.line(`dry run, nothing changed: would fail over ${planText(plan)}`)
              return EXIT.ok
            }
            await confirm(ctx.io, {
              yes: false,
              action: 'fail over',
              warning: `Failing over ${planText(plan)}.\n${plan.plan.to_cluster_id} becomes writable; ${plan.plan.from_cluster_id} stops being replicated to it.`,
              expected: 'yes'
            })
          }
          return startAndFollow(ctx, backend, {
            what: 'failover',
            json: opts.json === true,
            timeoutSeconds: opts.timeout,
            start: () => backend.failover(input)
          })
        })
      })
    )
}
