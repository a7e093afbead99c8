import t from 'tap'
import { RateLimitedError, RefusedError, UnclearOutcomeError } from '../../src/cloud/errors.js'
import { failure, PRIMARY, setup, STANDBY, START, STREAM } from './setup.js'


const methods = async (ctx: Awaited<ReturnType<typeof setup>>) =>
  (await ctx.requests()).map((request) => `${request.method} ${request.operation} ${request.status}`)

t.test('patchStream: a connection lost after the failover took effect is confirmed by read-back', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  const result = await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })
  t.equal(result.confirmedBy, 'read_back')
  t.match(result.value, { id: STREAM, status: 'FAILING_OVER' })
  t.same(await methods(ctx), ['PATCH patchStream null', 'GET getStream 200'], 'one PATCH, then one read')
  t.same(
    ctx.events.map((e) => [e.operation, e.outcome]),
    [
      ['patchStream', 'network'],
      ['getStream', 'ok']
    ]
  )
})

t.test('patchStream: a hang after the failover took effect is confirmed by read-back', async (t) => {
  const ctx = await setup(t, { client: { timeoutSeconds: 0.5 } })
  await ctx.fault({ operation: 'patchStream', kind: 'hang', after: true, count: 1 })
  const result = await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })
  t.match(result, { confirmedBy: 'read_back', value: { status: 'FAILING_OVER' } })
  t.same(
    ctx.events.map((e) => e.outcome),
    ['timeout', 'ok']
  )
})

t.test('patchStream: COMPLETED by the time of the read-back also confirms a failover', async (t) => {
  const ctx = await setup(t, {
    client: {
      // The failover completes while the client finds out.
      onRequest: (event) => event.operation === 'patchStream' && ctx.advance(120_000)
    }
  })
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  t.match(await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }), {
    confirmedBy: 'read_back',
    value: { status: 'COMPLETED' }
  })
})

t.test('patchStream: a cancel is confirmed by read-back', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  t.match(await ctx.client.patchStream(STREAM, { status: 'CANCELED' }), {
    confirmedBy: 'read_back',
    value: { status: 'CANCELED' }
  })
})

t.test('patchStream: a success answer that cannot be read is checked by read-back', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'malformed', after: true, count: 1 })
  t.match(await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }), { confirmedBy: 'read_back' })
  t.same(await methods(ctx), ['PATCH patchStream 200', 'GET getStream 200'])
})

t.test('patchStream: no effect after a 5xx is an unclear outcome carrying the stream as read', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'status', status: 500, count: 1 })
  const error = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  t.ok(error instanceof UnclearOutcomeError)
  t.match(error, { kind: 'unclear_outcome', operation: 'patchStream', status: 500, apiCode: 13 })
  t.match(error.stream, { id: STREAM, status: 'REPLICATING' })
  t.equal(error.message, `patchStream: outcome unclear after HTTP 500; stream ${STREAM} reads REPLICATING`)
  t.match(error.cause, { kind: 'http', status: 500 })
  t.same(await methods(ctx), ['PATCH patchStream 500', 'GET getStream 200'], 'never a second PATCH')
})

t.test('patchStream: no effect after a reset or a hang is unclear too', async (t) => {
  const ctx = await setup(t, { client: { timeoutSeconds: 0.5 } })
  await ctx.fault({ operation: 'patchStream', kind: 'reset', count: 1 })
  const reset = await failure(ctx.client.patchStream(STREAM, { status: 'CANCELED' }))
  t.match(reset, { kind: 'unclear_outcome', status: undefined, stream: { status: 'REPLICATING' } })
  t.match(reset.message, /^patchStream: outcome unclear after network; stream .* reads REPLICATING$/)
  await ctx.fault({ operation: 'patchStream', kind: 'hang', count: 1 })
  const hang = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  t.match(hang.message, /^patchStream: outcome unclear after timeout;/)
  t.equal((await ctx.requests('patchStream')).length, 2, 'one PATCH per call')
})

