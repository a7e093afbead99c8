// Errors of the emulated Cloud API. The real API answers every error with a
// google.rpc.Status body, so each error carries its HTTP status and gRPC code,
// and, where the kind of failure has a stable name, an ErrorInfo detail.

export const grpcCodes = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  permissionDenied: 7,
  resourceExhausted: 8,
  failedPrecondition: 9,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16
} as const

export const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo'
export const ERROR_DOMAIN = 'cockroachlabs.cloud'

/**
 * google.rpc.ErrorInfo packed in an Any, as protojson writes it: the type URL
 * in `@type`, then the message's own fields. The specification's `Any` schema
 * declares only `@type` and allows any other property.
 */
export interface ErrorInfo {
  '@type': typeof ERROR_INFO_TYPE
  /** UPPER_SNAKE_CASE, stable: what a client may switch on. */
  reason: string
  domain: typeof ERROR_DOMAIN
  metadata?: Record<string, string>
}

export interface StatusBody {
  code: number
  message: string
  details: ErrorInfo[]
}

export interface ApiErrorExtras {
  headers?: Record<string, string>
  details?: ErrorInfo[]
}

export class ApiError extends Error {
  readonly headers: Record<string, string>
  readonly details: ErrorInfo[]

  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string,
    extras: ApiErrorExtras = {}
  ) {
    super(message)
    this.name = 'ApiError'
    this.headers = extras.headers ?? {}
    this.details = extras.details ?? []
  }
}

export function errorInfo(reason: string, metadata?: Record<string, string>): ErrorInfo {
  return { '@type': ERROR_INFO_TYPE, reason, domain: ERROR_DOMAIN, ...(metadata !== undefined && { metadata }) }
}

export const invalidArgument = (message: string) => new ApiError(400, grpcCodes.invalidArgument, message)

/** A request the state of a resource does not allow; `reason` names which rule (ErrorInfo). */
export const failedPrecondition = (message: string, reason = 'FAILED_PRECONDITION', metadata?: Record<string, string>) =>
  new ApiError(400, grpcCodes.failedPrecondition, message, { details: [errorInfo(reason, metadata)] })

/** An unknown resource; `reason` names its kind (ErrorInfo). */
export const notFound = (message: string, reason = 'NOT_FOUND', metadata?: Record<string, string>) =>
  new ApiError(404, grpcCodes.notFound, message, { details: [errorInfo(reason, metadata)] })

export function statusBody(code: number, message: string, details: ErrorInfo[] = []): StatusBody {
  return { code, message, details }
}

/** The Status body of an error, with its details. */
export function errorBody(error: ApiError): StatusBody {
  return statusBody(error.code, error.message, error.details)
}

// The gRPC code that goes with an HTTP status (grpc-gateway's mapping read
// backwards), for errors known only by their status: faults, framework errors.
export function grpcCodeFor(httpStatus: number): number {
  const known: Record<number, number> = {
    400: grpcCodes.invalidArgument,
    401: grpcCodes.unauthenticated,
    403: grpcCodes.permissionDenied,
    404: grpcCodes.notFound,
    413: grpcCodes.resourceExhausted,
    429: grpcCodes.resourceExhausted,
    501: grpcCodes.unimplemented,
    503: grpcCodes.unavailable,
    504: grpcCodes.deadlineExceeded
  }
  return known[httpStatus] ?? (httpStatus < 500 ? grpcCodes.invalidArgument : grpcCodes.internal)
}

/** Any error as an ApiError; framework errors keep their HTTP status. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  const { statusCode = 500, message } = error as { statusCode?: number; message: string }
  return new ApiError(statusCode, grpcCodeFor(statusCode), message)
}
