import pino from 'pino'
import { parseConfig } from '../../src/config/index.js'
import { createEventLog, type EngineEvent, type EventInput } from '../../src/engine/events.js'
import { createHooks, type Hooks, type HooksOptions } from '../../src/hooks/hooks.js'
import { PRIMARY, STANDBY, type Teardown } from '../../tools/stack.js'

// createHooks fed by a real event log, as the engine feeds it, with its
// hook_failed events going back into the same log and every log line kept raw
// (unscrubbed, so a leaked secret would show).

export interface HookRig {
  hooks: Hooks
  lines: string[]
  emit(input: EventInput): EngineEvent
  failures(): EngineEvent[]
  events(): EngineEvent[]
  logged(message: string): any[]
}

export function hookRig(t: Teardown, env: Record<string, string>, options: Partial<HooksOptions> = {}): HookRig {
  const lines: string[] = []
  const log = createEventLog({ capacity: 1000, now: Date.now })
  const { config } = parseConfig({
    COCKROACH_API_SECRET_KEY: 'api-key-for-hook-tests',
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    ...env
  })
  const hooks = createHooks({
    config: config.hooks,
    log: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }),
    record: (input) => log.emit(input),
    ...options
  })
  log.subscribe((event) => hooks.notify(event))
  t.teardown(() => hooks.close(0))
  const events = () => log.recent(1000).reverse()
  return {
    hooks,
    lines,
    emit: (input) => log.emit(input),
    events,
    failures: () => events().filter((e) => e.type === 'hook_failed'),
    logged: (message) => lines.map((l) => JSON.parse(l)).filter((l) => l.msg === message)
  }
}

// Delays the webhook asked for, granted at once.
export function instantSleep(): { delays: number[]; sleep: NonNullable<HooksOptions['sleep']> } {
  const delays: number[] = []
  return {
    delays,
    sleep: async (ms, signal) => {
      delays.push(ms)
      signal.throwIfAborted()
    }
  }
}

export const activeChanged = (id: string, host: string, port = 26257): EventInput => ({
  type: 'active_cluster_changed',
  message: `active cluster is ${id} at ${host}:${port}`,
  data: { clusterId: id, host, port, previousClusterId: null, phase: 'normal' }
})

export const step = (type: EventInput['type'], message = `${type} happened`): EventInput => ({
  type,
  severity: 'warn',
  message,
  data: { streamId: 'stream-1' }
})