t.test('patchStream: the read-back retries like any GET', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  await ctx.fault({ operation: 'getStream', kind: 'status', status: 503, count: 2 })
  t.match(await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }), { confirmedBy: 'read_back' })
  t.same(await methods(ctx), ['PATCH patchStream null', 'GET getStream 503', 'GET getStream 503', 'GET getStream 200'])
})

t.test('patchStream: when the read-back fails too, the outcome is unclear without a stream', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  await ctx.fault({ operation: 'getStream', kind: 'status', status: 404, code: 5, message: 'gone' })
  const error = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  t.match(error, { kind: 'unclear_outcome', stream: undefined })
  t.equal(error.message, 'patchStream: outcome unclear after network; read-back failed (getStream: HTTP 404 (code 5): gone)')
  t.equal((await ctx.requests('patchStream')).length, 1)
})

t.test('patchStream: the read-back gets one full attempt even when the budget is spent', async (t) => {
  const ctx = await setup(t, {
    // The PATCH seems to take the whole budget by the client's clock.
    client: { onRequest: (event) => event.operation === 'patchStream' && ctx.advance(10_000) }
  })
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  const result = await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }, { budgetMs: 1000 })
  t.match(result, { confirmedBy: 'read_back' })
})

t.test('patchStream: a refused transition reads the stream back and says why', async (t) => {
  const ctx = await setup(t)
  await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })
  const error = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  t.ok(error instanceof RefusedError)
  t.match(error, { kind: 'refused', status: 400, apiCode: 9, apiMessage: /is FAILING_OVER/ })
  t.match(error.stream, { id: STREAM, status: 'FAILING_OVER' }, 'the engine can adopt the failover under way')
  t.match(error.message, /^patchStream: refused, HTTP 400 \(code 9\): .*; stream .* reads FAILING_OVER$/)
  t.same(await methods(ctx), ['PATCH patchStream 200', 'PATCH patchStream 400', 'GET getStream 200'])
})

t.test('patchStream: an invalid argument (code 3) is a refusal too', async (t) => {
  const ctx = await setup(t)
  const tooLate = new Date(START + 2 * 3600_000).toISOString()
  const error = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER', failover_at: tooLate }))
  t.match(error, { kind: 'refused', status: 400, apiCode: 3, stream: { status: 'REPLICATING' } })
})

t.test('patchStream: a refusal whose read-back fails has no stream', async (t) => {
  const ctx = await setup(t)
  const error = await failure(ctx.client.patchStream('no-such-stream', { status: 'CANCELED' }))
  t.match(error, { kind: 'refused', status: 404, apiCode: 5, stream: undefined })
  t.match(error.message, /^patchStream: refused, HTTP 404 \(code 5\): .*; read-back failed \(getStream: HTTP 404/)
})

t.test('patchStream: a 429 was not processed: no read-back', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'status', status: 429, retry_after_seconds: 3, count: 1 })
  const limited = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  t.ok(limited instanceof RateLimitedError)
  t.match(limited, { kind: 'rate_limited', status: 429, retryAfterMs: 3000 })
  ctx.advance(3000)
  await ctx.fault({ operation: 'patchStream', kind: 'status', status: 429, count: 1 })
  t.match(await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })), { kind: 'http', status: 429 })
  t.same(await methods(ctx), ['PATCH patchStream 429', 'PATCH patchStream 429'])
})

t.test('patchStream: a 501 is a plain error', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'status', status: 501, count: 1 })
  t.match(await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })), { kind: 'http', status: 501 })
  t.equal((await ctx.requests()).length, 1)
})

t.test('patchStream: a 503 with Retry-After was not processed, like a 429: no read-back', async (t) => {
  // The rate limit's status is not documented; a 503 with Retry-After is its other face.
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'status', status: 503, retry_after_seconds: 3, count: 1 })
  const limited = await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }, { budgetMs: 60_000 }))
  t.ok(limited instanceof RateLimitedError)
  t.match(limited, { kind: 'rate_limited', status: 503, retryAfterMs: 3000, until: new Date(START + 3000) })
  t.same(await methods(ctx), ['PATCH patchStream 503'], 'never read back, never sent again')
  t.same(ctx.sleeps, [])
  ctx.advance(3000)
  t.match((await ctx.client.getStream(STREAM)).status, 'REPLICATING')
})

