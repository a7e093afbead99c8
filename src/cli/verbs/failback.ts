import type { Command } from 'commander'
import type { Context } from '../context.js'
import { EXIT } from '../errors.js'
import { startAndFollow, startOperationAndFollow } from '../follow.js'
import { failbackStatusLines, streamText } from '../format.js'
import { confirm } from '../io.js'
import { positiveSeconds, timestamp } from '../parse.js'
import { failbackWaitSeconds, failoverFollowSeconds } from '../budgets.js'

// After a completed failover: a reverse stream from the promoted standby to the
// original primary, then a failover of that stream, by steps or all at once.

const maxLagOption = ['--max-lag <seconds>', 'failback may start once the replication lag is at most this', positiveSeconds, 60] as const

export function registerFailback(program: Command, ctx: Context): void {
  const failback = program
    .command('failback')
    .description('return to the original primary after a failover: full, or create-stream, status, initiate step by step')

  failback
    .command('full')
    .description('create the reverse stream, wait until it replicates within --max-lag (its initial scan re-seeds the original primary in full: hours for a large database), fail it over, and follow it to COMPLETED')
    .option(...maxLagOption)
    .option('--timeout <seconds>', 'bound on the wait for the reverse stream to replicate (default: FAILBACK_TIMEOUT, 6 h)', positiveSeconds)
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the final operation as JSON (progress goes to stderr)')
    .action(
      ctx.action(async (opts: { maxLag: number; timeout?: number; yes?: boolean; json?: boolean }, command: Command) => {
        await confirm(ctx.io, {
          yes: opts.yes === true,
          action: 'fail back',
          warning: 'Failing back: the original primary is wiped and re-seeded from the active cluster, then made the active cluster again.',
          expected: 'yes'
        })
        // The operation ends at its own deadline; following outlasts it by the failover after.
        const followSeconds = failbackWaitSeconds(ctx, command, opts.timeout) + failoverFollowSeconds(ctx, command)
        return ctx.withBackend(command, { start: true }, (backend) =>
          startOperationAndFollow(ctx, backend, {
            what: 'failback',
            json: opts.json === true,
            timeoutSeconds: followSeconds,
            start: () => backend.failbackFull({ max_lag_seconds: opts.maxLag, ...(opts.timeout === undefined ? {} : { timeout_seconds: opts.timeout }) })
          })
        )
      })
    )

  failback
    .command('create-stream')
    .description('create the reverse stream: promoted standby → original primary (which is wiped and re-seeded)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the created stream as JSON')
    .action(
      ctx.action(async (opts: { yes?: boolean; json?: boolean }, command: Command) => {
        await confirm(ctx.io, {
          yes: opts.yes === true,
          action: 'create the failback stream',
          warning: 'The original primary is wiped and re-seeded from the active cluster.',
          expected: 'yes'
        })
        const created = await ctx.withBackend(command, {}, (backend) => backend.createFailbackStream())
        if (opts.json === true) ctx.out.json(created)
        else ctx.out.line(`failback stream created: ${streamText(created.stream)}`)
        return EXIT.ok
      })
    )

  failback
    .command('status')
    .description('the failback stream and whether failback may start')
    .option(...maxLagOption)
    .option('--json', 'print the answer as JSON')
    .action(
      ctx.action(async (opts: { maxLag: number; json?: boolean }, command: Command) => {
        const s = await ctx.withBackend(command, {}, (backend) => backend.failbackStatus(opts.maxLag))
        if (opts.json === true) ctx.out.json(s)
        else for (const line of failbackStatusLines(s)) ctx.out.line(line)
        return EXIT.ok
      })
    )

  failback
    .command('initiate')
    .description('fail the failback stream over to the original primary and follow it to COMPLETED')
    .option('--allow-data-loss', 'fail back even when the estimated data loss exceeds MAX_DATA_LOSS_SECONDS')
    .option('--failover-at <time>', 'RFC 3339 time to fail back to, instead of the latest consistent time', timestamp)
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--timeout <seconds>', 'stop following after this long (the failback goes on)', positiveSeconds, 900)
    .option('--json', 'print the answer and the final operation as JSON (progress goes to stderr)')
    .action(
      ctx.action(async (opts: { allowDataLoss?: boolean; failoverAt?: string; yes?: boolean; timeout: number; json?: boolean }, command: Command) => {
        await confirm(ctx.io, {
          yes: opts.yes === true,
          action: 'fail back',
          warning: 'Failing back: the original primary becomes the active cluster again.',
          expected: 'yes'
        })
        return ctx.withBackend(command, { start: true }, (backend) =>
          startAndFollow(ctx, backend, {
            what: 'failback',
            json: opts.json === true,
            timeoutSeconds: opts.timeout,
            start: () => backend.initiateFailback({ failover_at: opts.failoverAt, allow_data_loss: opts.allowDataLoss === true })
          })
        )
      })
    )
}
