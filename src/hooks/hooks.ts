import { randomUUID } from 'node:crypto'
import type { Config } from '../config/index.js'
import type { EngineEvent, EventInput } from '../engine/events.js'
import type { Snapshot } from '../engine/snapshot.js'
import { createCommandRunner } from './command.js'
import type { HookLog, Sink } from './outcome.js'
import { activeFromEvent, activeFromSnapshot, buildPayload, type ActiveCluster, type HookPayload } from './payload.js'
import { createDeliveryQueue } from './queue.js'
import { createWebhookSender, type WebhookOptions } from './webhook.js'

// The webhook and the command, each behind its own queue: a slow command never
// delays the webhook, and neither ever delays or fails the engine. A delivery
// that finally fails becomes one hook_failed event.

export type HooksConfig = Config['hooks']

export interface HooksOptions {
  config: HooksConfig
  log: HookLog
  record(input: EventInput): unknown
  // The active cluster until the first active_cluster_changed is seen.
  snapshot?: () => Snapshot
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, for the webhook.
  proxy?: WebhookOptions['proxy']
  /** Removes secrets from what a failed delivery says (a command's stderr, an error) before it becomes an event. */
  scrub?: (text: string) => string
  // What the command's passed-on variables are taken from (the process's environment by default).
  env?: NodeJS.ProcessEnv
  sleep?: WebhookOptions['sleep']
  random?: WebhookOptions['random']
}

export interface Hooks {
  notify(event: EngineEvent): void
  close(graceMs?: number): Promise<void>
}

const queueLimit = 200

export function createHooks(options: HooksOptions): Hooks {
  const { config, log } = options
  const scrub = options.scrub ?? ((text: string) => text)
  const sinks: Sink[] = []
  if (config.webhookUrl !== undefined) {
    sinks.push(
      createWebhookSender({
        url: config.webhookUrl,
        timeoutMs: config.webhookTimeoutSeconds * 1000,
        retries: config.webhookRetries,
        backoffMs: config.webhookRetryBackoffSeconds * 1000,
        // A new key prefix per start: event ids start again at 1.
        instanceId: randomUUID(),
        log,
        proxy: options.proxy,
        sleep: options.sleep,
        random: options.random
      })
    )
  }
  if (config.command !== undefined) {
    sinks.push(
      createCommandRunner({
        command: config.command,
        timeoutMs: config.commandTimeoutSeconds * 1000,
        log,
        passthrough: config.envPassthrough,
        env: options.env
      })
    )
  }
  const queues = sinks.map((sink) => {
    const about = (payload: HookPayload) => ({ hook: sink.name, eventId: payload.event.id, eventType: payload.event.type })
    return createDeliveryQueue<HookPayload>({
      limit: queueLimit,
      async deliver(payload, signal) {
        const outcome = await sink.deliver(payload, signal)
        const { id, type } = payload.event
        if (outcome.status === 'delivered') {
          log.info({ ...about(payload), attempts: outcome.attempts }, `${sink.name} hook delivered ${type}`)
        } else if (outcome.status === 'abandoned') {
          log.warn({ ...about(payload), attempts: outcome.attempts }, `${sink.name} hook abandoned ${type}: the service is stopping`)
        } else {
          const reason = scrub(outcome.reason)
          options.record({
            type: 'hook_failed',
            severity: 'error',
            message: `${sink.name} hook failed for ${type} (event ${id}) after ${outcome.attempts} attempt(s): ${reason}`,
            data: { sink: sink.name, eventId: id, eventType: type, attempts: outcome.attempts, reason }
          })
        }
      },
      dropped(payload, why) {
        const message = why === 'overflow' ? 'hook backlog full: dropped the oldest pending event' : 'hook not run: the service is stopping'
        log.warn(about(payload), message)
      },
      crashed(payload, error) {
        log.error({ ...about(payload), err: error }, 'hook delivery crashed')
      }
    })
  })
  const wanted = new Set<string>(config.events)
  let active: ActiveCluster | null | undefined
  let closing: Promise<void> | undefined

  return {
    notify(event) {
      if (event.type === 'active_cluster_changed') active = activeFromEvent(event)
      // A hook_failed sent to the sink that failed would fail again, and again.
      if (event.type === 'hook_failed' || !wanted.has(event.type)) return
      const current = active !== undefined ? active : options.snapshot === undefined ? null : activeFromSnapshot(options.snapshot())
      const payload = buildPayload(event, current)
      for (const queue of queues) queue.push(payload)
    },
    close(graceMs = 5000) {
      closing ??= (async () => {
        await Promise.all(queues.map((queue) => queue.close(graceMs)))
        await Promise.all(sinks.map((sink) => sink.close()))
      })()
      return closing
    }
  }
}
