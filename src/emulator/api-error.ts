// Errors of the emulated Cloud API. The real API answers every error with a
// google.rpc.Status body, so each error carries its HTTP status and gRPC code.

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

export interface StatusBody {
  code: number
  message: string
  details: never[]
}

export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const invalidArgument = (message: string) => new ApiError(400, grpcCodes.invalidArgument, message)
export const failedPrecondition = (message: string) => new ApiError(400, grpcCodes.failedPrecondition, message)
export const notFound = (message: string) => new ApiError(404, grpcCodes.notFound, message)

export function statusBody(code: number, message: string): StatusBody {
  return { code, message, details: [] }
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