t.test("createStream and putDisruption: refused by the emulator's rate limit (503), not processed, so sent again once it lifts", async (t) => {
  const ctx = await setup(t, { emulator: { stream: 'none', rateLimit: { perSecond: 1, status: 503 } } })
  await ctx.client.getCluster(PRIMARY)
  const create = await ctx.client.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY })
  t.match(create, { confirmedBy: 'answer', value: { primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY } })
  const put = await ctx.client.putDisruption(PRIMARY, [])
  t.match(put, { confirmedBy: 'answer' })
  t.same(ctx.sleeps, [1000, 1000], 'each waited out its Retry-After')
  t.same((await methods(ctx)).map((m) => m.replace(/ \d+$/, (code) => (code.trim().startsWith('2') ? ' 2xx' : code))), [
    'GET getCluster 2xx',
    'POST createStream 503',
    'POST createStream 2xx',
    'PUT putDisruption 503',
    'PUT putDisruption 2xx'
  ])
  t.equal((await ctx.client.listStreams({ showCompleted: true })).length, 1, 'one stream: created once')
})

t.test('patchStream: a 503 without Retry-After is still unclear, and read back', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'patchStream', kind: 'status', status: 503, after: true, count: 1 })
  const result = await ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })
  t.match(result, { confirmedBy: 'read_back', value: { status: 'FAILING_OVER' } })
  t.same(await methods(ctx), ['PATCH patchStream 503', 'GET getStream 200'])
})

t.test("patchStream: the caller's abort during the read-back ends the call", async (t) => {
  const controller = new AbortController()
  const reason = new Error('stopping')
  const ctx = await setup(t, { client: { onRequest: () => controller.abort(reason) } })
  await ctx.fault({ operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  t.equal(await failure(ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' }, { signal: controller.signal })), reason)
})

t.test('createStream: a lost answer is confirmed by finding the new stream', async (t) => {
  const ctx = await setup(t, { emulator: { stream: 'none' } })
  await ctx.fault({ operation: 'createStream', kind: 'reset', after: true, count: 1 })
  const result = await ctx.client.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY })
  t.equal(result.confirmedBy, 'read_back')
  t.match(result.value, { status: 'STARTING', primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY })
  t.same(await methods(ctx), ['POST createStream null', 'GET listStreams 200'])
  t.match((await ctx.requests('listStreams'))[0]?.query, {
    primary_cluster_id: PRIMARY,
    standby_cluster_id: STANDBY,
    show_completed: 'true'
  })
})

t.test('createStream: a hang after creation is confirmed too', async (t) => {
  const ctx = await setup(t, { emulator: { stream: 'none' }, client: { timeoutSeconds: 0.5 } })
  await ctx.fault({ operation: 'createStream', kind: 'hang', after: true, count: 1 })
  const result = await ctx.client.createStream({ primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  t.match(result, { confirmedBy: 'read_back', value: { primary_cluster_id: STANDBY } })
})

t.test('createStream: an older stream of the pair does not count as created', async (t) => {
  const ctx = await setup(t)
  await ctx.client.patchStream(STREAM, { status: 'CANCELED' })
  await ctx.fault({ operation: 'createStream', kind: 'status', status: 502, count: 1 })
  const error = await failure(ctx.client.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY }))
  t.match(error, { kind: 'unclear_outcome', status: 502, stream: undefined })
  t.equal(error.message, 'createStream: outcome unclear after HTTP 502; no stream for the pair was created since the call')
  t.equal((await ctx.requests('createStream')).length, 1)
})

t.test('createStream: a failed read-back leaves the outcome unclear', async (t) => {
  const ctx = await setup(t, { emulator: { stream: 'none' } })
  await ctx.fault({ operation: 'createStream', kind: 'reset', after: true, count: 1 })
  await ctx.fault({ operation: 'listStreams', kind: 'malformed' })
  const error = await failure(ctx.client.createStream({ primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY }))
  t.match(error, { kind: 'unclear_outcome', status: undefined })
  t.match(error.message, /read-back failed \(listStreams: invalid response \(HTTP 200\): not JSON\)$/)
})

t.test('createStream: a refusal is a plain HTTP error, not read back', async (t) => {
  const ctx = await setup(t)
  const error = await failure(ctx.client.createStream({ primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY }))
  t.match(error, { kind: 'http', status: 400, apiCode: 9, apiMessage: /already takes part/ })
  t.same(await methods(ctx), ['POST createStream 400'])
})

t.test('putDisruption: a lost answer is confirmed when the disruption reads back the same', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'putDisruption', kind: 'reset', after: true, count: 1 })
  const specs = [{ region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-2', 'cockroachdb-0'] }]
  const result = await ctx.client.putDisruption(PRIMARY, specs)
  t.equal(result.confirmedBy, 'read_back')
  t.match(result.value.regional_disruptor_specifications, specs)
  t.same(await methods(ctx), ['PUT putDisruption null', 'GET getDisruption 200'])
})

t.test('putDisruption: an end of disruption is confirmed the same way', async (t) => {
  const ctx = await setup(t, { client: { timeoutSeconds: 0.5 } })
  await ctx.client.putDisruption(PRIMARY, [{ region_code: 'us-east1', is_whole_region: true }])
  await ctx.fault({ operation: 'putDisruption', kind: 'hang', after: true, count: 1 })
  t.match(await ctx.client.putDisruption(PRIMARY, []), {
    confirmedBy: 'read_back',
    value: { regional_disruptor_specifications: [] }
  })
})

t.test('putDisruption: a different disruption read back is an unclear outcome', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'putDisruption', kind: 'status', status: 500, count: 1 })
  const error = await failure(ctx.client.putDisruption(PRIMARY, [{ region_code: 'us-east1', is_whole_region: true }]))
  t.match(error, { kind: 'unclear_outcome', status: 500 })
  t.equal(error.message, 'putDisruption: outcome unclear after HTTP 500; the disruption reads back different')
  t.same(await methods(ctx), ['PUT putDisruption 500', 'GET getDisruption 200'])
})

