import { setTimeout as delay } from 'node:timers/promises'
import { request } from 'undici'
import { backoffDelay, parseRetryAfter } from '../cloud/retry.js'
import { scrubber } from '../logger.js'
import { dispatcherFor, type ProxySettings } from '../outbound.js'
import { oneLine, type HookLog, type Outcome, type Sink } from './outcome.js'
import type { HookPayload } from './payload.js'

// POSTs the payload as JSON. 5xx, 408, 429, timeouts and network errors are
// retried with capped exponential backoff (or the receiver's Retry-After, within
// the same cap); any other answer is final. The URL is a credential: it appears
// in no reason and no log line.

export interface WebhookOptions {
  url: string
  timeoutMs: number
  retries: number
  backoffMs: number
  // Prefix of the Idempotency-Key: the same event is the same key on every attempt.
  instanceId: string
  log: HookLog
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
  proxy?: ProxySettings
  sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>
  random?: () => number
}

type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string; retryAfterMs?: number }

// The longest single wait, from the backoff or from Retry-After: a notification
// an hour late is not worth holding the events behind it.
const maxDelayMs = 60_000
const bodyPreviewBytes = 512

// Enough of the answer to explain a refusal (Slack says `invalid_token`), no more.
async function preview(body: AsyncIterable<Buffer>): Promise<string> {
  let text = ''
  for await (const chunk of body) {
    text += chunk.toString('utf8')
    if (text.length >= bodyPreviewBytes) break
  }
  return text
}

export function createWebhookSender(options: WebhookOptions): Sink {
  const agent = dispatcherFor(new URL(options.url), options.proxy ?? {})
  const sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }))
  const random = options.random ?? Math.random
  const { pathname, search } = new URL(options.url)
  const scrub = scrubber([options.url, ...(pathname.length + search.length > 1 ? [pathname + search] : [])])

  async function exchange(body: string, key: string, signal: AbortSignal): Promise<Attempt> {
    const answer = await request(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'pcr-sidecar', 'idempotency-key': key },
      body,
      signal,
      dispatcher: agent
    })
    const status = answer.statusCode
    const text = await preview(answer.body)
    if (status >= 200 && status < 300) return { ok: true }
    return {
      ok: false,
      retry: status >= 500 || status === 408 || status === 429,
      reason: oneLine(scrub(`HTTP ${status}${text.trim() === '' ? '' : `: ${text}`}`)),
      retryAfterMs: parseRetryAfter(answer.headers['retry-after'], Date.now())
    }
  }

  async function attempt(body: string, key: string, signal: AbortSignal): Promise<Attempt> {
    const timer = new AbortController()
    const timeout = setTimeout(() => timer.abort(), options.timeoutMs)
    const result = await exchange(body, key, AbortSignal.any([signal, timer.signal])).catch(
      (error: Error): Attempt => ({
        ok: false,
        retry: true,
        reason: timer.signal.aborted ? `no answer within ${options.timeoutMs / 1000} s` : oneLine(scrub(`network error: ${error.message}`))
      })
    )
    clearTimeout(timeout)
    return result
  }

  return {
    name: 'webhook',
    deliver(payload: HookPayload, signal: AbortSignal): Promise<Outcome> {
      const body = JSON.stringify(payload)
      const key = `${options.instanceId}-${payload.event.id}`
      const context = { hook: 'webhook', eventId: payload.event.id, eventType: payload.event.type }
      const policy = { attempts: options.retries + 1, baseDelayMs: options.backoffMs, maxDelayMs }
      const from = async (attempts: number): Promise<Outcome> => {
        const result = await attempt(body, key, signal)
        if (signal.aborted) return { status: 'abandoned', attempts }
        if (result.ok) return { status: 'delivered', attempts }
        if (!result.retry || attempts > options.retries) return { status: 'failed', attempts, reason: result.reason }
        const waitMs = Math.round(Math.min(result.retryAfterMs ?? backoffDelay(attempts, policy, random), maxDelayMs))
        options.log.warn({ ...context, attempt: attempts, reason: result.reason, retryInMs: waitMs }, 'webhook attempt failed; retrying')
        try {
          await sleep(waitMs, signal)
        } catch {
          return { status: 'abandoned', attempts }
        }
        return from(attempts + 1)
      }
      return from(1)
    },
    close: () => agent.close()
  }
}
