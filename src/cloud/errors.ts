import type { Stream } from './schemas.js'

// Every failure of the Cloud API client is a CloudApiError; `kind` says what went wrong
// so callers can switch on it without parsing messages. Messages are one line and carry
// nothing from the request headers (the client redacts its key from anything it quotes).

export type CloudErrorKind =
  | 'http'
  | 'rate_limited'
  | 'timeout'
  | 'network'
  | 'invalid_response'
  | 'refused'
  | 'unclear_outcome'

export interface CloudApiErrorDetails {
  operation: string
  status?: number
  apiCode?: number
  apiMessage?: string
  retryAfterMs?: number
  until?: Date
  stream?: Stream
  cause?: unknown
}

export class CloudApiError extends Error {
  readonly kind: CloudErrorKind
  readonly operation: string
  readonly status?: number
  readonly apiCode?: number
  readonly apiMessage?: string
  readonly retryAfterMs?: number
  readonly until?: Date
  readonly stream?: Stream

  constructor(kind: CloudErrorKind, message: string, details: CloudApiErrorDetails) {
    super(`${details.operation}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'CloudApiError'
    this.kind = kind
    this.operation = details.operation
    this.status = details.status
    this.apiCode = details.apiCode
    this.apiMessage = details.apiMessage
    this.retryAfterMs = details.retryAfterMs
    this.until = details.until
    this.stream = details.stream
  }
}

// The API (or this client, honouring an earlier Retry-After) will not take requests before `until`.
export class RateLimitedError extends CloudApiError {
  declare readonly retryAfterMs: number
  declare readonly until: Date

  constructor(message: string, details: CloudApiErrorDetails & { retryAfterMs: number; until: Date }) {
    super('rate_limited', message, details)
    this.name = 'RateLimitedError'
  }
}

// The API answered a mutation with a 4xx, or any request with a 403; `stream` is the stream
// as read back after a refused PATCH (absent when the read-back failed), so the caller can
// adopt a transition already made.
export class RefusedError extends CloudApiError {
  constructor(message: string, details: CloudApiErrorDetails) {
    super('refused', message, details)
    this.name = 'RefusedError'
  }
}

// HTTP 403 (PermissionDenied): the API key's service account holds none of the roles the
// operation needs, named in `requiredRoles` (the roles the specification lists for it). A
// definite refusal, never retried; for a read, the caller knows nothing more than before.
export class PermissionDeniedError extends RefusedError {
  readonly requiredRoles: readonly string[]

  constructor(message: string, details: CloudApiErrorDetails & { requiredRoles: readonly string[] }) {
    super(message, details)
    this.name = 'PermissionDeniedError'
    this.requiredRoles = details.requiredRoles
  }
}

// A mutation got no clear answer and the read-back could not confirm its effect.
// `stream` is what the read-back saw (absent when it failed or found nothing).
export class UnclearOutcomeError extends CloudApiError {
  constructor(message: string, details: CloudApiErrorDetails) {
    super('unclear_outcome', message, details)
    this.name = 'UnclearOutcomeError'
  }
}
