import fc from 'fast-check'
import { Pool } from 'undici'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { ADMIN_TOKEN, PRIMARY, STANDBY, STREAM } from '../../tools/stack.js'
import { answerProblems, operations } from './own-spec.js'

// Hostile HTTP requests, sent over a real socket, and the checks every answer must pass.

export interface HostileRequest {
  method: string
  path: string
  headers: Record<string, string>
  contentType: string | undefined
  body: Uint8Array | undefined
}

// What undici will put on the wire as a header value: tab, visible ASCII and
// latin1 bytes (sent raw, so not UTF-8).
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.constant(0x09),
  fc.integer({ min: 0x80, max: 0xff })
).map((c) => String.fromCharCode(c))
const headerText = fc.string({ unit: headerChar, maxLength: 60 })
const secret = fc.constantFrom(ADMIN_TOKEN, DEFAULT_API_KEY)
const headerValue = fc.oneof(
  headerText,
  fc.tuple(headerText, secret, headerText).map((parts) => parts.join('')),
  fc.integer({ min: 1, max: 2000 }).map((n) => 'x'.repeat(n)),
  // UTF-8 bytes read as latin1: what a client sending UTF-8 puts on the wire.
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => Buffer.from(s, 'utf8').toString('latin1'))
)

const authorization = fc.oneof(
  fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, `bearer   ${ADMIN_TOKEN}  `, `Basic ${ADMIN_TOKEN}`, ADMIN_TOKEN, `Bearer ${ADMIN_TOKEN}x`, 'Bearer', 'Bearer '),
  headerValue.map((v) => `Bearer ${v}`),
  headerValue
)

const headerName = fc.oneof(
  fc.constantFrom('x-db-username', 'x-db-password', 'accept', 'accept-encoding', 'cookie', 'x-forwarded-for', 'x-request-id', 'origin', 'range'),
  fc.stringMatching(/^x-[a-z0-9-]{1,20}$/)
)

const credentials = fc.option(fc.record({ 'x-db-username': headerValue, 'x-db-password': headerValue }), { nil: {} })

const headers = fc
  .tuple(credentials, fc.dictionary(headerName, headerValue, { maxKeys: 4 }), fc.option(authorization, { nil: undefined }))
  .map(([c, h, auth]) => ({ ...c, ...h, ...(auth === undefined ? {} : { authorization: auth }) }))

// Path segments: the configured ids, near misses, and hostile text, either
// percent-encoded or raw (bad escapes, dot segments, latin1 bytes).
const segment = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(PRIMARY, STANDBY, PRIMARY.toUpperCase(), STREAM, 'op-1') },
  fc.constantFrom(PRIMARY, STANDBY, PRIMARY.toUpperCase(), STREAM, `${PRIMARY}%20`, '', '.', '..', '%', '%FF', '%zz', '%00', '%2F', ';', 'op-1'),
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(encodeURIComponent) },
  fc.integer({ min: 90, max: 260 }).map((n) => 'a'.repeat(n)),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 })
)

const routePath = fc
  .tuple(fc.constantFrom(...operations.map((o) => o.template)), segment)
  .map(([template, value]) => template.replace(/\{[^}]+\}/g, value))

const anyPath = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`)

const queryValue = fc.oneof(
  fc.constantFrom('1', '50', '500', '0', '501', '-1', '1.5', '1e3', 'NaN', 'Infinity', '0x10', '%207', '', '%', '%FF', '9'.repeat(400)),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent)
)
const query = fc
  .array(fc.tuple(fc.constantFrom('limit', 'limit', 'id', '__proto__', 'x'), queryValue), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`))

const path = fc.tuple(fc.oneof({ weight: 8, arbitrary: routePath }, { weight: 1, arbitrary: anyPath }), query).map(([p, q]) => p + q)

// Bodies shaped like the admin requests, so some get past the JSON parser and
// reach the route's own validation and handler.
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(1e308, -0, 0.5, 86_400, 86_401, 604_800, '2026-01-02T15:04:05Z', '2026-02-30T00:00:00Z', 'now', '')
)
const shapedBody = fc.record(
  {
    action: fc.oneof(fc.constantFrom('create-stream', 'status', 'initiate', 'full', 'disrupt', 'restore', 'STATUS'), jsonish),
    failover_at: jsonish,
    allow_data_loss: fc.oneof(fc.boolean(), jsonish),
    dry_run: fc.oneof(fc.boolean(), jsonish),
    max_lag_seconds: jsonish,
    timeout_seconds: jsonish,
    confirm: fc.oneof(fc.constantFrom(PRIMARY, STANDBY), jsonish),
    cluster_id: fc.oneof(fc.constantFrom(PRIMARY, STANDBY), jsonish),
    region_code: jsonish,
    pods: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), jsonish),
    azs: jsonish,
    password: secret
  },
  { requiredKeys: [] }
)

// Bodies each route accepts, with values at and past their bounds.
const number = fc.oneof(fc.double(), fc.constantFrom(0, 1, 60, 86_400, 86_401, 604_800, 604_801, -1))
const validShape = fc.oneof(
  fc.record({ failover_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), allow_data_loss: fc.boolean(), dry_run: fc.boolean() }, { requiredKeys: [] }),
  fc.record({ action: fc.constant('status'), max_lag_seconds: number }, { requiredKeys: ['action'] }),
  fc.record({ action: fc.constantFrom('status'), pods: fc.array(fc.string()) }, { requiredKeys: ['action'] })
)

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))
const bodyBytes = fc.oneof(
  { weight: 4, arbitrary: shapedBody.map((b) => utf8(JSON.stringify(b))) },
  { weight: 3, arbitrary: validShape.map((b) => utf8(JSON.stringify(b))) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => utf8(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), utf8(' '), utf8('{"__proto__": {"x": 1}}')) },
  { weight: 1, arbitrary: fc.integer({ min: 16 * 1024 - 8, max: 16 * 1024 + 64 }).map((n) => utf8(`"${'a'.repeat(n)}"`)) }
)

