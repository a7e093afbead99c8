import { dispatcherFor, type ProxySettings } from '../outbound.js'
import { API_VERSION } from './schemas.js'

// One HTTP exchange with the Cloud API over keep-alive connections (through the egress
// proxy, if one is set), bounded by a timeout.
// It only says what happened on the wire; retries and meaning live in client.ts.

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT'

export interface HttpRequest {
  method: Method
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
  timeoutMs: number
  signal?: AbortSignal
}

export type HttpResult =
  | { type: 'answer'; status: number; retryAfter: string | string[] | undefined; text: string }
  | { type: 'timeout' }
  | { type: 'network'; error: unknown }

export interface HttpOptions {
  baseUrl: string
  /** Read for each request: a key rotated in its file is used from the next one on. */
  apiKey: () => string
  connections: number
  proxy?: ProxySettings
}

export function createHttp(options: HttpOptions) {
  const base = new URL(options.baseUrl)
  const prefix = base.pathname.replace(/\/+$/, '')
  const dispatcher = dispatcherFor(base, options.proxy ?? {}, options.connections)
  const fixed = { 'cc-version': API_VERSION, accept: 'application/json' }

  async function send(request: HttpRequest): Promise<HttpResult> {
    const timer = new AbortController()
    const timeout = setTimeout(() => timer.abort(), request.timeoutMs)
    const signal = request.signal ? AbortSignal.any([request.signal, timer.signal]) : timer.signal
    try {
      const answer = await dispatcher.request({
        origin: base.origin,
        method: request.method,
        path: prefix + request.path + queryString(request.query),
        headers: {
          ...fixed,
          authorization: `Bearer ${options.apiKey()}`,
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal
      })
      const text = await answer.body.text()
      return { type: 'answer', status: answer.statusCode, retryAfter: answer.headers['retry-after'], text }
    } catch (error) {
      // The caller's own abort is not a Cloud API failure: hand back its reason untouched.
      if (request.signal?.aborted) throw request.signal.reason
      return timer.signal.aborted ? { type: 'timeout' } : { type: 'network', error }
    } finally {
      clearTimeout(timeout)
    }
  }

  return { send, close: () => dispatcher.close() }
}

function queryString(query: Record<string, string | undefined> | undefined): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(name, value)
  const text = params.toString()
  return text ? `?${text}` : ''
}
