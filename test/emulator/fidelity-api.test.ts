import t from 'tap'
import { ERROR_INFO_TYPE } from '../../src/emulator/api-error.js'
import {
  DEFAULT_PRIMARY_ID as PRIMARY,
  DEFAULT_STANDBY_ID as STANDBY,
  DEFAULT_STREAM_ID,
  type ClusterSeed
} from '../../src/emulator/seed.js'
import { startTestEmulator } from '../helpers/emulator.js'

// The edges of the emulated API (errors, bodies, roles, rate limit, pagination,
// stream creation), each test naming the source of the rule it checks; see
// docs/cloud-api.md. Every answer also goes through the specification check of
// startTestEmulator.

const errorInfo = (reason: string) => ({ '@type': ERROR_INFO_TYPE, reason, domain: 'cockroachlabs.cloud' })

t.test('errors carry google.rpc.ErrorInfo details where the failure has a name (spec: Status.details, Any)', async (t) => {
  // A handful of requests, well under the rate limit.
  const emu = await startTestEmulator(t)
  const missing = await emu.api('GET', '/clusters/00000000-0000-4000-8000-00000000dead')
  t.equal(missing.status, 404)
  t.match(missing.body, { code: 5, details: [{ ...errorInfo('CLUSTER_NOT_FOUND'), metadata: { cluster_id: /dead$/ } }] })
  const noStream = await emu.api('GET', '/physical-replication-streams/nope')
  t.match(noStream.body, { code: 5, details: [errorInfo('REPLICATION_STREAM_NOT_FOUND')] })
  const busy = await emu.api('POST', '/physical-replication-streams', {
    body: { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY }
  })
  t.equal(busy.status, 400)
  t.match(busy.body, { code: 9, details: [{ '@type': ERROR_INFO_TYPE, domain: 'cockroachlabs.cloud', reason: /^[A-Z_]+$/ }] })
  const twice = await emu.api('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, { body: { status: 'CANCELED' } })
  t.equal(twice.status, 200)
  const again = await emu.api('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, { body: { status: 'CANCELED' } })
  t.match(again.body, { code: 9, details: [errorInfo('FAILED_PRECONDITION')] }, 'a precondition without a more precise name')
  const invalid = await emu.api('GET', '/physical-replication-streams?show_completed=maybe')
  t.strictSame(invalid.body.details, [], 'an invalid argument names its field in the message only')
})

t.test('request bodies in camelCase are read like snake_case ones (protojson, which the gateway reads bodies with)', async (t) => {
  const emu = await startTestEmulator(t, { stream: 'none' })
  const created = await emu.api('POST', '/physical-replication-streams', {
    body: { primaryClusterId: PRIMARY, standbyClusterId: STANDBY }
  })
  t.equal(created.status, 200)
  t.match(created.body, { primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY, status: 'STARTING' })

  const disrupted = await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, {
    body: { regionalDisruptorSpecifications: [{ regionCode: 'us-east1', isWholeRegion: false, pods: ['cockroachdb-1'] }] }
  })
  t.equal(disrupted.status, 200)
  t.strictSame(disrupted.body.regional_disruptor_specifications, [
    { region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-1'] }
  ])

  emu.clock.advance(emu.state.timings.startingSeconds + 3600)
  const stream = (await emu.api('GET', '/physical-replication-streams')).body.physical_replication_streams[0]
  t.equal(stream.status, 'REPLICATING')
  const failoverAt = new Date(emu.clock.now() + 600_000).toISOString()
  const patched = await emu.api('PATCH', `/physical-replication-streams/${stream.id}`, {
    body: { status: 'FAILING_OVER', failoverAt }
  })
  t.equal(patched.status, 200)
  t.equal(patched.body.failover_at, failoverAt, 'failoverAt was read, not dropped')

  const both = await emu.api('POST', '/physical-replication-streams', {
    body: { primaryClusterId: PRIMARY, primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY }
  })
  t.equal(both.status, 400, 'one field under both names is refused, as protojson refuses it')
  t.equal(both.body.code, 3)
  t.match(both.body.message, /primary_cluster_id twice/)
})

t.test('list pages: next_page after an exactly full page, previous_page, pagination.as_of_time (spec: KeysetPaginationResponse, the list parameters)', async (t) => {
  const clusters = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ id, name: id, region: 'us-east1', cidrRange: `10.${i}.0.0/16` }))
  // About twenty requests in a row: the limit is not what this test is about.
  const emu = await startTestEmulator(t, { stream: 'none', clusters, rateLimit: false })
  const ids: string[] = []
  const createdAt: string[] = []
  for (const [primary, standby] of [['a', 'b'], ['c', 'd'], ['e', 'f']]) {
    const created = await emu.api('POST', '/physical-replication-streams', {
      body: { primary_cluster_id: primary, standby_cluster_id: standby }
    })
    ids.push(created.body.id)
    createdAt.push(created.body.created_at)
    emu.clock.advance(60)
  }
  const list = async (query: string) => {
    const answer = await emu.api('GET', `/physical-replication-streams?${query}`)
    t.equal(answer.status, 200, query)
    return {
      ids: answer.body.physical_replication_streams.map((s: { id: string }) => ids.indexOf(s.id)),
      next: answer.body.pagination?.next_page as string | undefined,
      previous: answer.body.pagination?.previous_page as string | undefined
    }
  }

  const full = await list('pagination.limit=3')
  t.strictSame([full.ids, full.previous], [[0, 1, 2], undefined], 'the first page has nothing before it')
  t.type(full.next, 'string', 'an exactly full last page still names a next page')
  const empty = await list(`pagination.limit=3&pagination.page=${full.next}`)
  t.strictSame([empty.ids, empty.next], [[], undefined], 'which is empty, and the end')
  t.type(empty.previous, 'string')
  t.strictSame((await list(`pagination.limit=3&pagination.page=${empty.previous}`)).ids, [0, 1, 2], 'back from the empty page')

  const first = await list('pagination.limit=2')
  const second = await list(`pagination.limit=2&pagination.page=${first.next}`)
  t.strictSame([second.ids, second.next], [[2], undefined], 'a last page that is not full ends the list')
  const back = await list(`pagination.limit=2&pagination.page=${second.previous}`)
  t.strictSame([back.ids, back.previous], [[0, 1], undefined], 'previous_page leads to the page before')
  t.strictSame((await list(`pagination.limit=2&pagination.page=${back.next}`)).ids, [2], 'and next_page forward again')
  const downFirst = await list('pagination.limit=2&pagination.sort_order=DESC')
  const down = await list(`pagination.limit=2&pagination.sort_order=DESC&pagination.page=${downFirst.next}`)
  t.strictSame(down.ids, [0])
  t.strictSame((await list(`pagination.limit=2&pagination.sort_order=DESC&pagination.page=${down.previous}`)).ids, [2, 1])

  t.strictSame((await list(`pagination.as_of_time=${createdAt[1]}`)).ids, [0, 1], 'a stream created after as_of_time is not listed')
  t.strictSame((await list('pagination.as_of_time=2025-06-02T12:00:59.999999999Z')).ids, [0], 'nine fractional digits')
  t.strictSame((await list('pagination.as_of_time=2025-06-02T14:01:00%2B02:00')).ids, [0, 1], 'an offset')
  const nodes = await emu.api('GET', '/clusters/a/nodes?pagination.as_of_time=2020-01-01T00:00:00Z')
  t.strictSame(nodes.body.nodes, [], 'nodes are as old as their cluster')
  for (const bad of ['yesterday', '2025-06-02', '2025-06-02T12:00:00']) {
    const refused = await emu.api('GET', `/physical-replication-streams?pagination.as_of_time=${bad}`)
    t.equal(refused.status, 400, bad)
    t.equal(refused.body.code, 3)
  }
})

