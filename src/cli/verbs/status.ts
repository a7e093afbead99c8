import type { Command } from 'commander'
import type { ClustersJson } from '../backend.js'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { statusLines } from '../format.js'

export function registerStatus(program: Command, ctx: Context): void {
  program
    .command('status')
    .description('both clusters (nodes, verdicts), the stream, its lag, the active cluster and the phase')
    .option('--json', 'print the GET /clusters JSON')
    .action(
      ctx.action(async (opts: { json?: boolean }, command: Command) => {
        const { clusters, source } = await ctx.withBackend(command, {}, async (b) => ({ clusters: await b.refresh(), source: b.source }))
        if (opts.json === true) ctx.out.json(clusters)
        else {
          ctx.out.line(`pcr status from the ${source}`)
          for (const line of statusLines(clusters)) ctx.out.line(line)
        }
        if (clusters.active_cluster_id === null && clusters.phase !== 'failing_over' && clusters.phase !== 'activating') {
          const watched = clusters.clusters.find((c) => c.id === clusters.watched_cluster_id) as ClustersJson['clusters'][number]
          throw new CliError(EXIT.unreachable, `the active cluster is not known: ${watched.reason}`)
        }
        return EXIT.ok
      })
    )
}
