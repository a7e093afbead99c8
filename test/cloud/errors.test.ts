import { inspect } from 'node:util'
import t from 'tap'
import { createCloudClient } from '../../src/cloud/client.js'
import { CloudApiError, RateLimitedError, RefusedError, UnclearOutcomeError } from '../../src/cloud/errors.js'
import { failure, KEY, PRIMARY, setup, STREAM } from './setup.js'
import { waitFor } from '../../tools/wait-for.js'


t.test('no error ever shows the API key or the Authorization header', async (t) => {
  const ctx = await setup(t)
  const { client, fault } = ctx
  const errors: CloudApiError[] = []
  const collect = async (promise: Promise<unknown>) => errors.push(await failure(promise))

  // An API that quotes the key back, across lines, at length.
  const echo = `token "Bearer ${KEY}" is not valid\nsee ${'x'.repeat(500)}`
  await fault({ operation: 'getCluster', kind: 'status', status: 403, code: 7, message: echo, count: 1 })
  await collect(client.getCluster(PRIMARY))
  await fault({ operation: 'getCluster', kind: 'status', status: 500, message: `internal: ${KEY}`, count: 4 })
  await collect(client.getCluster(PRIMARY))
  await fault({ operation: 'patchStream', kind: 'status', status: 400, code: 9, message: KEY, count: 1 })
  await collect(client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  await fault({ operation: 'patchStream', kind: 'status', status: 500, message: KEY, count: 1 })
  await collect(client.patchStream(STREAM, { status: 'FAILING_OVER' }))
  await fault({ operation: 'getStream', kind: 'hang', count: 1 })
  await collect(client.getStream(STREAM, { budgetMs: 100 }))
  await fault({ operation: 'getStream', kind: 'reset', count: 4 })
  await collect(client.getStream(STREAM))
  await fault({ operation: 'listNodes', kind: 'malformed', count: 1 })
  await collect(client.listNodes(PRIMARY))
  await fault({ operation: 'getDisruption', kind: 'status', status: 429, retry_after_seconds: 9, message: KEY, count: 1 })
  await collect(client.getDisruption(PRIMARY))
  await collect(client.getDisruption(PRIMARY))
  const wrong = createCloudClient({ baseUrl: ctx.emu.url, apiKey: 'wrong-secret-5c7e', timeoutSeconds: 1 })
  t.teardown(() => wrong.close())
  const unauthenticated = await failure(wrong.getCluster(PRIMARY))

  t.same(
    errors.map((error) => error.kind),
    // A 403 is a refusal (PermissionDeniedError), even for a read.
    ['refused', 'http', 'refused', 'unclear_outcome', 'timeout', 'network', 'invalid_response', 'rate_limited', 'rate_limited']
  )
  for (const error of [...errors, unauthenticated]) {
    t.ok(error instanceof CloudApiError, error.kind)
    t.notMatch(error.message, /\n/, 'one line')
    t.ok(error.message.length < 450, 'short')
    for (const view of [error.message, JSON.stringify(error), inspect(error, { depth: 10 })]) {
      t.notOk(view.includes(KEY), 'not the key')
      t.notOk(view.includes('wrong-secret-5c7e'), 'not a wrong key either')
      t.notMatch(view, /authorization/i, 'no header')
    }
  }
  t.match(errors[0], { status: 403, apiCode: 7, apiMessage: /^token "Bearer \[redacted\]" is not valid see x+$/ })
  t.equal(errors[0]?.apiMessage?.length, 300)
})

t.test('the error classes', async (t) => {
  const stream = {
    id: 's',
    status: 'REPLICATING' as const,
    primary_cluster_id: 'a',
    standby_cluster_id: 'b',
    created_at: '2025-06-02T12:00:00.000Z'
  }
  const until = new Date(0)
  const limited = new RateLimitedError('rate limited', { operation: 'getCluster', retryAfterMs: 5, until })
  const refused = new RefusedError('refused', { operation: 'patchStream', status: 400, apiCode: 9, stream })
  const unclear = new UnclearOutcomeError('unclear', { operation: 'createStream' })
  const plain = new CloudApiError('network', 'network error: boom', { operation: 'listNodes', cause: new Error('boom') })
  t.match(limited, { name: 'RateLimitedError', kind: 'rate_limited', retryAfterMs: 5, until, message: 'getCluster: rate limited' })
  t.match(refused, { name: 'RefusedError', kind: 'refused', stream, apiCode: 9 })
  t.match(unclear, { name: 'UnclearOutcomeError', kind: 'unclear_outcome', stream: undefined, cause: undefined })
  t.match(plain, { name: 'CloudApiError', kind: 'network', cause: { message: 'boom' } })
  for (const error of [limited, refused, unclear, plain]) t.ok(error instanceof CloudApiError && error instanceof Error)
})

t.test('an empty API key is refused at once', async (t) => {
  t.throws(() => createCloudClient({ baseUrl: 'http://127.0.0.1:1', apiKey: '', timeoutSeconds: 1 }), TypeError)
})

t.test('close() ends the pool; later calls fail at once', async (t) => {
  const { client, requests, events } = await setup(t)
  await client.getCluster(PRIMARY)
  await client.close()
  await client.close()
  t.match(await failure(client.getCluster(PRIMARY)), { kind: 'network', message: 'getCluster: the client is closed' })
  t.match(await failure(client.patchStream(STREAM, { status: 'CANCELED' })), { kind: 'network', operation: 'patchStream' })
  t.equal((await requests()).length, 1)
  t.equal(events.length, 1, 'nothing was sent')
})

t.test('close() lets a request in flight finish', async (t) => {
  const { client, fault, requests } = await setup(t)
  await fault({ operation: 'getCluster', kind: 'latency', latency_ms: 100 })
  const inFlight = client.getCluster(PRIMARY)
  await waitFor('the request in flight', async () => (await requests()).length === 1, { timeoutMs: 5000 })
  await client.close()
  t.equal((await inFlight).id, PRIMARY)
})
