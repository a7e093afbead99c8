import t from 'tap'
import {
  DEFAULT_PRIMARY_ID as PRIMARY,
  DEFAULT_STANDBY_ID as STANDBY,
  DEFAULT_STREAM_ID
} from '../../src/emulator/seed.js'
import type { ClusterSeed } from '../../src/emulator/seed.js'
import { formatTimestamp, nanosFromMs, replicatedNanos } from '../../src/emulator/proto-time.js'
import { START, startTestEmulator, type TestEmulator } from '../helpers/emulator.js'

// Times as protojson writes them; replicated times carry nanoseconds.
const at = (seconds: number) => formatTimestamp(nanosFromMs(START + seconds * 1000))
const rt = (seconds: number) => formatTimestamp(replicatedNanos(START + seconds * 1000))

const create = (emu: TestEmulator, primary: string, standby: string) =>
  emu.api('POST', '/physical-replication-streams', { body: { primary_cluster_id: primary, standby_cluster_id: standby } })

const ids = async (emu: TestEmulator, query = '') => {
  const answer = await emu.api('GET', `/physical-replication-streams${query}`)
  return answer.body.physical_replication_streams.map((s: { id: string }) => s.id)
}

/** Clusters a..f, GCP Advanced, one region each, CIDR ranges apart (GCP needs them so), no stream. */
const sixClusters: ClusterSeed[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({
  id,
  name: id,
  region: 'us-east1',
  cidrRange: `10.${i}.0.0/16`
}))

t.test('the default seed: one stream from the primary to the standby, already replicating', async (t) => {
  const emu = await startTestEmulator(t)
  const list = await emu.api('GET', '/physical-replication-streams')
  t.strictSame(list.body, {
    physical_replication_streams: [
      {
        id: DEFAULT_STREAM_ID,
        status: 'REPLICATING',
        primary_cluster_id: PRIMARY,
        standby_cluster_id: STANDBY,
        created_at: at(-300 - 24 * 3600),
        replicated_time: rt(-10),
        retained_time: rt(-4 * 3600),
        replication_lag_seconds: 10
      }
    ],
    pagination: {}
  })
  const one = await emu.api('GET', `/physical-replication-streams/${DEFAULT_STREAM_ID}`)
  t.strictSame(one.body, list.body.physical_replication_streams[0])
})

t.test('the starting seed, and no seed', async (t) => {
  const starting = await startTestEmulator(t, { stream: 'starting' })
  const stream = await starting.api('GET', `/physical-replication-streams/${DEFAULT_STREAM_ID}`)
  t.strictSame(stream.body, {
    id: DEFAULT_STREAM_ID,
    status: 'STARTING',
    primary_cluster_id: PRIMARY,
    standby_cluster_id: STANDBY,
    created_at: at(0)
  })
  const none = await startTestEmulator(t, { stream: 'none' })
  t.strictSame(await ids(none), [])
})

t.test('an unknown stream is 404 with code 5', async (t) => {
  const emu = await startTestEmulator(t)
  const get = await emu.api('GET', '/physical-replication-streams/nope')
  const patch = await emu.api('PATCH', '/physical-replication-streams/nope', { body: { status: 'CANCELED' } })
  for (const answer of [get, patch]) {
    t.equal(answer.status, 404)
    t.equal(answer.body.code, 5)
    t.match(answer.body.message, /replication stream nope not found/)
  }
})

t.test('a created stream starts STARTING, without replication times', async (t) => {
  const emu = await startTestEmulator(t, { stream: 'none' })
  const created = await create(emu, PRIMARY, STANDBY)
  t.equal(created.status, 200)
  t.strictSame(created.body, {
    id: '5eed0000-0000-4000-8000-000000000001',
    status: 'STARTING',
    primary_cluster_id: PRIMARY,
    standby_cluster_id: STANDBY,
    created_at: at(0)
  })
  t.strictSame((await emu.api('GET', `/physical-replication-streams/${created.body.id}`)).body, created.body)
})

