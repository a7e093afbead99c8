import t from 'tap'
import { MALFORMED_BODY } from '../../src/emulator/cloud-routes.js'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STREAM_ID } from '../../src/emulator/seed.js'
import { startEmulator } from '../../src/emulator/server.js'
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js'
import { waitFor } from '../../tools/wait-for.js'

const CLUSTER = `/clusters/${PRIMARY}`
const STREAM = `/physical-replication-streams/${DEFAULT_STREAM_ID}`

const addFault = async (emu: TestEmulator, fault: Record<string, unknown>) => {
  const answer = await emu.control('POST', '/faults', fault)
  if (answer.status !== 201) throw new Error(`fault refused: ${JSON.stringify(answer.body)}`)
  return answer.body.id as string
}

/** A raw request with the right headers, for answers that are not JSON or never come. */
const rawRequest = (emu: TestEmulator, method: string, path: string, options: { body?: unknown; signal?: AbortSignal } = {}) =>
  fetch(`${emu.url}/api/v1${path}`, {
    method,
    headers: { authorization: 'Bearer emulator-secret-key', 'content-type': 'application/json' },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal
  })

const streamStatus = async (emu: TestEmulator) => (await emu.api('GET', STREAM)).body.status

t.test('status: the given HTTP status, gRPC code, message and Retry-After', async (t) => {
  const emu = await startTestEmulator(t)
  const id = await addFault(emu, {
    operation: 'getCluster',
    kind: 'status',
    status: 429,
    code: 8,
    message: 'rate limit exceeded (injected)',
    retry_after_seconds: 7,
    count: 1
  })
  t.equal(id, 'fault-1')
  const answer = await emu.api('GET', CLUSTER)
  t.equal(answer.status, 429)
  t.equal(answer.headers.get('retry-after'), '7')
  t.strictSame(answer.body, { code: 8, message: 'rate limit exceeded (injected)', details: [] })
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'count 1: the next request is normal')
})

t.test('status: defaults to 503 with code 14; the code follows the status', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'getCluster', kind: 'status', count: 1 })
  const unavailable = await emu.api('GET', CLUSTER)
  t.equal(unavailable.status, 503)
  t.equal(unavailable.headers.get('retry-after'), null)
  t.strictSame(unavailable.body, { code: 14, message: 'injected fault: HTTP 503', details: [] })
  for (const [status, code] of [
    [500, 13],
    [502, 13],
    [504, 4],
    [501, 12],
    [403, 7],
    [409, 3]
  ]) {
    await addFault(emu, { operation: 'getCluster', kind: 'status', status, count: 1 })
    const answer = await emu.api('GET', CLUSTER)
    t.equal(answer.status, status)
    t.equal(answer.body.code, code, `HTTP ${status}`)
  }
})

t.test('a fault applies to its operation only, or to all with *', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'listNodes', kind: 'status', status: 500 })
  t.equal((await emu.api('GET', CLUSTER)).status, 200)
  t.equal((await emu.api('GET', `${CLUSTER}/nodes`)).status, 500)
  t.equal((await emu.api('GET', `${CLUSTER}/nodes`)).status, 500, 'without count or duration it stays')
  await emu.control('DELETE', '/faults')
  t.equal((await emu.api('GET', `${CLUSTER}/nodes`)).status, 200, 'until cleared')

  await addFault(emu, { operation: '*', kind: 'status', status: 502, count: 9 })
  const all = [
    await emu.api('GET', CLUSTER),
    await emu.api('GET', `${CLUSTER}/nodes`),
    await emu.api('GET', `${CLUSTER}/connection-string`),
    await emu.api('GET', `${CLUSTER}/disrupt`),
    await emu.api('PUT', `${CLUSTER}/disrupt`, { body: {} }),
    await emu.api('GET', '/physical-replication-streams'),
    await emu.api('POST', '/physical-replication-streams', { body: {} }),
    await emu.api('GET', STREAM),
    await emu.api('PATCH', STREAM, { body: { status: 'CANCELED' } })
  ]
  t.strictSame(all.map((answer) => answer.status), Array(9).fill(502))
  t.equal(await streamStatus(emu), 'REPLICATING', 'the faulted PATCH had no effect')
  t.equal((await emu.api('GET', '/nowhere')).status, 404, 'an unknown path is not an operation')
})

