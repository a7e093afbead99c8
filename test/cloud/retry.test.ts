import t from 'tap'
import { CloudApiError } from '../../src/cloud/errors.js'
import { backoffDelay, DEFAULT_RETRY, isTransient, parseRetryAfter } from '../../src/cloud/retry.js'

t.test('backoff is capped exponential with equal jitter', async (t) => {
  const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 }
  // random() = 0 gives the floor (half the cap), random() → 1 approaches the cap.
  t.same(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0)),
    [50, 100, 200, 400, 500, 500]
  )
  t.same(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0.5)),
    [75, 150, 300, 600, 750, 750]
  )
  for (let n = 1; n <= 8; n++) {
    const cap = Math.min(1000, 100 * 2 ** (n - 1))
    const high = backoffDelay(n, policy, () => 0.999999)
    t.ok(high >= cap / 2 && high < cap, `attempt ${n}: ${high} within [${cap / 2}, ${cap})`)
  }
  t.same(DEFAULT_RETRY, { attempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 })
})

t.test('Retry-After is read as seconds or as an HTTP date', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  t.equal(parseRetryAfter('3', now), 3000)
  t.equal(parseRetryAfter(' 0 ', now), 0)
  t.equal(parseRetryAfter('1.5', now), 1500)
  t.equal(parseRetryAfter(['2', '9'], now), 2000, 'first of repeated headers')
  t.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000)
  t.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0, 'a past date means now')
  t.equal(parseRetryAfter(undefined, now), undefined)
  t.equal(parseRetryAfter('', now), undefined)
  t.equal(parseRetryAfter([], now), undefined)
  t.equal(parseRetryAfter('soon', now), undefined)
  t.equal(parseRetryAfter('-1', now), undefined)
})

t.test('transient failures are no answer, 429 and 5xx but 501', async (t) => {
  const error = (kind: 'http' | 'timeout' | 'network' | 'invalid_response', status?: number) =>
    new CloudApiError(kind, 'x', { operation: 'getCluster', status })
  t.ok(isTransient(error('timeout')))
  t.ok(isTransient(error('network')))
  t.ok(isTransient(error('http', 429)))
  t.ok(isTransient(error('http', 500)))
  t.ok(isTransient(error('http', 503)))
  t.notOk(isTransient(error('http', 501)))
  t.notOk(isTransient(error('http', 400)))
  t.notOk(isTransient(error('http', 404)))
  t.notOk(isTransient(error('invalid_response', 200)))
})
