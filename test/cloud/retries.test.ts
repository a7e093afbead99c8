import t from 'tap'
import { createCloudClient } from '../../src/cloud/client.js'
import { RateLimitedError } from '../../src/cloud/errors.js'
import { startEmulator } from '../../src/emulator/server.js'
import { failure, KEY, PRIMARY, setup, START, STREAM } from './setup.js'


t.test('5xx answers are retried with backoff until one succeeds', async (t) => {
  const { client, fault, requests, sleeps, events } = await setup(t, {
    client: { retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 } }
  })
  await fault({ operation: 'getCluster', kind: 'status', status: 500, count: 1 })
  await fault({ operation: 'getCluster', kind: 'status', status: 502, count: 1 })
  await fault({ operation: 'getCluster', kind: 'status', status: 503, count: 1 })
  await fault({ operation: 'getCluster', kind: 'status', status: 504, count: 1 })
  t.equal((await client.getCluster(PRIMARY, { budgetMs: 10_000 })).id, PRIMARY)
  t.equal((await requests('getCluster')).length, 5)
  t.same(sleeps, [50, 100, 200, 400])
  t.same(
    events.map((e) => [e.attempt, e.outcome, e.status]),
    [
      [1, 'http_error', 500],
      [2, 'http_error', 502],
      [3, 'http_error', 503],
      [4, 'http_error', 504],
      [5, 'ok', 200]
    ]
  )
})

t.test('a GET gives up after the configured attempts with the last error', async (t) => {
  const { client, fault, requests } = await setup(t)
  await fault({ operation: 'getCluster', kind: 'status', status: 503, code: 14, message: 'unavailable' })
  const error = await failure(client.getCluster(PRIMARY, { budgetMs: 10_000 }))
  t.match(error, { kind: 'http', status: 503, apiCode: 14, apiMessage: 'unavailable', operation: 'getCluster' })
  t.equal(error.message, 'getCluster: HTTP 503 (code 14): unavailable (attempt 4)')
  t.equal((await requests('getCluster')).length, 4)
})

t.test('501 and other 4xx are not retried', async (t) => {
  const { client, fault, requests, sleeps } = await setup(t)
  for (const status of [501, 400, 403, 404, 409]) {
    await fault({ operation: 'getStream', kind: 'status', status, count: 1 })
    // A 403 is a refusal naming the roles the key lacks (permissions.test.ts).
    t.match(await failure(client.getStream(STREAM)), { kind: status === 403 ? 'refused' : 'http', status }, `HTTP ${status}`)
  }
  t.equal((await requests('getStream')).length, 5, 'one request each')
  t.same(sleeps, [])
})

t.test('a wrong API key is a 401 with code 16, not retried', async (t) => {
  const { emu } = await setup(t)
  const client = createCloudClient({ baseUrl: emu.url, apiKey: 'wrong-key-7d41', timeoutSeconds: 1 })
  t.teardown(() => client.close())
  const error = await failure(client.getCluster(PRIMARY))
  t.match(error, { kind: 'http', status: 401, apiCode: 16 })
  t.equal(emu.requests.list().length, 1)
})

t.test('429 without Retry-After is retried with plain backoff', async (t) => {
  const { client, fault, sleeps } = await setup(t)
  await fault({ operation: 'listStreams', kind: 'status', status: 429, count: 1 })
  t.equal((await client.listStreams()).length, 1)
  t.same(sleeps, [50])
})

t.test('backoff doubles from baseDelayMs, is capped at maxDelayMs and jittered between half and all of it', async (t) => {
  const low = await setup(t, { client: { retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 300 }, random: () => 0 } })
  await low.fault({ operation: 'getCluster', kind: 'status', status: 500 })
  await failure(low.client.getCluster(PRIMARY, { budgetMs: 10_000 }))
  t.same(low.sleeps, [50, 100, 150, 150])

  const high = await setup(t, { client: { retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 300 }, random: () => 0.999 } })
  await high.fault({ operation: 'getCluster', kind: 'status', status: 500 })
  await failure(high.client.getCluster(PRIMARY, { budgetMs: 10_000 }))
  t.same(
    high.sleeps.map((ms) => Math.round(ms)),
    [100, 200, 300, 300]
  )
  high.sleeps.forEach((ms, i) => t.ok(ms < [100, 200, 300, 300][i]!, 'below the cap'))
})

