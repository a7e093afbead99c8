import type { Command } from 'commander'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { disruptionLines } from '../format.js'
import { ask, assertCanConfirm } from '../io.js'
import { list } from '../parse.js'

// Drills by hand: a real disruption through the Cloud API (a limited-access
// feature; never on a cluster that serves anyone).

interface DisruptOptions {
  confirm?: string
  cluster?: string
  region?: string
  pods?: string[]
  azs?: string[]
  json?: boolean
}

export function registerSimulate(program: Command, ctx: Context): void {
  const simulate = program.command('simulate').description('disrupt a cluster through the Cloud API, restore it, or show the disruptions')
  const print = (opts: { json?: boolean }, answer: Parameters<typeof disruptionLines>[0]) => {
    if (opts.json === true) ctx.out.json(answer)
    else for (const line of disruptionLines(answer)) ctx.out.line(line)
  }

  simulate
    .command('disrupt')
    .description('take a cluster down: its whole region, or only --pods/--azs (default: the watched cluster)')
    .option('--confirm <cluster id>', 'the id of the cluster to disrupt, repeated (asked for at a terminal)')
    .option('--cluster <cluster id>', 'the cluster to disrupt (default: the watched cluster, the primary)')
    .option('--region <code>', "the region to disrupt (default: the cluster's region)")
    .option('--pods <names>', 'comma-separated pods to disrupt instead of the whole region', list)
    .option('--azs <names>', 'comma-separated availability zones to disrupt instead of the whole region', list)
    .option('--json', 'print the answer as JSON')
    .action(
      ctx.action(async (opts: DisruptOptions, command: Command) => {
        assertCanConfirm(ctx.io, opts.confirm !== undefined, 'disrupt a cluster')
        return ctx.withBackend(command, {}, async (backend) => {
          const clusters = await backend.refresh()
          const id = opts.cluster ?? clusters.watched_cluster_id
          const name = clusters.clusters.find((c) => c.id === id)?.name ?? 'not a configured cluster'
          const typed = opts.confirm ?? (await ask(ctx.io, `This takes cluster ${id} (${name}) down through the Cloud API.\nType its id to disrupt it: `))
          if (opts.confirm === undefined && typed !== id) throw new CliError(EXIT.failed, 'not confirmed (the id typed differs); nothing was changed')
          print(opts, await backend.disrupt({ confirm: typed, cluster_id: id, region_code: opts.region, pods: opts.pods, azs: opts.azs }))
          return EXIT.ok
        })
      })
    )

  simulate
    .command('restore')
    .description('end the disruption of a cluster (default: of every disrupted cluster)')
    .option('--cluster <cluster id>', 'only this cluster')
    .option('--json', 'print the answer as JSON')
    .action(
      ctx.action(async (opts: { cluster?: string; json?: boolean }, command: Command) =>
        ctx.withBackend(command, {}, async (backend) => {
          const disrupted =
            opts.cluster === undefined
              ? (await backend.disruptionStatus()).clusters.filter((c) => c.regional_disruptor_specifications.length > 0).map((c) => c.cluster_id)
              : [opts.cluster]
          const restored = []
          for (const id of disrupted) restored.push(...(await backend.restore(id)).clusters)
          if (opts.json !== true && restored.length === 0) ctx.out.line('no cluster is disrupted; nothing to restore')
          else print(opts, { clusters: restored })
          return EXIT.ok
        })
      )
    )

  simulate
    .command('status')
    .description('the disruptions of both clusters')
    .option('--json', 'print the answer as JSON')
    .action(
      ctx.action(async (opts: { json?: boolean }, command: Command) => {
        print(opts, await ctx.withBackend(command, {}, (backend) => backend.disruptionStatus()))
        return EXIT.ok
      })
    )
}
