import type { BaseLogger } from 'pino'
import type { HookPayload } from './payload.js'

// What every sink is handed and what it answers. A sink never throws: every
// way a delivery can end is one of these outcomes.

export type HookLog = Pick<BaseLogger, 'info' | 'warn' | 'error'>

export type SinkName = 'webhook' | 'command'

export type Outcome =
  | { status: 'delivered'; attempts: number }
  | { status: 'failed'; attempts: number; reason: string }
  // Given up because the service is stopping: not the sink's fault.
  | { status: 'abandoned'; attempts: number }

export interface Sink {
  name: SinkName
  deliver(payload: HookPayload, signal: AbortSignal): Promise<Outcome>
  close(): Promise<void>
}

// Reasons end up in /events and in one log line each: one line, bounded.
export function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}