t.test('retries stop when the wait and a full attempt no longer fit the budget', async (t) => {
  // timeout 500 ms, budget 1000 ms, backoff 100 ms doubling.
  const options = { timeoutSeconds: 0.5, retry: { attempts: 10, baseDelayMs: 100, maxDelayMs: 10_000 } }
  const low = await setup(t, { client: { ...options, random: () => 0 } })
  await low.fault({ operation: 'getCluster', kind: 'status', status: 500 })
  t.match(await failure(low.client.getCluster(PRIMARY, { budgetMs: 1000 })), { kind: 'http', status: 500 })
  // Waits 50, 100, 200; the next (400) + 500 exceeds the 650 ms left.
  t.same(low.sleeps, [50, 100, 200])
  t.equal((await low.requests('getCluster')).length, 4)

  const high = await setup(t, { client: { ...options, random: () => 0.999 } })
  await high.fault({ operation: 'getCluster', kind: 'status', status: 500 })
  await failure(high.client.getCluster(PRIMARY, { budgetMs: 1000 }))
  t.equal(high.sleeps.length, 2)
  t.equal((await high.requests('getCluster')).length, 3)
})

t.test('the default budget is three timeouts', async (t) => {
  // Real clock and real sleeps: two 500 ms hangs fit in 1500 ms, a third does not.
  const { client, fault, requests, events } = await setup(t, {
    client: { timeoutSeconds: 0.5, now: Date.now, sleep: undefined, retry: { baseDelayMs: 20, maxDelayMs: 20 } }
  })
  await fault({ operation: 'getCluster', kind: 'hang' })
  const started = Date.now()
  const error = await failure(client.getCluster(PRIMARY))
  t.match(error, { kind: 'timeout', operation: 'getCluster' })
  t.match(error.message, /^getCluster: no answer within 500 ms \(attempt 2\)$/)
  t.equal((await requests('getCluster')).length, 2)
  t.ok(Date.now() - started >= 1000, 'two full attempts')
  t.ok(events.every((e) => e.outcome === 'timeout' && e.durationMs >= 490))
})

t.test('a hang is cut at the timeout and retried', async (t) => {
  const { client, fault, events } = await setup(t, { client: { timeoutSeconds: 0.5 } })
  await fault({ operation: 'getDisruption', kind: 'hang', count: 1 })
  t.same(await client.getDisruption(PRIMARY), { regional_disruptor_specifications: [] })
  t.same(
    events.map((e) => e.outcome),
    ['timeout', 'ok']
  )
})

t.test('a budget shorter than the timeout bounds the attempt', async (t) => {
  const { client, fault } = await setup(t, { client: { timeoutSeconds: 5 } })
  await fault({ operation: 'getCluster', kind: 'hang' })
  const error = await failure(client.getCluster(PRIMARY, { budgetMs: 100 }))
  t.match(error, { kind: 'timeout', message: 'getCluster: no answer within 100 ms' })
})

t.test('a slow answer within the timeout is fine', async (t) => {
  const { client, fault, events } = await setup(t, { client: { now: Date.now } })
  await fault({ operation: 'getCluster', kind: 'latency', latency_ms: 100 })
  await client.getCluster(PRIMARY)
  t.ok(events[0]!.durationMs >= 90, `took ${events[0]!.durationMs} ms`)
})

t.test('connection resets are retried, and reported as network errors', async (t) => {
  const { client, fault, events, requests } = await setup(t)
  await fault({ operation: 'getStream', kind: 'reset', count: 2 })
  t.equal((await client.getStream(STREAM)).id, STREAM)
  t.same(
    events.map((e) => [e.outcome, e.status]),
    [
      ['network', undefined],
      ['network', undefined],
      ['ok', 200]
    ]
  )
  await fault({ operation: 'getStream', kind: 'reset' })
  const error = await failure(client.getStream(STREAM))
  t.match(error, { kind: 'network', operation: 'getStream', status: undefined })
  t.match(error.message, /^getStream: network error: .+ \(attempt 4\)$/)
  t.ok(error.cause instanceof Error, 'the socket error is kept as the cause')
  t.equal((await requests('getStream')).length, 3 + 4)
})

t.test('a refused connection is a network error', async (t) => {
  const gone = await startEmulator({ apiKey: KEY })
  await gone.close()
  const client = createCloudClient({
    baseUrl: gone.url,
    apiKey: KEY,
    timeoutSeconds: 1,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 }
  })
  t.teardown(() => client.close())
  const error = await failure(client.getCluster(PRIMARY))
  t.match(error, { kind: 'network', message: /ECONNREFUSED/ })
})

t.test('a body that is not JSON is invalid_response, not retried', async (t) => {
  const { client, fault, requests, events } = await setup(t)
  await fault({ operation: 'listNodes', kind: 'malformed', count: 1 })
  const error = await failure(client.listNodes(PRIMARY))
  t.match(error, { kind: 'invalid_response', status: 200, operation: 'listNodes' })
  t.equal(error.message, 'listNodes: invalid response (HTTP 200): not JSON')
  t.equal((await requests('listNodes')).length, 1)
  t.same(
    events.map((e) => e.outcome),
    ['invalid_response']
  )
})

