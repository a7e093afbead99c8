import type { Command } from 'commander'
import type { EventJson } from '../backend.js'
import type { Context } from '../context.js'
import { EXIT } from '../errors.js'

const eventLine = (e: EventJson) => `${e.at}  ${e.severity.padEnd(5)}  ${e.type.padEnd(26)}  ${e.message}`

export function registerMonitor(program: Command, ctx: Context): void {
  program
    .command('monitor')
    .description(
      'watch the pair and fail over when the primary is really down, printing each decision; hooks and PgBouncer follow its failovers, and with ENABLE_PROMETHEUS /metrics is served on PROMETHEUS_PORT (no other HTTP). With --url, follow a running sidecar\'s decisions'
    )
    .option('--json', 'one JSON event per line')
    .action(
      ctx.action(async (opts: { json?: boolean }, command: Command) =>
        ctx.withBackend(command, { start: true, acting: true, metrics: true }, async (backend) => {
          ctx.out.note(`pcr monitor: following the ${backend.source}; Ctrl-C stops`)
          // A running sidecar's history is not replayed: only what happens from now on.
          let seen = backend.mode === 'remote' ? Math.max(0, ...(await backend.events(1)).map((e) => e.id)) : 0
          for (;;) {
            for (const e of (await backend.events(500)).filter((e) => e.id > seen).reverse()) {
              ctx.out.line(opts.json === true ? JSON.stringify(e) : eventLine(e))
              seen = e.id
            }
            if (ctx.io.signal?.aborted === true) return EXIT.ok
            // A stop signal ends the wait; what happened meanwhile is printed, then the loop ends.
            await backend.next().catch(() => undefined)
          }
        })
      )
    )
}