t.test('creating refuses bad requests (3), unknown clusters (404) and unfit clusters (9)', async (t) => {
  const emu = await startTestEmulator(t, {
    // A dozen refusals in a row: the rate limit is not what this test is about.
    rateLimit: false,
    stream: 'none',
    clusters: [
      ...sixClusters,
      { id: 'creating', name: 'creating', region: 'us-east1', state: 'CREATING' },
      { id: 'deleted', name: 'deleted', region: 'us-east1', state: 'DELETED' },
      { id: 'locked', name: 'locked', region: 'us-east1', state: 'LOCKED' },
      { id: 'standard', name: 'standard', region: 'us-east1', plan: 'STANDARD' },
      { id: 'aws', name: 'aws', region: 'us-east-1', cloudProvider: 'AWS' }
    ]
  })
  const refused = async (body: unknown, status: number, code: number, message: RegExp) => {
    const answer = await emu.api('POST', '/physical-replication-streams', body === undefined ? {} : { body })
    t.equal(answer.status, status, JSON.stringify(body))
    t.equal(answer.body.code, code)
    t.match(answer.body.message, message)
  }
  await refused(undefined, 400, 3, /invalid replication stream/)
  await refused({ primary_cluster_id: 'a' }, 400, 3, /standby_cluster_id/)
  await refused({ primary_cluster_id: 'a', standby_cluster_id: '' }, 400, 3, /standby_cluster_id/)
  await refused({ primary_cluster_id: 'a', standby_cluster_id: 'a' }, 400, 3, /two different clusters/)
  await refused({ primary_cluster_id: 'a', standby_cluster_id: 'zz' }, 404, 5, /cluster zz not found/)
  await refused({ primary_cluster_id: 'zz', standby_cluster_id: 'a' }, 404, 5, /cluster zz not found/)
  await refused({ primary_cluster_id: 'creating', standby_cluster_id: 'a' }, 400, 9, /creating is CREATING/)
  await refused({ primary_cluster_id: 'a', standby_cluster_id: 'deleted' }, 400, 9, /deleted is DELETED/)
  await refused({ primary_cluster_id: 'standard', standby_cluster_id: 'a' }, 400, 9, /STANDARD plan/)
  await refused({ primary_cluster_id: 'a', standby_cluster_id: 'aws' }, 400, 9, /same cloud provider/)
  // A LOCKED cluster still serves SQL, but the Cloud refuses to start replication on it.
  await refused({ primary_cluster_id: 'locked', standby_cluster_id: 'a' }, 400, 9, /locked is LOCKED/)
  t.equal((await emu.api('GET', '/physical-replication-streams')).body.physical_replication_streams.length, 0)
})

t.test('a cluster takes part in one live stream at a time', async (t) => {
  const emu = await startTestEmulator(t, { stream: 'none', clusters: sixClusters })
  t.equal((await create(emu, 'a', 'b')).status, 200)
  for (const [primary, standby] of [
    ['a', 'c'],
    ['c', 'a'],
    ['b', 'c'],
    ['c', 'b'],
    ['b', 'a']
  ] as const) {
    const answer = await create(emu, primary, standby)
    t.equal(answer.status, 400, `${primary} → ${standby}`)
    t.equal(answer.body.code, 9)
    t.match(answer.body.message, /already takes part in replication stream .* \(STARTING\)/)
  }
  t.equal((await create(emu, 'c', 'd')).status, 200, 'other clusters are free')
})

