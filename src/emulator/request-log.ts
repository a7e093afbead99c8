import type { CloudOperation } from './faults.js'

// The API requests the emulator received, so tests can check what a client
// sent, including requests that were refused or hit by a fault.

export interface LoggedRequest {
  method: string
  path: string
  /** Null for a path the API does not have. */
  operation: CloudOperation | null
  query: Record<string, unknown>
  /** The JSON body, the raw text when it is not JSON, or null when absent. */
  body: unknown
  /** The HTTP status answered; null when no answer went out (hang, reset). */
  status: number | null
  /** When the request arrived, by the emulator's clock. */
  at: string
  /** The id of the fault applied to it, if any. */
  fault: string | null
  /** The address the request came from: a client's, or an egress proxy's. */
  from: string
}

export type RequestLog = ReturnType<typeof createRequestLog>

export function createRequestLog() {
  let entries: LoggedRequest[] = []
  return {
    add(entry: LoggedRequest): LoggedRequest {
      entries.push(entry)
      return entry
    },
    list(): LoggedRequest[] {
      return entries
    },
    clear() {
      entries = []
    }
  }
}

/** The most requests that arrived within any one second. */
export function busiestSecond(requests: readonly LoggedRequest[]): number {
  const times = requests.map((r) => Date.parse(r.at)).sort((a, b) => a - b)
  let busiest = 0
  for (let last = 0, first = 0; last < times.length; last++) {
    while ((times[last] as number) - (times[first] as number) >= 1000) first++
    busiest = Math.max(busiest, last - first + 1)
  }
  return busiest
}