const mediaTypes = [
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/problem+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    ''
]
const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  { weight: 2, arbitrary: fc.constantFrom(...mediaTypes) },
  headerText
)

// Malformed JSON carrying a secret, sent as JSON: a parser's message must not quote it back.
const malformedWithSecret = fc
  .tuple(fc.constantFrom('application/json', 'application/json; charset=utf-8'), secret, fc.constantFrom('{"token": "', '{"x": 1, ', "{'", '["', '{"a":', '', 'x'))
  .map(([type, s, open]) => ({ contentType: type, body: utf8(`${open}${s}`) }))

const payload = fc.oneof(
  { weight: 5, arbitrary: fc.record({ contentType: fc.option(contentType, { nil: undefined }), body: fc.option(bodyBytes, { nil: undefined }) }) },
  // A JSON body without a content type is read as none at all.
  { weight: 5, arbitrary: fc.record({ contentType: contentType, body: bodyBytes }) },
  { weight: 1, arbitrary: malformedWithSecret }
)

export const hostileRequest: fc.Arbitrary<HostileRequest> = fc
  .record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('GET', 'POST') },
      fc.constantFrom('HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'get')
    ),
    path,
    headers,
    payload
  })
  .map(({ payload: p, ...r }) => ({ ...r, ...p }))

const mutations = new Set(['create-stream', 'initiate', 'full', 'disrupt', 'restore'])

function parsedJson(body: Uint8Array): unknown {
  try {
    // Fastify's JSON parser drops a leading byte order mark; so does this.
    return JSON.parse(Buffer.from(body).toString('utf8').replace(/^\uFEFF/, ''))
  } catch {
    return undefined
  }
}

/**
 * A request that may carry the admin token must not fail a cluster over, wipe
 * one or disrupt one: the emulator and the engine are shared by every run.
 * Any body that parses as JSON is rewritten: a mutating action becomes
 * `status`, an object without an action gets `dry_run: true`, and a missing
 * body (which /admin/failover would take as "fail over now") becomes a dry
 * run. POST /admin/setup stays: the seeded stream is live, so it is refused.
 */
export function harmless(r: HostileRequest): HostileRequest {
  const mayBeAdmin = Object.values(r.headers).some((v) => v.includes(ADMIN_TOKEN))
  if (!mayBeAdmin || r.method !== 'POST') return r
  if (r.body === undefined) return { ...r, contentType: 'application/json', body: utf8('{"dry_run":true}') }
  const value = parsedJson(r.body)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return r
  const object = value as Record<string, unknown>
  const safe = 'action' in object ? { ...object, action: typeof object.action === 'string' && mutations.has(object.action) ? 'status' : object.action } : { ...object, dry_run: true }
  return { ...r, body: utf8(JSON.stringify(safe)) }
}

export interface Sent {
  status: number
  contentType: string
  text: string
}

export async function send(pool: Pool, r: HostileRequest): Promise<Sent> {
  const res = await pool.request({
    method: r.method as 'GET',
    path: r.path,
    headers: r.contentType === undefined ? r.headers : { ...r.headers, 'content-type': r.contentType },
    body: r.method === 'HEAD' ? undefined : r.body,
    // A fresh connection each time: the server may close one after a bad request.
    reset: true
  })
  const contentType = String(res.headers['content-type'] ?? '')
  // The status stream never ends by itself: its status and media type are the answer.
  if (contentType.startsWith('text/event-stream')) {
    res.body.destroy()
    return { status: res.statusCode, contentType, text: '' }
  }
  const text = await res.body.text()
  return { status: res.statusCode, contentType, text }
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(strings)
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)])
  return []
}

/**
 * Problems of one answer: a status or body the document does not promise, or,
 * in an error body, a secret or a header value the client sent. Header values
 * shorter than 6 characters are not looked for: "a" is in every message.
 */
export function problemsOf(r: HostileRequest, answer: Sent): string[] {
  const problems = answerProblems(r.method, r.path, answer.status, answer.contentType, answer.text)
  if (answer.status < 400 || !answer.contentType.startsWith('application/json')) return problems
  let body: unknown
  try {
    body = JSON.parse(answer.text)
  } catch {
    return problems
  }
  const said = strings(body)
  // A media type of the list may well be named in a message; an invented one must not.
  const invented = r.contentType === undefined || mediaTypes.includes(r.contentType) ? [] : [r.contentType]
  const sent = [...Object.values(r.headers), ...invented].map((v) => v.trim()).filter((v) => v.length >= 6)
  // A parser quoting the start of what it read leaks part of a secret: any 10
  // characters of one count.
  const pieces = [ADMIN_TOKEN, DEFAULT_API_KEY].flatMap((v) => Array.from({ length: v.length - 9 }, (_, i) => v.slice(i, i + 10)))
  for (const value of [...pieces, ...sent]) {
    if (said.some((s) => s.includes(value))) problems.push(`error body repeats ${JSON.stringify(value.slice(0, 40))}: ${answer.text.slice(0, 300)}`)
  }
  return problems
}
