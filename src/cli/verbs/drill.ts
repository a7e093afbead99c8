import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { runDrill, type SqlCheck } from '../drill/drill.js'
import { drillReportLines, phaseLine } from '../drill/report.js'
import { createSqlProbe } from '../../sql/probe.js'
import type { Context } from '../context.js'
import { EXIT } from '../errors.js'
import { assertCanConfirm, confirm } from '../io.js'
import { positiveSeconds } from '../parse.js'
import { failbackWaitSeconds } from '../budgets.js'

export interface DrillCliOptions {
  yes?: boolean
  timeout: number
  failback?: boolean
  maxLag: number
  failbackTimeout?: number
  json?: string
}

// The drill's options, shared by `drill`, `test failover` and `test automated`.
export function withDrillOptions(command: Command, failbackOption: boolean): Command {
  command
    .option('-y, --yes', 'do not ask before disrupting the cluster')
    .option('--timeout <seconds>', 'bound on each wait: the first verdict, the failover, the failover that ends a failback', positiveSeconds, 900)
    .option('--json <file>', 'also write the report as JSON to this file')
  if (failbackOption) command.option('--failback', 'then fail back to the original primary (failback full)')
  return command
    .option('--max-lag <seconds>', 'failback may start once the replication lag is at most this', positiveSeconds, 60)
    .option(
      '--failback-timeout <seconds>',
      "bound on the failback's wait for the reverse stream, whose initial scan re-seeds the original primary in full (default: FAILBACK_TIMEOUT, 6 h)",
      positiveSeconds
    )
}

async function sqlCheck(connectionString: string, timeoutSeconds: number): Promise<SqlCheck> {
  const probe = createSqlProbe({ connectionString, timeoutSeconds })
  try {
    const result = await probe.check()
    return { ok: result.ok, latency_ms: result.latencyMs, error: result.ok ? null : result.error }
  } finally {
    await probe.close()
  }
}

export async function drill(ctx: Context, command: Command, opts: DrillCliOptions, failback: boolean): Promise<number> {
  assertCanConfirm(ctx.io, opts.yes === true, 'start the drill')
  // Direct mode knows the timeline from the configuration. The SQL endpoints come
  // from the environment in either mode (remote mode needs no other configuration).
  const config = ctx.remoteUrl(command) === undefined ? ctx.config() : undefined
  const env = ctx.env()
  const endpoints = { primary: env.PRIMARY_CLUSTER_ENDPOINT, standby: env.STANDBY_CLUSTER_ENDPOINT }
  const sqlTimeout = config?.timeline.checkTimeoutSeconds ?? 10
  return ctx.withBackend(command, { start: true, acting: true }, async (backend) => {
    const report = await runDrill({
      target: backend,
      clock: ctx.io.clock,
      timeoutSeconds: opts.timeout,
      timeline:
        config === undefined
          ? undefined
          : { interval_seconds: config.timeline.intervalSeconds, failure_threshold: config.timeline.failureThreshold, failover_delay_seconds: config.timeline.failoverDelaySeconds },
      failback: failback
        ? { maxLagSeconds: opts.maxLag, timeoutSeconds: opts.failbackTimeout, waitSeconds: failbackWaitSeconds(ctx, command, opts.failbackTimeout) }
        : undefined,
      confirm: (cluster) =>
        confirm(ctx.io, {
          yes: opts.yes === true,
          action: 'start the drill',
          warning: `The drill takes cluster ${cluster.id} (${cluster.name}) down through the Cloud API and waits for the failover.`,
          expected: cluster.id
        }),
      verifySql: async (_id, role) => {
        const endpoint = endpoints[role]
        return endpoint === undefined ? undefined : sqlCheck(endpoint, sqlTimeout)
      },
      onPhase: (phase) => ctx.out.line(phaseLine(phase)),
      onProgress: (line) => ctx.out.line(`               ${line}`)
    })
    ctx.out.line()
    for (const line of drillReportLines(report)) ctx.out.line(line)
    if (opts.json !== undefined) await writeFile(resolve(ctx.io.cwd, opts.json), `${JSON.stringify(report, null, 2)}\n`)
    if (ctx.io.signal?.aborted === true) return EXIT.interrupted
    return report.result === 'passed' ? EXIT.ok : EXIT.failed
  })
}

export function registerDrill(program: Command, ctx: Context): void {
  withDrillOptions(
    program
      .command('drill')
      .description('a measured DR rehearsal: disrupt the primary, time detection, failover and switch, restore, optionally fail back'),
    true
  ).action(ctx.action((opts: DrillCliOptions, command: Command) => drill(ctx, command, opts, opts.failback === true)))
}
