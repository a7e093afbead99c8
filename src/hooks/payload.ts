import type { EngineEvent } from '../engine/events.js'
import { activeCluster, type Snapshot } from '../engine/snapshot.js'

// What a hook is told: one JSON document, the same for the webhook body and the
// command's stdin, plus the command's environment variables derived from it.

export interface ActiveCluster {
  id: string
  host: string
  port: number
}

export interface HookPayload {
  text: string
  event: Pick<EngineEvent, 'id' | 'type' | 'at' | 'severity' | 'message' | 'data'>
  active_cluster: ActiveCluster | null
  service: 'pcr-sidecar'
}

// The target an active_cluster_changed event announces (null while failing over).
export function activeFromEvent(event: EngineEvent): ActiveCluster | null {
  const { clusterId, host, port } = event.data
  if (typeof clusterId !== 'string' || typeof host !== 'string' || typeof port !== 'number') return null
  return { id: clusterId, host, port }
}

// The same rule as the engine's: the active cluster once its SQL host is known.
export function activeFromSnapshot(snapshot: Snapshot): ActiveCluster | null {
  const active = activeCluster(snapshot)
  return active === undefined ? null : { id: active.id, host: active.sqlDns, port: active.sqlPort }
}

// Slack reads &, < and > as markup, and a notification reads best on one line.
function slackLine(event: EngineEvent): string {
  const line = `pcr-sidecar ${event.severity.toUpperCase()} ${event.type}: ${event.message}`.replace(/\s+/g, ' ')
  return line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function buildPayload(event: EngineEvent, active: ActiveCluster | null): HookPayload {
  const { id, type, at, severity, message, data } = event
  return { text: slackLine(event), event: { id, type, at, severity, message, data }, active_cluster: active, service: 'pcr-sidecar' }
}

const upperSnake = (key: string) =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase()

// exec refuses a variable over 128 KiB, and a NUL anywhere; the whole event is on stdin anyway.
const envValue = (value: string) => value.replace(/\0/g, '').slice(0, 32 * 1024)

// Empty, never absent, when a value does not apply, so `set -u` scripts can read every name.
export function eventEnv(payload: HookPayload): Record<string, string> {
  const { event, active_cluster: active } = payload
  const previous = event.type === 'active_cluster_changed' ? event.data.previousClusterId : null
  const env: Record<string, string> = {
    PCR_EVENT_ID: String(event.id),
    PCR_EVENT_TYPE: event.type,
    PCR_EVENT_AT: event.at,
    PCR_EVENT_MESSAGE: envValue(event.message),
    PCR_ACTIVE_CLUSTER_ID: active?.id ?? '',
    PCR_ACTIVE_SQL_HOST: active?.host ?? '',
    PCR_ACTIVE_SQL_PORT: active === null ? '' : String(active.port),
    PCR_PREVIOUS_CLUSTER_ID: typeof previous === 'string' ? previous : ''
  }
  for (const [key, value] of Object.entries(event.data)) env[`PCR_DATA_${upperSnake(key)}`] = value === null ? '' : envValue(String(value))
  return env
}
