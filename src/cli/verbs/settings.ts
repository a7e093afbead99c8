import type { Command } from 'commander'
import { buildSetClusterSetting, executeClusterSetting } from '../../sql/cluster-settings.js'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'

export function registerSettings(program: Command, ctx: Context): void {
  program
    .command('settings')
    .description('print the SET CLUSTER SETTING statement, or with --execute run it on the primary and show the value before and after')
    .requiredOption('--setting <name>', 'the cluster setting, e.g. server.time_until_store_dead')
    .requiredOption('--value <value>', 'its new value, e.g. 15m0s')
    .option('--execute', 'run it through PRIMARY_CLUSTER_ENDPOINT')
    .action(
      ctx.action(async (opts: { setting: string; value: string; execute?: boolean }) => {
        // Refuses a name that is not plainly a setting name, or a value with control characters.
        ctx.out.line(`${buildSetClusterSetting(opts.setting, opts.value)};`)
        if (opts.execute !== true) return EXIT.ok
        const config = ctx.config()
        if (config.sql.primaryEndpoint === undefined) {
          throw new CliError(EXIT.usage, '--execute needs PRIMARY_CLUSTER_ENDPOINT, the postgresql:// URL of the primary')
        }
        const change = await executeClusterSetting({
          connectionString: config.sql.primaryEndpoint,
          timeoutSeconds: config.timeline.checkTimeoutSeconds,
          name: opts.setting,
          value: opts.value
        })
        ctx.out.line(`before: ${change.before}`)
        ctx.out.line(`after:  ${change.after}`)
        return EXIT.ok
      })
    )
}