t.test('an answer that does not fit the schema is invalid_response naming the fields', async (t) => {
  // A clock past year 9999 makes the emulator write timestamps no RFC 3339 parser accepts.
  const year10000 = Date.parse('9999-12-31T23:59:59.000Z') + 1000
  const { client } = await setup(t, { emulator: { now: () => year10000, stream: 'starting' } })
  const error = await failure(client.getStream(STREAM))
  t.match(error, { kind: 'invalid_response', status: 200 })
  t.match(error.message, /^getStream: invalid response \(HTTP 200\): created_at: /)
})

t.test('a Retry-After holds every operation: a call waits it out when it fits its budget, and fails at once without sending when not', async (t) => {
  const { client, fault, requests, events, sleeps, advance } = await setup(t)
  await fault({ operation: 'listNodes', kind: 'status', status: 429, retry_after_seconds: 5, count: 1 })
  const limited = await failure(client.listNodes(PRIMARY, { budgetMs: 4000 }))
  t.ok(limited instanceof RateLimitedError)
  t.match(limited, { kind: 'rate_limited', status: 429, apiCode: 8, retryAfterMs: 5000 })
  t.equal(limited.until?.getTime(), START + 5000)
  t.match(limited.message, /^listNodes: rate limited until 2025-06-02T12:00:05\.000Z: HTTP 429 \(code 8\)/)

  const short = { budgetMs: 4000 }
  for (const call of [
    () => client.getCluster(PRIMARY, short),
    () => client.getStream(STREAM, short),
    () => client.patchStream(STREAM, { status: 'FAILING_OVER' }, short),
    () => client.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: 'x' }, short),
    () => client.putDisruption(PRIMARY, [], short)
  ]) {
    const error = await failure(call())
    t.ok(error instanceof RateLimitedError)
    t.match(error, { kind: 'rate_limited', status: undefined, retryAfterMs: 5000, until: new Date(START + 5000) })
    t.match(error.message, /rate limited until 2025-06-02T12:00:05\.000Z, past this call's budget; request not sent$/)
  }
  t.equal((await requests()).length, 1, 'nothing else reached the API')
  t.same(
    events.slice(1).map((e) => [e.operation, e.outcome, e.status]),
    [
      ['getCluster', 'rate_limited_local', undefined],
      ['getStream', 'rate_limited_local', undefined],
      ['patchStream', 'rate_limited_local', undefined],
      ['createStream', 'rate_limited_local', undefined],
      ['putDisruption', 'rate_limited_local', undefined]
    ]
  )
  t.same(sleeps, [], 'no call waited')

  advance(1000)
  t.equal((await client.getCluster(PRIMARY, { budgetMs: 60_000 })).id, PRIMARY, 'a call with the time to spare waits')
  t.same(sleeps, [4000], 'exactly until the gate opens')
  t.equal((await requests()).length, 2)
})

t.test('503 with Retry-After is a rate limit too', async (t) => {
  const { client, fault, requests } = await setup(t)
  await fault({ operation: 'getCluster', kind: 'status', status: 503, retry_after_seconds: 30, count: 1 })
  t.match(await failure(client.getCluster(PRIMARY)), { kind: 'rate_limited', status: 503, retryAfterMs: 30_000 })
  t.match(await failure(client.getStream(STREAM)), { kind: 'rate_limited', status: undefined })
  t.equal((await requests()).length, 1)
})

t.test('a GET waits out a Retry-After that fits its budget', async (t) => {
  const { client, fault, requests, sleeps } = await setup(t)
  await fault({ operation: 'getCluster', kind: 'status', status: 429, retry_after_seconds: 2, count: 1 })
  t.equal((await client.getCluster(PRIMARY, { budgetMs: 5000 })).id, PRIMARY)
  t.same(sleeps, [2000], 'the Retry-After, longer than the backoff')
  t.equal((await requests('getCluster')).length, 2)
})

t.test('a Retry-After of 0 is only a backoff', async (t) => {
  const { client, fault, sleeps } = await setup(t)
  await fault({ operation: 'getCluster', kind: 'status', status: 429, retry_after_seconds: 0, count: 1 })
  await client.getCluster(PRIMARY)
  t.same(sleeps, [50])
})

t.test("the emulator's own rate limit is waited out", async (t) => {
  const { client, requests, sleeps } = await setup(t, { emulator: { rateLimit: { perSecond: 3 } } })
  for (let i = 0; i < 5; i++) await client.getCluster(PRIMARY, { budgetMs: 5000 })
  t.same(
    (await requests()).map((request) => request.status),
    [200, 200, 200, 429, 200, 200]
  )
  t.same(sleeps, [1000])
})

