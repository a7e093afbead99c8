import { ErrorBody } from './api-schemas.js'

// What the operator's read routes share (/, /events, /events/stream, /clusters, /docs):
// open unless READ_TOKEN is set, then its token or the admin one, as a bearer token or a
// Basic password, with the refusals that brings.
export const readSecurity: Array<Record<string, string[]>> = [{}, { readToken: [] }, { adminToken: [] }]

export const readErrors = { 401: ErrorBody, 429: ErrorBody }
