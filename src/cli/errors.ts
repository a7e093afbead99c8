import { CloudApiError } from '../cloud/errors.js'
import { ConfigError } from '../config/index.js'
import { OperatorError } from '../engine/operator.js'
import { SqlError } from '../sql/connector.js'

// Exit codes, the same for every verb: scripts can tell a refusal from a typo
// from an outage without reading the message.
export const EXIT = {
  ok: 0,
  // The operation ran and failed, or was refused (by the sidecar, the API or the operator).
  failed: 1,
  // Bad usage or configuration: nothing was attempted.
  usage: 2,
  // The Cloud API, the sidecar or a SQL endpoint could not be reached.
  unreachable: 3,
  // Stopped by SIGINT/SIGTERM.
  interrupted: 130
} as const

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string
  ) {
    super(message)
    this.name = 'CliError'
  }
}

// A refusal or failure answered by the sidecar's HTTP API (remote mode); status 0
// means no answer at all.
export class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
    this.name = 'RemoteError'
  }
}

export const interrupted = () => new CliError(EXIT.interrupted, 'interrupted')

// No answer from the sidecar, or a 5xx: worth asking again while following a long operation.
export function transientError(err: unknown): boolean {
  return err instanceof RemoteError && (err.status === 0 || err.status >= 500)
}

// The admin API's status and code, whether they came over HTTP or from the operator in-process.
function codeForAnswer(status: number, code: string): number {
  if (status === 502 && code === 'failover_failed') return EXIT.failed
  // The Cloud API did not apply the PATCH (a 4xx, a rate limit): a refusal, not an outage.
  if (status === 503 && code === 'failover_refused') return EXIT.failed
  if (status === 0 || status >= 500) return EXIT.unreachable
  if (status === 400 || status === 401 || status === 403 || status === 404) return EXIT.usage
  return code === 'api_unavailable' || code === 'unknown' ? EXIT.unreachable : EXIT.failed
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode
  if (err instanceof ConfigError || err instanceof RangeError) return EXIT.usage
  if (err instanceof RemoteError) return codeForAnswer(err.status, err.code)
  if (err instanceof OperatorError) return codeForAnswer(err.status, err.code)
  if (err instanceof SqlError) {
    if (err.kind === 'auth') return EXIT.usage
    return err.kind === 'other' ? EXIT.failed : EXIT.unreachable
  }
  if (err instanceof CloudApiError) {
    // A key or cluster id the API does not know is configuration.
    if (err.status === 401 || err.status === 403 || err.status === 404) return EXIT.usage
    return err.kind === 'refused' || (err.kind === 'http' && err.status !== undefined && err.status < 500) ? EXIT.failed : EXIT.unreachable
  }
  return EXIT.failed
}

// One line, whatever the error carried.
export function messageOf(err: unknown): string {
  if (err instanceof ConfigError) return `invalid configuration: ${err.problems.join('; ')}`
  const text = err instanceof Error ? err.message : String(err)
  return text.replace(/\s*\n\s*/g, '; ').trim()
}