t.test('a call waits again for a gate another call moved further while it waited', async (t) => {
  let inFlight: Promise<unknown> | undefined
  const ctx = await setup(t, {
    emulator: { rateLimit: { perSecond: 1 } },
    client: {
      timeoutSeconds: 1,
      sleep: async (ms) => {
        ctx.sleeps.push(ms)
        ctx.advance(ms / 2)
        // Halfway through the wait, a request sent before the gate closed comes back rate limited.
        await inFlight
        ctx.advance(ms / 2)
      }
    }
  })
  await ctx.client.getDisruption(PRIMARY) // the one request the API takes in this second
  await ctx.fault({ operation: 'getStream', kind: 'latency', latency_ms: 100, count: 1 })
  await ctx.fault({ operation: 'getCluster', kind: 'status', status: 429, retry_after_seconds: 1, count: 1 })
  inFlight = failure(ctx.client.getStream(STREAM, { budgetMs: 500 }))
  const cluster = await ctx.client.getCluster(PRIMARY, { budgetMs: 5000 })
  t.match(await inFlight, { kind: 'rate_limited', status: 429, until: new Date(START + 1500) })
  t.equal(cluster.id, PRIMARY)
  t.same(ctx.sleeps, [1000, 500], 'its own Retry-After, then the rest of the one moved meanwhile')
  t.same((await ctx.requests('getCluster')).map((r) => r.status), [429, 200], 'never sent before the gate opened')
})

t.test('list pages share one budget', async (t) => {
  const ctx = await setup(t, {
    client: {
      pageLimit: 1,
      // Every request seems to take 600 ms by the client's clock.
      onRequest: () => ctx.advance(600)
    }
  })
  const error = await failure(ctx.client.listNodes(PRIMARY, { budgetMs: 1000 }))
  t.match(error, { kind: 'timeout', message: 'listNodes: call budget spent before the request could be sent' })
  t.equal((await ctx.requests('listNodes')).length, 2)
})

t.test("the caller's abort ends a call with the caller's reason", async (t) => {
  const realTime = { timeoutSeconds: 5, now: Date.now, sleep: undefined }
  const { client, fault } = await setup(t, { client: realTime })
  await fault({ operation: 'getCluster', kind: 'hang', count: 1 })
  const hung = await failure(client.getCluster(PRIMARY, { signal: AbortSignal.timeout(50) }))
  t.match(hung, { name: 'TimeoutError' }, 'aborted while the request hung')

  const reason = new Error('shutting down')
  t.equal(await failure(client.getCluster(PRIMARY, { signal: AbortSignal.abort(reason) })), reason, 'aborted before')

  const controller = new AbortController()
  const sleeper = await setup(t, {
    client: { ...realTime, retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 }, onRequest: () => controller.abort(reason) }
  })
  await sleeper.fault({ operation: 'getCluster', kind: 'status', status: 500, count: 1 })
  const error = await failure(sleeper.client.getCluster(PRIMARY, { signal: controller.signal, budgetMs: 600_000 }))
  t.equal(error, reason, 'aborted during the backoff')
})

t.test("the emulator's rate limit answering 503 is waited out like a 429", async (t) => {
  const { client, requests, sleeps } = await setup(t, { emulator: { rateLimit: { perSecond: 3, status: 503 } } })
  for (let i = 0; i < 5; i++) await client.getCluster(PRIMARY, { budgetMs: 5000 })
  t.same(
    (await requests()).map((request) => request.status),
    [200, 200, 200, 503, 200, 200]
  )
  t.same(sleeps, [1000])
})

t.test('a Retry-After longer than the budget fails at once, on the real clock too, and so do the calls after it', async (t) => {
  const { client, fault, requests } = await setup(t, { client: { now: Date.now, sleep: undefined, timeoutSeconds: 1 } })
  await fault({ operation: 'getCluster', kind: 'status', status: 503, retry_after_seconds: 30, count: 1 })
  const started = Date.now()
  t.match(await failure(client.getCluster(PRIMARY, { budgetMs: 10_000 })), { kind: 'rate_limited', status: 503, retryAfterMs: 30_000 })
  t.match(await failure(client.listStreams({}, { budgetMs: 10_000 })), { kind: 'rate_limited', status: undefined })
  t.match(await failure(client.patchStream(STREAM, { status: 'FAILING_OVER' })), { kind: 'rate_limited', status: undefined })
  t.ok(Date.now() - started < 1000, `no waiting: ${Date.now() - started} ms`)
  t.equal((await requests()).length, 1)
})
