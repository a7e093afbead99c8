import type { Command } from 'commander'
import type { Context } from '../context.js'
import { startOperationAndFollow } from '../follow.js'
import { confirm } from '../io.js'
import { positiveSeconds } from '../parse.js'
import { failoverFollowSeconds, switchoverWaitSeconds } from '../budgets.js'

// A planned switchover: fence writes, let the standby replicate past the fence,
// fail over to that very time, and resume on the new primary. Nothing written
// before the fence is lost and nothing is accepted after it.

export function registerSwitchover(program: Command, ctx: Context): void {
  program
    .command('switchover')
    .description('move to the standby on purpose with the primary healthy, losing no write: fence writes (PgBouncer PAUSE), wait for the stream to replicate past the fence, fail over to that time, resume on the new primary')
    .option('--timeout <seconds>', 'give up (and lower the fence) when the fence and the wait take longer than this (default: SWITCHOVER_TIMEOUT, 90 s)', positiveSeconds)
    .option('--unfenced', 'go on without PgBouncer to hold writes: applications already connected to the primary may write after the failover point, and lose it')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the final operation as JSON (progress goes to stderr)')
    .action(
      ctx.action(async (opts: { timeout?: number; unfenced?: boolean; yes?: boolean; json?: boolean }, command: Command) => {
        await confirm(ctx.io, {
          yes: opts.yes === true,
          action: 'switch over',
          warning: 'Switching over: writes are held while the standby catches up, then the standby becomes the primary; the current primary stops being replicated to it.',
          expected: 'yes'
        })
        // The operation ends at its own deadline; following outlasts it by the failover after.
        const followSeconds = switchoverWaitSeconds(ctx, command, opts.timeout) + failoverFollowSeconds(ctx, command)
        return ctx.withBackend(command, { start: true, traffic: true }, (backend) =>
          startOperationAndFollow(ctx, backend, {
            what: 'switchover',
            json: opts.json === true,
            timeoutSeconds: followSeconds,
            start: () => backend.switchover({ unfenced: opts.unfenced === true, ...(opts.timeout === undefined ? {} : { timeout_seconds: opts.timeout }) }),
            // Each step's duration, once it has ended.
            ended: (op, print) => {
              for (const step of op.steps) print(`  ${step.phase}: ${step.duration_ms === null ? 'running' : `${step.duration_ms} ms`}`)
            }
          })
        )
      })
    )
}
