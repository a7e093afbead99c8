import t from 'tap'
import type { WaitEvent } from '../../src/cloud/client.js'
import { RateLimitedError } from '../../src/cloud/errors.js'
import { failure, setup } from './setup.js'

// How the client spends the API's 10 requests a second: discovery reads one small page,
// refusals are waited out without counting as failures, and decisions go first.

const clusters = [
  { id: 'a', name: 'a', region: 'us-east1', cidrRange: '10.1.0.0/16' },
  { id: 'b', name: 'b', region: 'us-west2', cidrRange: '10.2.0.0/16' },
  { id: 'c', name: 'c', region: 'us-central1', cidrRange: '10.3.0.0/16' }
]

// A history of `count` canceled streams from a to c.
async function history(ctx: Awaited<ReturnType<typeof setup>>, count: number) {
  for (let i = 0; i < count; i++) {
    const created = await ctx.client.createStream({ primary_cluster_id: 'a', standby_cluster_id: 'c' })
    await ctx.control('POST', '/clock', { advance_seconds: 3600 })
    await ctx.client.patchStream(created.value.id, { status: 'CANCELED' })
  }
}

t.test("discovery reads the newest page only: one request, however long the cluster's history", async (t) => {
  const ctx = await setup(t, { emulator: { clusters, stream: 'none' }, client: { rateLimit: 1000 } })
  await history(ctx, 25)
  const pair = await ctx.client.createStream({ primary_cluster_id: 'a', standby_cluster_id: 'b' })
  await ctx.clearRequests()
  t.match(await ctx.client.discoverStream('a', 'b'), { id: pair.value.id })
  const requests = await ctx.requests()
  t.equal(requests.length, 1)
  t.match(requests[0]?.query, { cluster_id: 'a', show_completed: 'true', 'pagination.sort_order': 'DESC', 'pagination.limit': '10' })
})

t.test("discovery pages newest first until a page holds the pair's stream, and no further", async (t) => {
  const ctx = await setup(t, { emulator: { clusters, stream: 'none' }, client: { rateLimit: 1000 } })
  const pair = await ctx.client.createStream({ primary_cluster_id: 'a', standby_cluster_id: 'b' })
  await ctx.control('POST', '/clock', { advance_seconds: 3600 })
  await ctx.client.patchStream(pair.value.id, { status: 'CANCELED' })
  await history(ctx, 25)
  await ctx.clearRequests()
  t.match(await ctx.client.discoverStream('a', 'b'), { id: pair.value.id, status: 'CANCELED' })
  t.equal((await ctx.requests()).length, 3, '25 newer streams of a with c: three pages of ten')
})

t.test('refusals are waited out without counting as failures, and each wait is reported', async (t) => {
  const waits: WaitEvent[] = []
  const ctx = await setup(t, { client: { onWait: (event) => waits.push(event) } })
  await ctx.fault({ operation: 'getCluster', kind: 'status', status: 429, retry_after_seconds: 1, count: 6 })
  t.equal((await ctx.client.getCluster('c0ffee00-0000-4000-8000-000000000001', { budgetMs: 60_000 })).id, 'c0ffee00-0000-4000-8000-000000000001')
  t.equal((await ctx.requests('getCluster')).length, 7, 'six refusals, more than the four attempts a failing GET gets')
  t.same(
    ctx.events.map((e) => e.outcome),
    ['rate_limited', 'rate_limited', 'rate_limited', 'rate_limited', 'rate_limited', 'rate_limited', 'ok']
  )
  // The backoff (50 ms doubling to 500 ms here) stays under each Retry-After of a second.
  t.same(ctx.sleeps, [1000, 1000, 1000, 1000, 1000, 1000])
  t.same(
    waits.map((w) => [w.operation, w.cause, w.waitMs]),
    ctx.sleeps.map((ms) => ['getCluster', 'retry_after', ms])
  )
})