t.test('count and duration', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'getCluster', kind: 'status', count: 2 })
  const statuses = [
    (await emu.api('GET', CLUSTER)).status,
    (await emu.api('GET', CLUSTER, { key: 'wrong' })).status,
    (await emu.api('GET', CLUSTER)).status
  ]
  t.strictSame(statuses, [503, 503, 200], 'a fault comes before authentication, and counts every request')

  const id = await addFault(emu, { operation: 'getCluster', kind: 'status', duration_seconds: 10 })
  const state = await emu.control('GET', '/state')
  t.match(state.body.faults, [{ id, operation: 'getCluster', kind: 'status', duration_seconds: 10, expires_at: '2025-06-02T12:00:10.000Z' }])
  emu.clock.advance(9.999)
  t.equal((await emu.api('GET', CLUSTER)).status, 503)
  emu.clock.advance(0.001)
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'expired')
  t.strictSame((await emu.control('GET', '/state')).body.faults, [])

  await addFault(emu, { operation: 'getCluster', kind: 'status', status: 500, count: 5, duration_seconds: 1 })
  t.match((await emu.control('GET', '/state')).body.faults, [{ remaining: 5 }])
  t.equal((await emu.api('GET', CLUSTER)).status, 500)
  t.match((await emu.control('GET', '/state')).body.faults, [{ remaining: 4 }])
  emu.clock.advance(1)
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'whichever ends first')
})

t.test('the first fault added wins; the next one waits its turn', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: '*', kind: 'status', status: 500, count: 1 })
  await addFault(emu, { operation: 'getCluster', kind: 'status', status: 502, count: 1 })
  t.equal((await emu.api('GET', CLUSTER)).status, 500)
  t.equal((await emu.api('GET', CLUSTER)).status, 502)
  t.equal((await emu.api('GET', CLUSTER)).status, 200)
})

t.test('latency: the answer comes late but whole', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'getStream', kind: 'latency', latency_ms: 150, count: 1 })
  const started = performance.now()
  const answer = await emu.api('GET', STREAM)
  t.ok(performance.now() - started >= 140, 'waited')
  t.equal(answer.body.status, 'REPLICATING')
})

t.test('hang: no answer; the client gives up, and closing does not wait', async (t) => {
  const emu = await startTestEmulator(t)
  const id = await addFault(emu, { operation: 'getCluster', kind: 'hang', count: 1 })
  const client = new AbortController()
  const hanging = rawRequest(emu, 'GET', CLUSTER, { signal: client.signal })
  await waitFor('the request received', () => emu.requests.list().length === 1, { timeoutMs: 5000 })
  // No answer shows only over time: 50 ms, ample for one that was coming on loopback.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(emu.requests.list(), [{ operation: 'getCluster', status: null, fault: id }], 'received, not answered')
  client.abort()
  await t.rejects(hanging, { name: 'AbortError' })
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'count 1: the next request is served')

  const other = await startEmulator({ rateLimit: false })
  other.faults.add({ operation: '*', kind: 'hang' })
  const pending = fetch(`${other.url}/api/v1${CLUSTER}`).catch((error: Error) => error)
  await waitFor('the request received', () => other.requests.list().length === 1, { timeoutMs: 5000 })
  const started = performance.now()
  await other.close()
  t.ok(performance.now() - started < 1000, 'closed promptly')
  t.type(await pending, Error, 'the hanging request ended with the server')
})

t.test('latency pending when the emulator closes ends at once', async (t) => {
  const other = await startEmulator({ rateLimit: false })
  other.faults.add({ operation: 'getCluster', kind: 'latency', latency_ms: 60_000 })
  const pending = fetch(`${other.url}/api/v1${CLUSTER}`).catch((error: Error) => error)
  await waitFor('the request received', () => other.requests.list().length === 1, { timeoutMs: 5000 })
  const started = performance.now()
  await other.close()
  t.ok(performance.now() - started < 1000, 'closed promptly')
  t.type(await pending, Error)
})

t.test('malformed: 200, JSON content type, a body cut short', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'getStream', kind: 'malformed', count: 1 })
  const response = await rawRequest(emu, 'GET', STREAM)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^application\/json/)
  const text = await response.text()
  t.equal(text, MALFORMED_BODY)
  t.throws(() => JSON.parse(text), SyntaxError)
})

