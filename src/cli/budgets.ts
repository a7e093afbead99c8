import type { Command } from 'commander'
import { DEFAULT_FAILBACK_TIMEOUT_SECONDS, DEFAULT_SWITCHOVER_TIMEOUT_SECONDS } from '../config/index.js'
import type { Context } from './context.js'

// How long the CLI follows a full failback. The reverse stream's initial scan
// re-seeds the original primary in full, hours for a large database, so the wait
// is FAILBACK_TIMEOUT unless --timeout names another; following goes on a little
// longer, for the failover that comes after it.

function positive(value: string | undefined): number | undefined {
  const n = Number(value)
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : undefined
}

// The wait for the reverse stream: --timeout, else FAILBACK_TIMEOUT (remote mode: the
// environment's, which is usually the sidecar's too, else the default).
export function failbackWaitSeconds(ctx: Context, command: Command, explicit: number | undefined): number {
  if (explicit !== undefined) return explicit
  if (ctx.remoteUrl(command) === undefined) return ctx.config().timeline.failbackTimeoutSeconds
  return positive(ctx.env().FAILBACK_TIMEOUT) ?? DEFAULT_FAILBACK_TIMEOUT_SECONDS
}

// A switchover's fence and wait: --timeout, else SWITCHOVER_TIMEOUT (remote mode: the
// environment's, else the default).
export function switchoverWaitSeconds(ctx: Context, command: Command, explicit: number | undefined): number {
  if (explicit !== undefined) return explicit
  if (ctx.remoteUrl(command) === undefined) return ctx.config().timeline.switchoverTimeoutSeconds
  return positive(ctx.env().SWITCHOVER_TIMEOUT) ?? DEFAULT_SWITCHOVER_TIMEOUT_SECONDS
}

// Time for the failover of the reverse stream and the activation after the wait.
export function failoverFollowSeconds(ctx: Context, command: Command): number {
  if (ctx.remoteUrl(command) === undefined) {
    const config = ctx.config()
    return config.timeline.failoverTimeoutSeconds + config.timeline.activationTimeoutSeconds
  }
  const env = ctx.env()
  return (positive(env.FAILOVER_TIMEOUT) ?? 900) + (positive(env.ACTIVATION_TIMEOUT) ?? 60)
}