t.test('putDisruption: a failed read-back leaves the outcome unclear', async (t) => {
  const ctx = await setup(t)
  await ctx.fault({ operation: 'putDisruption', kind: 'reset', count: 1 })
  await ctx.fault({ operation: 'getDisruption', kind: 'status', status: 401 })
  const error = await failure(ctx.client.putDisruption(PRIMARY, []))
  t.match(error.message, /read-back failed \(getDisruption: HTTP 401 \(code 16\)/)
})

t.test('putDisruption: a refusal is a plain HTTP error, not read back', async (t) => {
  const ctx = await setup(t)
  const error = await failure(ctx.client.putDisruption(PRIMARY, [{ region_code: 'mars-1', is_whole_region: true }]))
  t.match(error, { kind: 'http', status: 400, apiCode: 3 })
  t.same(await methods(ctx), ['PUT putDisruption 400'])
})

t.test("patchStream: the read-back waits out a Retry-After another call received meanwhile, when it fits", async (t) => {
  const ctx = await setup(t, { client: { timeoutSeconds: 0.5 } })
  // The PATCH takes effect and its answer never comes; meanwhile a read is told to wait a second.
  await ctx.fault({ operation: 'patchStream', kind: 'hang', after: true, count: 1 })
  await ctx.fault({ operation: 'getCluster', kind: 'status', status: 429, retry_after_seconds: 1, count: 1 })
  const patch = ctx.client.patchStream(STREAM, { status: 'FAILING_OVER' })
  t.match(await failure(ctx.client.getCluster(PRIMARY, { budgetMs: 500 })), { kind: 'rate_limited', status: 429 })
  t.match(await patch, { confirmedBy: 'read_back', value: { status: 'FAILING_OVER' } })
  t.same(ctx.sleeps, [1000], 'the read-back waited for the gate')
  // The PATCH and the read race to the API; the read-back comes after both.
  t.same((await methods(ctx)).slice(0, 2).sort(), ['GET getCluster 429', 'PATCH patchStream null'])
  t.equal((await methods(ctx))[2], 'GET getStream 200')
})
