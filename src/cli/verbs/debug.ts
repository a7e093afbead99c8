import type { Command } from 'commander'
import { API_VERSION } from '../../cloud/schemas.js'
import { secretsOf, scrubber } from '../../logger.js'
import type { Context } from '../context.js'
import { EXIT, messageOf } from '../errors.js'

// The Cloud API's answers exactly as sent (not as this client reads them), for
// a support ticket or a schema surprise.

function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function registerDebug(program: Command, ctx: Context): void {
  program
    .command('debug')
    .description('raw JSON of the Cloud API answers: both clusters, their nodes and disruptions, the streams (completed ones too), secrets masked')
    .action(
      ctx.action(async () => {
        const config = ctx.config()
        const clusters = [config.pair.primaryClusterId, config.pair.standbyClusterId]
        const paths = [
          ...clusters.flatMap((id) => [`/api/v1/clusters/${id}`, `/api/v1/clusters/${id}/nodes`, `/api/v1/clusters/${id}/disrupt`]),
          ...clusters.map((id) => `/api/v1/physical-replication-streams?cluster_id=${id}&show_completed=true`)
        ]
        let code: number = EXIT.ok
        const answers = []
        for (const path of paths) {
          try {
            const response = await fetch(config.pair.apiUrl + path, {
              headers: { authorization: `Bearer ${config.pair.apiKey}`, 'cc-version': API_VERSION },
              signal: AbortSignal.timeout(config.timeline.checkTimeoutSeconds * 1000)
            })
            answers.push({ request: `GET ${path}`, status: response.status, body: parsed(await response.text()) })
          } catch (err) {
            answers.push({ request: `GET ${path}`, error: messageOf((err as Error).cause ?? err) })
            code = EXIT.unreachable
          }
        }
        const report = {
          api_url: config.pair.apiUrl,
          primary_cluster_id: config.pair.primaryClusterId,
          standby_cluster_id: config.pair.standbyClusterId,
          configured_stream_id: config.pair.streamId ?? null,
          answers
        }
        ctx.out.line(scrubber(secretsOf(config))(JSON.stringify(report, null, 2)))
        return code
      })
    )
}
