import { API_VERSION } from '../../src/cloud/schemas.js'
import { API_PREFIX, CONTROL_PREFIX } from '../../src/emulator/cloud-routes.js'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../../src/emulator/server.js'
import { answerSchemaName, validateAgainstSpec } from './spec.js'

// A running emulator on a free port with a manual clock, and request helpers
// that check every API answer against the published specification.

export const START = Date.parse('2025-06-02T12:00:00.000Z')

export interface ManualClock {
  now(): number
  advance(seconds: number): void
}

export function manualClock(start = START): ManualClock {
  let t = start
  return {
    now: () => t,
    advance(seconds) {
      t += seconds * 1000
    }
  }
}

export interface TapLike {
  teardown(fn: () => unknown): void
  strictSame(found: unknown, wanted: unknown, message: string): boolean
}

export interface ApiRequest {
  /** Sent as JSON. */
  body?: unknown
  /** Sent as is, instead of `body`. */
  rawBody?: string
  headers?: Record<string, string>
  /** The API key; null sends no Authorization header. */
  key?: string | null
  /** The Cc-Version header; null sends none. */
  version?: string | null
}

export interface Answer {
  status: number
  headers: Headers
  /** The parsed JSON, read freely by the tests. */
  body: any
}

export interface TestEmulator extends RunningEmulator {
  clock: ManualClock
  /** A request to the Cloud API (path under /api/v1), its answer checked against the specification. */
  api(method: string, path: string, request?: ApiRequest): Promise<Answer>
  /** A request to the control API (path under /_emulator). */
  control(method: string, path: string, body?: unknown): Promise<Answer>
}

/** Problems of an error answer beyond the schema, which declares no required field. */
function statusProblems(body: { code?: unknown; message?: unknown; details?: unknown }): string[] {
  const problems: string[] = []
  if (!Number.isInteger(body.code)) problems.push('/code missing')
  if (typeof body.message !== 'string' || body.message === '') problems.push('/message missing')
  // Any messages (google.rpc.Status.details): objects naming their type, such as ErrorInfo.
  if (!Array.isArray(body.details)) problems.push('/details must be an array')
  else {
    body.details.forEach((detail: unknown, i) => {
      const type = (detail as { '@type'?: unknown } | null)?.['@type']
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) problems.push(`/details/${i} must be an object`)
      else if (typeof type !== 'string' || !type.includes('/')) problems.push(`/details/${i} must name its @type`)
    })
  }
  return problems
}

/**
 * Starts an emulator for one test, closed at its end. The clock is manual; the
 * rate limit is the real one (10 requests a second per key, on real time)
 * unless the options say otherwise: a test that sends more in a burst passes
 * `rateLimit: false` and says why.
 */
export async function startTestEmulator(t: TapLike, options: StartEmulatorOptions = {}): Promise<TestEmulator> {
  const clock = manualClock()
  const emulator = await startEmulator({ now: clock.now, ...options })
  t.teardown(() => emulator.close())

  async function api(method: string, path: string, request: ApiRequest = {}): Promise<Answer> {
    const headers: Record<string, string> = {}
    if (request.key !== null) headers.authorization = `Bearer ${request.key ?? DEFAULT_API_KEY}`
    if (request.version !== null) headers['cc-version'] = request.version ?? API_VERSION
    if (request.body !== undefined) headers['content-type'] = 'application/json'
    const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body))
    const response = await fetch(emulator.url + API_PREFIX + path, {
      method,
      headers: { ...headers, ...request.headers },
      body
    })
    const json = JSON.parse(await response.text())
    const schema = answerSchemaName(method, API_PREFIX + path, response.status)
    const problems = validateAgainstSpec(schema, json)
    if (response.status >= 400) problems.push(...statusProblems(json))
    t.strictSame(problems, [], `${method} ${path} → ${response.status} follows ${schema}`)
    return { status: response.status, headers: response.headers, body: json }
  }

  async function control(method: string, path: string, body?: unknown): Promise<Answer> {
    const response = await fetch(emulator.url + CONTROL_PREFIX + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text === '' ? null : JSON.parse(text) }
  }

  return { ...emulator, clock, api, control }
}
