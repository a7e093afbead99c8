import t, { type Test } from 'tap'
import type { ClusterSeed } from '../../src/emulator/seed.js'
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js'

// The `empty` and `truncated` faults of the stream listing: 200 and a
// well-formed page (each answer is checked against the specification) that
// misses streams, with no next page to say so.

const LIST = '/physical-replication-streams'

/** Clusters a..f, one region each, CIDR ranges apart (GCP needs them so), no stream. */
const sixClusters: ClusterSeed[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({
  id,
  name: id,
  region: 'us-east1',
  cidrRange: `10.${i}.0.0/16`
}))

const addFault = async (emu: TestEmulator, fault: Record<string, unknown>) => {
  const answer = await emu.control('POST', '/faults', fault)
  if (answer.status !== 201) throw new Error(`fault refused: ${JSON.stringify(answer.body)}`)
  return answer.body.id as string
}

/** Streams a→b, c→d, e→f, a minute apart (0 is the oldest), and the emulator serving them. */
async function threeStreams(t: Test) {
  // More than ten requests in a row: the rate limit is not what these tests are about.
  const emu = await startTestEmulator(t, { stream: 'none', clusters: sixClusters, rateLimit: false })
  const ids: string[] = []
  const createdAt: string[] = []
  for (const [primary, standby] of [['a', 'b'], ['c', 'd'], ['e', 'f']]) {
    const created = await emu.api('POST', LIST, { body: { primary_cluster_id: primary, standby_cluster_id: standby } })
    ids.push(created.body.id)
    createdAt.push(created.body.created_at)
    emu.clock.advance(60)
  }
  const list = async (query = '') => {
    const answer = await emu.api('GET', `${LIST}?${query}`)
    t.equal(answer.status, 200, query)
    return {
      ids: answer.body.physical_replication_streams.map((s: { id: string }) => ids.indexOf(s.id)),
      pagination: answer.body.pagination
    }
  }
  return { emu, list, createdAt }
}

t.test('empty: a page without streams and without a next page, for count requests', async (t) => {
  const { emu, list } = await threeStreams(t)
  const id = await addFault(emu, { operation: 'listStreams', kind: 'empty', count: 2 })
  t.strictSame(await list(), { ids: [], pagination: {} })
  t.strictSame(await list('pagination.limit=1&cluster_id=a'), { ids: [], pagination: {} }, 'whatever the query')
  t.strictSame((await list()).ids, [0, 1, 2], 'then the whole listing again')
  const listings = emu.requests.list().filter((request) => request.operation === 'listStreams')
  t.strictSame(listings.map((request) => [request.status, request.fault]), [[200, id], [200, id], [200, null]], 'logged as answered, with the fault')
})

t.test('truncated: the matching streams but the newest, in the order asked, on one page', async (t) => {
  const { emu, list, createdAt } = await threeStreams(t)
  await addFault(emu, { operation: 'listStreams', kind: 'truncated' })
  t.strictSame(await list(), { ids: [0, 1], pagination: {} })
  t.strictSame((await list('pagination.sort_order=DESC')).ids, [1, 0])
  t.strictSame(await list('pagination.limit=1'), { ids: [0], pagination: {} }, 'a full page, yet no next page')
  t.strictSame((await list('cluster_id=a')).ids, [], 'the only match is the newest match')
  t.strictSame((await list(`pagination.as_of_time=${createdAt[1]}`)).ids, [0], 'the newest of those listed as of then')

  await emu.control('DELETE', '/faults')
  const first = await list('pagination.limit=2')
  await addFault(emu, { operation: 'listStreams', kind: 'truncated', count: 1 })
  t.strictSame((await list(`pagination.limit=2&pagination.page=${first.pagination.next_page}`)).ids, [0, 1], 'whatever page was asked for')
  t.strictSame((await list(`pagination.limit=2&pagination.page=${first.pagination.next_page}`)).ids, [2], 'count 1: the next page again')
})

t.test('a failed-over stream and the failback stream after it: truncated shows only the old stream', async (t) => {
  const { emu } = await threeStreams(t)
  const streams = async () => (await emu.api('GET', `${LIST}?cluster_id=a&show_completed=true`)).body.physical_replication_streams
  const [forward] = await streams()
  const { startingSeconds, initialScanSeconds, failoverSeconds } = emu.state.timings
  emu.clock.advance(startingSeconds + initialScanSeconds)
  t.equal((await emu.api('PATCH', `${LIST}/${forward.id}`, { body: { status: 'FAILING_OVER' } })).status, 200)
  emu.clock.advance(failoverSeconds + 60)
  t.equal((await emu.api('GET', `${LIST}/${forward.id}`)).body.status, 'COMPLETED')
  const back = await emu.api('POST', LIST, { body: { primary_cluster_id: 'b', standby_cluster_id: 'a' } })
  t.equal(back.status, 200)
  t.strictSame((await streams()).map((s: { id: string }) => s.id), [forward.id, back.body.id])

  await addFault(emu, { operation: 'listStreams', kind: 'truncated', count: 1 })
  t.strictSame((await streams()).map((s: { id: string; status: string }) => [s.id, s.status]), [[forward.id, 'COMPLETED']])
})

t.test('a request the API refuses keeps its refusal, and counts as a use of the fault', async (t) => {
  const { emu, list } = await threeStreams(t)
  await addFault(emu, { operation: 'listStreams', kind: 'empty', count: 2 })
  t.equal((await emu.api('GET', LIST, { key: 'wrong' })).status, 401)
  t.equal((await emu.api('GET', `${LIST}?pagination.sort_order=UP`)).status, 400)
  t.strictSame((await list()).ids, [0, 1, 2])
})

t.test('duration_seconds bounds a listing fault as any other', async (t) => {
  const { emu, list } = await threeStreams(t)
  await addFault(emu, { operation: 'listStreams', kind: 'truncated', duration_seconds: 5 })
  t.strictSame((await list()).ids, [0, 1])
  emu.clock.advance(5)
  t.strictSame((await list()).ids, [0, 1, 2])
})
