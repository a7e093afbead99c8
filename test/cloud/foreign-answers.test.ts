import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createCloudClient, type CloudClient } from '../../src/cloud/client.js'
import { failure } from './setup.js'

// Answers the emulator never gives but the real path to the API can: a proxy's HTML error
// page, an error body without a message, JSON of the wrong kind, Retry-After as a date,
// a list in no particular order. A plain HTTP server on a real socket plays that path.

interface Answer {
  status: number
  headers?: Record<string, string>
  body: string
}

const START = Date.parse('2025-06-02T12:00:00.000Z')

async function foreign(t: { teardown(fn: () => unknown): void }, answer: (request: IncomingMessage) => Answer) {
  const seen: string[] = []
  const server = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`)
    const { status, headers, body } = answer(request)
    response.writeHead(status, headers).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let clock = START
  const client: CloudClient = createCloudClient({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    apiKey: 'k-foreign',
    timeoutSeconds: 2,
    retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    now: () => clock,
    sleep: async (ms) => {
      clock += ms
    }
  })
  t.teardown(async () => {
    await client.close()
    await new Promise((resolve) => server.close(resolve))
  })
  return { client, seen, advance: (ms: number) => (clock += ms) }
}


t.test("a proxy's HTML error page is an HTTP error without API details, retried", async (t) => {
  const { client, seen } = await foreign(t, () => ({
    status: 502,
    headers: { 'content-type': 'text/html' },
    body: '<html><body>Bad Gateway</body></html>'
  }))
  const error = await failure(client.getCluster('c'))
  t.match(error, { kind: 'http', status: 502, apiCode: undefined, apiMessage: undefined })
  t.equal(error.message, 'getCluster: HTTP 502 (attempt 2)')
  t.equal(seen.length, 2)
})

t.test('an error body with a code but no message', async (t) => {
  const { client } = await foreign(t, () => ({ status: 400, body: '{"code": 3}' }))
  const error = await failure(client.getCluster('c'))
  t.match(error, { kind: 'http', status: 400, apiCode: 3, apiMessage: undefined, message: 'getCluster: HTTP 400 (code 3)' })
})

t.test('JSON of the wrong kind is invalid_response at the root', async (t) => {
  const { client } = await foreign(t, () => ({ status: 200, body: '[]' }))
  const error = await failure(client.getCluster('c'))
  t.match(error, { kind: 'invalid_response', message: /^getCluster: invalid response \(HTTP 200\): \(root\): / })
})

t.test('Retry-After as an HTTP date closes the gate until that date', async (t) => {
  const { client, seen, advance } = await foreign(t, (request) =>
    request.url?.includes('first')
      ? { status: 429, headers: { 'retry-after': new Date(START + 30_000).toUTCString() }, body: '{}' }
      : { status: 404, body: '{"code": 5, "message": "not found"}' }
  )
  t.match(await failure(client.getCluster('first')), { kind: 'rate_limited', retryAfterMs: 30_000 })
  t.match(await failure(client.getCluster('second')), { kind: 'rate_limited', until: new Date(START + 30_000) })
  advance(30_000)
  t.match(await failure(client.getCluster('second')), { kind: 'http', status: 404 })
  t.equal(seen.length, 2)
})

t.test('discoverStream picks the newest stream whatever the order of the list', async (t) => {
  const stream = (id: string, created: string, primary = 'a', standby = 'b') => ({
    id,
    status: 'COMPLETED',
    primary_cluster_id: primary,
    standby_cluster_id: standby,
    created_at: created
  })
  const streams = [
    stream('middle', '2025-05-01T00:00:00Z', 'b', 'a'),
    stream('newest', '2025-06-01T00:00:00+02:00'),
    stream('other-pair', '2025-06-02T00:00:00Z', 'a', 'c'),
    stream('oldest', '2025-04-01T00:00:00Z')
  ]
  const { client } = await foreign(t, () => ({
    status: 200,
    body: JSON.stringify({ physical_replication_streams: streams, pagination: { next_page: '' } })
  }))
  t.match(await client.discoverStream('a', 'b'), { id: 'newest' })
})

t.test('a list ends at an empty page, even one that names a next page (spec: KeysetPaginationResponse)', async (t) => {
  const node = (name: string) => ({ name, region_name: 'r', status: 'LIVE' })
  const { client, seen } = await foreign(t, (request) => {
    const page = new URL(request.url ?? '', 'http://x').searchParams.get('pagination.page')
    if (page === null) return { status: 200, body: JSON.stringify({ nodes: [node('n0'), node('n1')], pagination: { next_page: 'p2' } }) }
    if (page === 'p2') return { status: 200, body: JSON.stringify({ nodes: [], pagination: { next_page: 'p3', previous_page: 'p1' } }) }
    return { status: 500, body: '{"code": 13, "message": "there is no page p3"}' }
  })
  t.same(
    (await client.listNodes('c')).map((n) => n.name),
    ['n0', 'n1']
  )
  t.equal(seen.length, 2, 'the empty page is the last one asked for')
})

t.test('a list whose next page repeats a token it already followed is an invalid answer, not a loop', async (t) => {
  const { client, seen } = await foreign(t, () => ({
    status: 200,
    body: JSON.stringify({ nodes: [{ name: 'n', region_name: 'r', status: 'LIVE' }], pagination: { next_page: 'same' } })
  }))
  const error = await failure(client.listNodes('c'))
  t.match(error, { kind: 'invalid_response', message: 'listNodes: invalid response (HTTP 200): pagination.next_page repeats a page already read' })
  t.equal(seen.length, 2)
})

t.test('timestamps with 0, 3, 6 or 9 fractional digits, in UTC or with an offset, all read (protojson Timestamp)', async (t) => {
  const times = [
    '2025-06-02T12:00:00Z',
    '2025-06-02T12:00:00.120Z',
    '2025-06-02T12:00:00.123456Z',
    '2025-06-02T12:00:00.123456789Z',
    '2025-06-02T14:00:00.1234567+02:00'
  ]
  const stream = (id: string, created: string) => ({
    id,
    status: 'REPLICATING',
    primary_cluster_id: 'a',
    standby_cluster_id: 'b',
    created_at: created,
    replicated_time: created,
    retained_time: created,
    failover_at: created
  })
  const { client } = await foreign(t, () => ({
    status: 200,
    body: JSON.stringify({ physical_replication_streams: times.map((time, i) => stream(`s${i}`, time)) })
  }))
  const streams = await client.listStreams()
  t.same(
    streams.map((s) => s.created_at),
    times,
    'kept as the API wrote them'
  )
  // s3 (.123456789) and s2 (.123456) fall in the same millisecond; the nanoseconds decide.
  t.match(await client.discoverStream('a', 'b'), { id: 's3' })
})
