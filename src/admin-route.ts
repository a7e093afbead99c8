import type { FastifyRequest } from 'fastify'
import { ErrorBody } from './api-schemas.js'

// What every admin route shares: the bearer token, the OpenAPI security entry,
// the refusals it may answer, and how the requester is named in events.
export const adminSecurity = [{ adminToken: [] }]

export const adminErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 502: ErrorBody, 503: ErrorBody }

export function requestedBy(request: FastifyRequest): string {
  return `admin API (${request.ip})`
}
