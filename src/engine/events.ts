// The decision history: every verdict change and every step toward (or away
// from) a failover. Logs and metrics are derived from these events, so what an
// operator reads in /events, in the log and in Prometheus always agrees.

export type EventType =
  | 'monitor_started'
  | 'monitor_stopped'
  | 'check_failed'
  | 'stream_mismatch'
  | 'failover_at_out_of_range'
  | 'topology_changed'
  | 'stream_unconfirmed'
  | 'state_restored'
  | 'state_file_rejected'
  | 'state_file_failed'
  | 'verdict_changed'
  | 'failure_counted'
  | 'threshold_reached'
  | 'double_check_inconclusive'
  | 'failure_count_expired'
  | 'recovered'
  | 'failover_confirmed'
  | 'failover_deferred'
  | 'failover_requested'
  | 'failover_blocked'
  | 'failover_patched'
  | 'failover_adopted'
  | 'failover_failed'
  | 'failover_refused'
  | 'failover_timeout'
  | 'failover_completed'
  | 'activation_waiting'
  | 'activation_timeout'
  | 'paused'
  | 'resumed'
  | 'stream_created'
  | 'operation_started'
  | 'operation_progress'
  | 'operation_finished'
  | 'disruption_changed'
  | 'active_cluster_changed'
  | 'hook_failed'
  | 'pgbouncer_updated'
  | 'pgbouncer_failed'
  | 'pgbouncer_paused'
  | 'pgbouncer_resumed'
  | 'pgbouncer_pause_expired'
  | 'fence_raised'
  | 'fence_lowered'
  | 'leader_changed'
  | 'coordination_lost'
  | 'coordination_restored'
  | 'quorum_reached'
  | 'coordination_bypassed'
  | 'secret_reloaded'
  | 'secret_rejected'

export type Severity = 'info' | 'warn' | 'error'

export interface EngineEvent {
  id: number
  at: string
  type: EventType
  severity: Severity
  message: string
  data: Record<string, string | number | boolean | null>
}

export type EventInput = Omit<EngineEvent, 'id' | 'at' | 'severity'> & { severity?: Severity }

export interface EventLog {
  emit(input: EventInput): EngineEvent
  recent(limit: number): EngineEvent[]
  subscribe(listener: (event: EngineEvent) => void): () => void
}

export function createEventLog(options: { capacity: number; now: () => number }): EventLog {
  const buffer: EngineEvent[] = []
  const listeners = new Set<(event: EngineEvent) => void>()
  let nextId = 1
  return {
    emit(input) {
      const event: EngineEvent = Object.freeze({
        ...input,
        severity: input.severity ?? 'info',
        data: Object.freeze({ ...input.data }),
        id: nextId++,
        at: new Date(options.now()).toISOString()
      })
      buffer.push(event)
      if (buffer.length > options.capacity) buffer.shift()
      for (const listener of listeners) listener(event)
      return event
    },
    recent(limit) {
      return limit > 0 ? buffer.slice(-limit).reverse() : []
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
}