t.test('stream creation refuses what the Cloud refuses (PCR docs: Cloud prerequisites; spec: Cluster.cidr_range)', async (t) => {
  const gcp = (id: string, extra: Partial<ClusterSeed> = {}): ClusterSeed => ({ id, name: id, region: 'us-east1', ...extra })
  const emu = await startTestEmulator(t, {
    stream: 'none',
    // A dozen requests in a row: the limit is not what this test is about.
    rateLimit: false,
    clusters: [
      gcp('ok-1', { cidrRange: '10.1.0.0/16' }),
      gcp('ok-2', { region: 'us-west2', cidrRange: '10.2.0.0/16' }),
      gcp('locked', { state: 'LOCKED', cidrRange: '10.3.0.0/16' }),
      gcp('flat', { supportsClusterVirtualization: false, cidrRange: '10.4.0.0/16' }),
      gcp('default-range-1'),
      gcp('default-range-2', { region: 'us-west2' }),
      gcp('inside-ok-1', { cidrRange: '10.1.128.0/19' }),
      { id: 'aws-1', name: 'aws-1', region: 'us-east-1', cloudProvider: 'AWS' },
      { id: 'aws-2', name: 'aws-2', region: 'us-east-1', cloudProvider: 'AWS' },
      { id: 'aws-3', name: 'aws-3', region: 'us-west-2', cloudProvider: 'AWS' },
      { id: 'azure-1', name: 'azure-1', region: 'eastus', cloudProvider: 'AZURE' },
      { id: 'azure-2', name: 'azure-2', region: 'eastus', cloudProvider: 'AZURE' }
    ]
  })
  const create = (primary: string, standby: string) =>
    emu.api('POST', '/physical-replication-streams', { body: { primary_cluster_id: primary, standby_cluster_id: standby } })
  const refused = async (primary: string, standby: string, reason: string, message: RegExp) => {
    const answer = await create(primary, standby)
    t.equal(answer.status, 400, `${primary} → ${standby}`)
    t.equal(answer.body.code, 9, 'FailedPrecondition')
    t.match(answer.body.message, message)
    t.match(answer.body.details, [{ reason }])
  }
  await refused('locked', 'ok-2', 'CLUSTER_LOCKED', /locked is LOCKED/)
  await refused('ok-1', 'locked', 'CLUSTER_LOCKED', /locked is LOCKED/)
  await refused('flat', 'ok-2', 'CLUSTER_VIRTUALIZATION_REQUIRED', /without cluster virtualization support/)
  await refused('default-range-1', 'default-range-2', 'CIDR_RANGES_OVERLAP', /172\.28\.0\.0\/14.*overlap/)
  await refused('inside-ok-1', 'ok-1', 'CIDR_RANGES_OVERLAP', /10\.1\.128\.0\/19\) and standby \(10\.1\.0\.0\/16\) overlap/)
  await refused('aws-1', 'aws-2', 'SAME_REGION', /both in us-east-1; on AWS/)
  await refused('azure-1', 'azure-2', 'SAME_REGION', /both in eastus; on AZURE/)
  await refused('aws-1', 'ok-1', 'CLOUD_PROVIDER_MISMATCH', /same cloud provider/)

  const cluster = await emu.api('GET', '/clusters/ok-1')
  t.equal(cluster.body.cidr_range, '10.1.0.0/16', 'the range the seed gave')
  t.equal((await emu.api('GET', '/clusters/aws-1')).body.cidr_range, '', 'only GCP clusters show one')
  t.equal((await create('ok-1', 'ok-2')).status, 200, 'GCP: the same region would do, overlapping ranges not')
  t.equal((await create('aws-1', 'aws-3')).status, 200, 'AWS: different regions')
})

t.test('the default seeds can replicate both ways: GCP ranges apart', async (t) => {
  const emu = await startTestEmulator(t, { stream: 'none' })
  const [primary, standby] = [(await emu.api('GET', `/clusters/${PRIMARY}`)).body, (await emu.api('GET', `/clusters/${STANDBY}`)).body]
  t.equal(primary.cidr_range, '172.28.0.0/14')
  t.equal(standby.cidr_range, '172.24.0.0/14')
  t.equal((await emu.api('POST', '/physical-replication-streams', { body: { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY } })).status, 200)
})