t.test('the list filters by primary, standby or either, and hides COMPLETED unless asked', async (t) => {
  // No initial scan, so a stream can fail over one second after it is created:
  // the time model is tested in fidelity-streams.test.ts, the list here.
  const timings = { startingSeconds: 1, initialScanSeconds: 0, failoverSeconds: 1 }
  // Twenty lists in a row: the rate limit is not what this test is about.
  const emu = await startTestEmulator(t, { rateLimit: false, stream: 'none', clusters: sixClusters, timings })
  const ab = (await create(emu, 'a', 'b')).body.id
  const cd = (await create(emu, 'c', 'd')).body.id
  const ef = (await create(emu, 'e', 'f')).body.id
  emu.clock.advance(1)
  await emu.api('PATCH', `/physical-replication-streams/${ab}`, { body: { status: 'FAILING_OVER' } })
  await emu.api('PATCH', `/physical-replication-streams/${cd}`, { body: { status: 'CANCELED' } })

  t.strictSame(await ids(emu), [ab, cd, ef], 'FAILING_OVER and CANCELED are listed')
  emu.clock.advance(1)
  t.strictSame(await ids(emu), [cd, ef], 'COMPLETED is hidden')
  t.strictSame(await ids(emu, '?show_completed=false'), [cd, ef])
  t.strictSame(await ids(emu, '?show_completed=0'), [cd, ef])
  t.strictSame(await ids(emu, '?show_completed=true'), [ab, cd, ef])
  t.strictSame(await ids(emu, '?show_completed=1'), [ab, cd, ef])

  t.strictSame(await ids(emu, '?show_completed=true&primary_cluster_id=a'), [ab])
  t.strictSame(await ids(emu, '?primary_cluster_id=b'), [], 'b is a standby')
  t.strictSame(await ids(emu, '?standby_cluster_id=d'), [cd])
  t.strictSame(await ids(emu, '?cluster_id=c'), [cd], 'cluster_id matches the primary')
  t.strictSame(await ids(emu, '?cluster_id=f'), [ef], 'cluster_id matches the standby')
  t.strictSame(await ids(emu, '?cluster_id=b'), [], 'a COMPLETED stream stays hidden under a filter')
  t.strictSame(await ids(emu, '?show_completed=true&cluster_id=b'), [ab])
  t.strictSame(await ids(emu, '?primary_cluster_id=c&standby_cluster_id=f'), [], 'filters combine')
  t.strictSame(await ids(emu, '?cluster_id=unknown'), [], 'an unknown cluster is just no match')
  t.strictSame(await ids(emu, '?primary_cluster_id=&cluster_id='), [cd, ef], 'empty filters are unset')

  const bad = await emu.api('GET', '/physical-replication-streams?show_completed=maybe')
  t.equal(bad.status, 400)
  t.equal(bad.body.code, 3)
})

t.test('the list pages by created_at then id, in both orders, stable while streams are added', async (t) => {
  // Twenty pages in a row: the rate limit is not what this test is about.
  const emu = await startTestEmulator(t, { rateLimit: false, stream: 'none', clusters: sixClusters })
  const made: string[] = []
  for (const [primary, standby] of [
    ['a', 'b'],
    ['c', 'd']
  ] as const) {
    made.push((await create(emu, primary, standby)).body.id)
  }
  emu.clock.advance(1) // two streams share a created_at: the id breaks the tie
  made.push((await create(emu, 'e', 'f')).body.id)
  emu.clock.advance(1)
  // Cancel and recreate to build a history; a CANCELED stream frees its clusters.
  const since = emu.state.timings.startingSeconds
  emu.clock.advance(since)
  await emu.api('PATCH', `/physical-replication-streams/${made[0]}`, { body: { status: 'CANCELED' } })
  made.push((await create(emu, 'b', 'a')).body.id)
  emu.clock.advance(1)
  await emu.api('PATCH', `/physical-replication-streams/${made[1]}`, { body: { status: 'CANCELED' } })
  made.push((await create(emu, 'd', 'c')).body.id)

  const pages = async (query: string, addAfterFirstPage = false) => {
    const result: string[][] = []
    let token: string | undefined
    do {
      const page = token === undefined ? '' : `&pagination.page=${token}`
      const answer = await emu.api('GET', `/physical-replication-streams?${query}${page}`)
      result.push(answer.body.physical_replication_streams.map((s: { id: string }) => made.indexOf(s.id)))
      token = answer.body.pagination.next_page
      if (addAfterFirstPage && result.length === 1) {
        emu.clock.advance(1)
        await emu.api('PATCH', `/physical-replication-streams/${made[2]}`, { body: { status: 'CANCELED' } })
        made.push((await create(emu, 'f', 'e')).body.id)
      }
    } while (token !== undefined)
    return result
  }
  t.strictSame(await pages('pagination.limit=2'), [[0, 1], [2, 3], [4]])
  t.strictSame(await pages('pagination.limit=2&pagination.sort_order=DESC'), [[4, 3], [2, 1], [0]])
  t.strictSame(await pages('pagination.limit=10'), [[0, 1, 2, 3, 4]])
  // A last page that is exactly full has a next page, empty, as the real API's.
  t.strictSame(await pages('pagination.limit=2', true), [[0, 1], [2, 3], [4, 5], []], 'a new stream shows up at the end')
  t.strictSame(await pages('pagination.limit=2&cluster_id=a'), [[0, 3], []], 'pagination applies after the filter')
})
