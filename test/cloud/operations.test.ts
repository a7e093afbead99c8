import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createCloudClient } from '../../src/cloud/client.js'
import { API_VERSION } from '../../src/cloud/schemas.js'
import { createEmulator } from '../../src/emulator/server.js'
import { KEY, PRIMARY, setup, STANDBY, STREAM } from './setup.js'

t.test('every request carries the key, the API version and a JSON body type', async (t) => {
  // The emulator's request log keeps no headers, so watch them arrive on its server.
  const { app } = createEmulator({ apiKey: KEY, rateLimit: false })
  const seen: Record<string, string | undefined>[] = []
  app.addHook('onRequest', async (request) => {
    const { authorization, accept } = request.headers
    seen.push({ authorization, accept, version: request.headers['cc-version'] as string, type: request.headers['content-type'] })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  // A trailing slash on the base URL does not double the path's.
  const client = createCloudClient({ baseUrl: `http://127.0.0.1:${port}/`, apiKey: KEY, timeoutSeconds: 1 })
  t.teardown(async () => {
    await client.close()
    await app.close()
  })
  await client.getCluster(PRIMARY)
  await client.putDisruption(PRIMARY, [])
  t.same(seen, [
    { authorization: `Bearer ${KEY}`, accept: 'application/json', version: API_VERSION, type: undefined },
    { authorization: `Bearer ${KEY}`, accept: 'application/json', version: API_VERSION, type: 'application/json' }
  ])
})

t.test('getCluster reads a cluster and reports the request', async (t) => {
  const { client, events, requests } = await setup(t)
  const cluster = await client.getCluster(PRIMARY)
  t.equal(cluster.id, PRIMARY)
  t.equal(cluster.state, 'CREATED')
  t.equal(cluster.regions[0]?.name, 'us-east1')
  const logged = await requests()
  t.match(logged, [{ method: 'GET', path: `/api/v1/clusters/${PRIMARY}`, operation: 'getCluster', status: 200 }])
  t.same(events, [{ operation: 'getCluster', method: 'GET', status: 200, outcome: 'ok', durationMs: 0, attempt: 1 }])
})

t.test('an unknown id is a 404 error with the API code, not retried', async (t) => {
  const { client, requests } = await setup(t)
  const error = await client.getCluster('no-such-cluster').catch((e: unknown) => e)
  t.match(error, { name: 'CloudApiError', kind: 'http', operation: 'getCluster', status: 404, apiCode: 5 })
  t.match((error as Error).message, /^getCluster: HTTP 404 \(code 5\): cluster no-such-cluster not found$/)
  t.equal((await requests()).length, 1)
  t.match(await client.getStream('nope').catch((e: unknown) => e), { kind: 'http', status: 404, apiCode: 5 })
})

t.test('listNodes follows next_page until the last page', async (t) => {
  const { client, requests, control } = await setup(t, { client: { pageLimit: 1 } })
  await control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY', names: ['cockroachdb-1'] })
  const nodes = await client.listNodes(PRIMARY)
  t.same(
    nodes.map((node) => [node.name, node.status]),
    [
      ['cockroachdb-0', 'LIVE'],
      ['cockroachdb-1', 'NOT_READY'],
      ['cockroachdb-2', 'LIVE']
    ]
  )
  const pages = await requests('listNodes')
  // The API names a next page after an exactly full one: the fourth page is empty, and the end.
  t.equal(pages.length, 4, 'one request per page, and one for the empty page after the last full one')
  t.same(pages[0]?.query, { 'pagination.limit': '1' })
  t.ok(pages[1]?.query['pagination.page'], 'later pages name the token')
  t.not(pages[1]?.query['pagination.page'], pages[2]?.query['pagination.page'])
})

t.test('listNodes without a page limit lets the API choose the page size', async (t) => {
  const { client, requests } = await setup(t, {
    emulator: { clusters: [{ id: 'big', name: 'big', region: 'us-east1', nodeCount: 5 }], stream: 'none' }
  })
  t.equal((await client.listNodes('big')).length, 5)
  t.same((await requests('listNodes'))[0]?.query, {})
})

t.test('getConnectionString passes the database and SQL user', async (t) => {
  const { client, requests } = await setup(t)
  const answer = await client.getConnectionString(PRIMARY, { database: 'bank', sqlUser: 'sidecar' })
  t.equal(answer.params.Database, 'bank')
  t.equal(answer.params.Username, 'sidecar')
  t.equal(answer.params.Port, '26257')
  t.match(answer.connection_string, /^postgresql:\/\/sidecar@.*\/bank/)
  const plain = await client.getConnectionString(STANDBY)
  t.equal(plain.params.Database, 'defaultdb')
  t.same(
    (await requests('getConnectionString')).map((request) => request.query),
    [{ database: 'bank', sql_user: 'sidecar' }, {}]
  )
})

t.test('getDisruption and putDisruption read and replace the disruption set', async (t) => {
  const { client, requests } = await setup(t)
  t.same(await client.getDisruption(PRIMARY), { regional_disruptor_specifications: [] })
  const specs = [{ region_code: 'us-east1', is_whole_region: true }]
  const put = await client.putDisruption(PRIMARY, specs)
  t.equal(put.confirmedBy, 'answer')
  t.match(put.value.regional_disruptor_specifications, specs)
  t.match((await client.getDisruption(PRIMARY)).regional_disruptor_specifications, specs)
  const [logged] = await requests('putDisruption')
  t.same(logged?.body, { regional_disruptor_specifications: specs })
  t.match(await client.getCluster(PRIMARY), { operation_status: 'CRDB_CLUSTER_DISRUPTION_RUNNING' })
})

t.test('getStream, createStream and patchStream', async (t) => {
  const { client, requests, control } = await setup(t)
  t.match(await client.getStream(STREAM), { id: STREAM, status: 'REPLICATING', primary_cluster_id: PRIMARY })
  const failing = await client.patchStream(STREAM, { status: 'FAILING_OVER' })
  t.equal(failing.confirmedBy, 'answer')
  t.equal(failing.value.status, 'FAILING_OVER')
  t.same((await requests('patchStream'))[0]?.body, { status: 'FAILING_OVER' })
  await control('POST', '/clock', { advance_seconds: 120 })
  t.match(await client.getStream(STREAM), { status: 'COMPLETED', activated_at: String })
  // The failback: a new stream from the promoted standby to the old primary.
  const reverse = await client.createStream({ primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  t.equal(reverse.confirmedBy, 'answer')
  t.match(reverse.value, { status: 'STARTING', primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  t.same((await requests('createStream'))[0]?.body, { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
})

t.test('a scheduled failover and a cancel', async (t) => {
  const { client, requests } = await setup(t)
  // Ten minutes ahead: the stream shows failover_at only for a time in the future (spec).
  const at = new Date(Date.parse((await client.getStream(STREAM)).replicated_time ?? '') + 600_000).toISOString()
  const scheduled = await client.patchStream(STREAM, { status: 'FAILING_OVER', failover_at: at })
  t.equal(Date.parse(scheduled.value.failover_at ?? ''), Date.parse(at), 'the same time, as protojson writes it')
  t.same((await requests('patchStream'))[0]?.body, { status: 'FAILING_OVER', failover_at: at })

  const other = await setup(t)
  t.match((await other.client.patchStream(STREAM, { status: 'CANCELED' })).value, { status: 'CANCELED', canceled_at: String })
})

t.test('listStreams filters, sorts and pages through every stream', async (t) => {
  const { client, requests, completeFailover, clearRequests } = await setup(t, { client: { pageLimit: 1 } })
  t.equal((await client.listStreams()).length, 1)
  await completeFailover()
  t.same(await client.listStreams(), [], 'completed streams are hidden by default')
  const reverse = await client.createStream({ primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  await clearRequests()

  const all = await client.listStreams({ showCompleted: true })
  t.same(
    all.map((stream) => stream.id),
    [STREAM, reverse.value.id]
  )
  t.equal((await requests('listStreams')).length, 3, 'two pages of one, then the empty page the API names after a full one')
  const newestFirst = await client.listStreams({ showCompleted: true, sortOrder: 'DESC' })
  t.same(
    newestFirst.map((stream) => stream.id),
    [reverse.value.id, STREAM]
  )
  const fromStandby = await client.listStreams({ primaryClusterId: STANDBY, standbyClusterId: PRIMARY })
  t.same(
    fromStandby.map((stream) => stream.id),
    [reverse.value.id]
  )
  const involving = await client.listStreams({ clusterId: PRIMARY, showCompleted: false })
  t.same(
    involving.map((stream) => stream.id),
    [reverse.value.id]
  )
  // The first request of each call (every page repeats the filter; a full last page is followed by an empty one).
  const queries = (await requests('listStreams')).map((request) => request.query).filter((query) => !query['pagination.page'])
  t.match(queries.at(-3), { 'pagination.sort_order': 'DESC', show_completed: 'true' })
  t.match(queries.at(-2), { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  t.match(queries.at(-1), { cluster_id: PRIMARY, show_completed: 'false' })
})

t.test('discoverStream finds the newest stream of the pair in either direction', async (t) => {
  const { client, completeFailover, requests } = await setup(t)
  t.match(await client.discoverStream(PRIMARY, STANDBY), { id: STREAM, status: 'REPLICATING' })
  t.match(await client.discoverStream(STANDBY, PRIMARY), { id: STREAM }, 'asked the other way round')
  t.match((await requests('listStreams')).at(-1)?.query, { show_completed: 'true', cluster_id: STANDBY })

  await completeFailover()
  t.match(await client.discoverStream(PRIMARY, STANDBY), { id: STREAM, status: 'COMPLETED' }, 'completed streams count')

  const reverse = await client.createStream({ primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  t.match(await client.discoverStream(PRIMARY, STANDBY), { id: reverse.value.id, status: 'STARTING' }, 'the failback is newer')
  t.match(await client.discoverStream(STANDBY, PRIMARY), { id: reverse.value.id })
})

t.test('discoverStream ignores streams with other clusters, and finds none when there is none', async (t) => {
  // GCP clusters replicate only with CIDR ranges that do not overlap.
  const clusters = [
    { id: 'a', name: 'a', region: 'us-east1', cidrRange: '10.1.0.0/16' },
    { id: 'b', name: 'b', region: 'us-west2', cidrRange: '10.2.0.0/16' },
    { id: 'c', name: 'c', region: 'us-central1', cidrRange: '10.3.0.0/16' }
  ]
  const { client } = await setup(t, { emulator: { clusters, stream: 'none' } })
  t.equal(await client.discoverStream('a', 'b'), undefined)
  await client.createStream({ primary_cluster_id: 'a', standby_cluster_id: 'c' })
  t.equal(await client.discoverStream('a', 'b'), undefined, 'a stream of a with another cluster')
  t.equal(await client.discoverStream('c', 'b'), undefined)
})