t.test('a refusal waited out in two sleeps (a timer woke 1 ms early by the wall clock) is one wait, as long as it really lasted', async (t) => {
  const waits: WaitEvent[] = []
  const ctx = await setup(t, {
    client: {
      onWait: (event) => waits.push(event),
      // Node's timers and Date.now() run on different clocks: a wait may end 1 ms short.
      sleep: async (ms) => {
        ctx.sleeps.push(ms)
        ctx.advance(ms > 1 ? ms - 1 : ms)
      }
    }
  })
  await ctx.fault({ operation: 'getCluster', kind: 'status', status: 429, retry_after_seconds: 1, count: 1 })
  t.equal((await ctx.client.getCluster('c0ffee00-0000-4000-8000-000000000001', { budgetMs: 60_000 })).id, 'c0ffee00-0000-4000-8000-000000000001')
  t.same(ctx.sleeps, [1000, 1], 'the gate is still waited out to the end')
  t.same(
    waits.map((w) => [w.operation, w.cause, w.waitMs]),
    [['getCluster', 'retry_after', 1000]]
  )
  t.same((await ctx.requests('getCluster')).map((r) => r.status), [429, 200])
})

t.test('a 500 still gets four attempts, refusals or not', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'getCluster', kind: 'status', status: 500, count: 4 })
  t.match(await failure(ctx.client.getCluster('c0ffee00-0000-4000-8000-000000000001', { budgetMs: 60_000 })), { kind: 'http', status: 500 })
  t.equal((await ctx.requests('getCluster')).length, 4)
})

t.test("over the client's budget, what decides a failover is sent before the reads queued ahead of it", async (t) => {
  const waits: WaitEvent[] = []
  const ctx = await setup(t, { client: { rateLimit: 2, onWait: (event) => waits.push(event) } })
  const primary = 'c0ffee00-0000-4000-8000-000000000001'
  const background = { priority: 'background' as const, budgetMs: 60_000 }
  await Promise.all([ctx.client.getDisruption(primary, background), ctx.client.getDisruption(primary, background)])
  // The window is full: these wait, and the decision, asked last, goes first.
  const queued = [ctx.client.getDisruption(primary, background), ctx.client.getDisruption(primary, background)]
  const decision = ctx.client.getStream('5eed0000-0000-4000-8000-000000000000', { priority: 'decide' })
  await Promise.all([...queued, decision])
  const operations = (await ctx.requests()).map((r) => r.operation)
  t.same(operations, ['getDisruption', 'getDisruption', 'getStream', 'getDisruption', 'getDisruption'])
  t.same(
    waits.map((w) => [w.operation, w.cause]),
    [
      ['getStream', 'budget'],
      ['getDisruption', 'budget'],
      ['getDisruption', 'budget']
    ]
  )
})

t.test('a PATCH that finds no slot in time is not sent, and says so as a rate limit: the core retries it, never counts it as asked', async (t) => {
  const ctx = await setup(t, { client: { rateLimit: 1 } })
  const stream = '5eed0000-0000-4000-8000-000000000000'
  await ctx.client.getStream(stream, { priority: 'decide' })
  // Two reads of the same rank queue first: the PATCH's slot would come in 3 s, past what it may wait.
  const ahead = [ctx.client.getStream(stream, { priority: 'decide' }), ctx.client.getStream(stream, { priority: 'decide' })]
  const error = await failure(ctx.client.patchStream(stream, { status: 'FAILING_OVER' }, { budgetMs: 1 }))
  await Promise.all(ahead)
  t.ok(error instanceof RateLimitedError)
  t.match(error, { kind: 'rate_limited', retryAfterMs: 1000, message: /no slot in the client's rate budget .* request not sent$/ })
  t.same((await ctx.requests()).map((r) => r.method), ['GET', 'GET', 'GET'], 'no PATCH reached the API')
  t.same(ctx.events.filter((e) => e.operation === 'patchStream').map((e) => e.outcome), ['rate_limited_local'])
})