t.test('reset: the connection is destroyed without an answer', async (t) => {
  const emu = await startTestEmulator(t)
  const id = await addFault(emu, { operation: 'listStreams', kind: 'reset', count: 1 })
  await t.rejects(rawRequest(emu, 'GET', '/physical-replication-streams'), { name: 'TypeError' })
  t.match((await emu.control('GET', '/requests')).body.requests, [{ operation: 'listStreams', status: null, fault: id }])
  t.equal((await emu.api('GET', '/physical-replication-streams')).status, 200, 'the next request is served')
})

t.test('a fault before the mutation leaves it undone', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'patchStream', kind: 'reset', count: 1 })
  await t.rejects(rawRequest(emu, 'PATCH', STREAM, { body: { status: 'FAILING_OVER' } }))
  t.equal(await streamStatus(emu), 'REPLICATING')
})

t.test('after: the mutation takes effect, then the answer is lost', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'patchStream', kind: 'reset', after: true, count: 1 })
  await t.rejects(rawRequest(emu, 'PATCH', STREAM, { body: { status: 'FAILING_OVER' } }))
  t.equal(await streamStatus(emu), 'FAILING_OVER', 'the failover took effect')
  t.match((await emu.control('GET', '/requests')).body.requests[0], { status: null, body: { status: 'FAILING_OVER' } })

  await emu.control('POST', '/reset')
  await addFault(emu, { operation: 'createStream', kind: 'hang', after: true, count: 1 })
  await emu.api('PATCH', STREAM, { body: { status: 'CANCELED' } })
  const body = { primary_cluster_id: PRIMARY, standby_cluster_id: 'c0ffee00-0000-4000-8000-000000000002' }
  const creating = new AbortController()
  const created = rawRequest(emu, 'POST', '/physical-replication-streams', { body, signal: creating.signal })
  await waitFor('the stream created', () => emu.state.snapshot().streams.length === 2, { timeoutMs: 5000 })
  creating.abort()
  await t.rejects(created)
  const list = await emu.api('GET', '/physical-replication-streams')
  t.strictSame(list.body.physical_replication_streams.map((s: { status: string }) => s.status), ['CANCELED', 'STARTING'])

  await emu.control('POST', '/reset')
  await addFault(emu, { operation: 'patchStream', kind: 'status', status: 504, after: true, count: 1 })
  t.equal((await emu.api('PATCH', STREAM, { body: { status: 'CANCELED' } })).status, 504)
  t.equal(await streamStatus(emu), 'CANCELED', 'a gateway timeout after the fact')

  await emu.control('POST', '/reset')
  await addFault(emu, { operation: 'putDisruption', kind: 'malformed', after: true, count: 1 })
  const disrupt = { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] }
  t.equal(await (await rawRequest(emu, 'PUT', `${CLUSTER}/disrupt`, { body: disrupt })).text(), MALFORMED_BODY)
  emu.clock.advance(emu.state.timings.disruptionApplySeconds) // the disruptor moves the nodes one by one
  t.equal(emu.state.isSqlAvailable(PRIMARY), false, 'the disruption took effect')

  await emu.control('POST', '/reset')
  await addFault(emu, { operation: 'patchStream', kind: 'latency', latency_ms: 60_000, after: true, count: 1 })
  const patching = new AbortController()
  let answered = false
  const slow = rawRequest(emu, 'PATCH', STREAM, { body: { status: 'FAILING_OVER' }, signal: patching.signal }).finally(() => {
    answered = true
  })
  await waitFor('the stream failing over', () => emu.state.getStream(DEFAULT_STREAM_ID).status === 'FAILING_OVER', { timeoutMs: 5000 })
  t.notOk(answered, 'a slow answer to a mutation already made')
  patching.abort()
  await t.rejects(slow)
})

t.test('after on a refused request: the refusal is what gets lost', async (t) => {
  const emu = await startTestEmulator(t)
  await addFault(emu, { operation: 'patchStream', kind: 'status', status: 503, after: true, count: 1 })
  const answer = await emu.api('PATCH', STREAM, { body: { status: 'REPLICATING' } })
  t.equal(answer.status, 503)
  t.equal(await streamStatus(emu), 'REPLICATING')
})
