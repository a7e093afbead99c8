import t from 'tap'
import { ERROR_INFO_TYPE } from '../../src/emulator/cloud-error.js'
import { createEmulator } from '../../src/emulator/server.js'
import { createEmulatorState } from '../../src/emulator/state.js'
import {
  DEFAULT_PRIMARY_ID as PRIMARY,
  DEFAULT_STANDBY_ID as STANDBY,
  DEFAULT_STREAM_ID,
  type ClusterSeed
} from '../../src/emulator/seed.js'
import { operationAccess, roles, type Role } from '../../src/cloud/roles.js'
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js'
import { spec } from '../helpers/spec.js'

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
  t.equal(Date.parse(patched.body.failover_at), Date.parse(failoverAt), 'failoverAt was read, not dropped')

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

/** The roles an operation's description in the specification lists. */
function specRoles(operationId: string): string[] {
  for (const methods of Object.values(spec.paths)) {
    for (const operation of Object.values(methods) as Array<{ operationId?: string; description?: string }>) {
      if (operation.operationId !== operationId) continue
      const [, list = ''] = (operation.description ?? '').split(/Can be used by the following roles[^:]*:/)
      return [...list.matchAll(/^- ([A-Z_]+)$/gm)].map((match) => match[1] as string)
    }
  }
  return []
}

t.test('each operation refuses a key without one of the roles its description lists: 403, code 7 (spec: operation descriptions)', async (t) => {
  const enumRoles = (spec.components.schemas['OrganizationUserRole.Type'] as { enum: string[] }).enum
  t.strictSame([...roles], enumRoles, 'the roles are OrganizationUserRole.Type')
  for (const [operation, access] of Object.entries(operationAccess)) {
    t.strictSame([...access.roles].sort(), specRoles(access.operationId).sort(), `${operation}: the roles of ${access.operationId}`)
  }

  const held: Role[] = ['CLUSTER_ADMIN', 'CLUSTER_OPERATOR_WRITER', 'CLUSTER_DEVELOPER', 'CLUSTER_MONITOR', 'ORG_ADMIN', 'ORG_MEMBER']
  const emu = await startTestEmulator(t, { apiKeys: held.map((role) => ({ key: `key-${role}`, roles: [role] })) })
  const calls: Record<keyof typeof operationAccess, (emu: TestEmulator, key: string) => ReturnType<TestEmulator['api']>> = {
    getCluster: (emu, key) => emu.api('GET', `/clusters/${PRIMARY}`, { key }),
    listNodes: (emu, key) => emu.api('GET', `/clusters/${PRIMARY}/nodes`, { key }),
    getConnectionString: (emu, key) => emu.api('GET', `/clusters/${PRIMARY}/connection-string`, { key }),
    getDisruption: (emu, key) => emu.api('GET', `/clusters/${PRIMARY}/disrupt`, { key }),
    putDisruption: (emu, key) => emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, { key, body: {} }),
    listStreams: (emu, key) => emu.api('GET', '/physical-replication-streams', { key }),
    getStream: (emu, key) => emu.api('GET', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, { key }),
    createStream: (emu, key) =>
      emu.api('POST', '/physical-replication-streams', { key, body: { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY } }),
    patchStream: (emu, key) =>
      emu.api('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, { key, body: { status: 'FAILING_OVER', failover_at: 'x' } })
  }
  // Nine calls per key, each key with its own budget: the real rate limit holds.
  for (const role of held) {
    for (const [operation, call] of Object.entries(calls) as Array<[keyof typeof operationAccess, (typeof calls)['getCluster']]>) {
      const { operationId, roles: allowed } = operationAccess[operation]
      const answer = await call(emu, `key-${role}`)
      if ((allowed as readonly Role[]).includes(role)) {
        t.not(answer.status, 403, `${role} may call ${operation}`)
        continue
      }
      t.equal(answer.status, 403, `${role} may not call ${operation}`)
      t.equal(answer.body.code, 7)
      t.equal(
        answer.body.message,
        `permission denied: ${operationId} needs one of the roles ${allowed.join(', ')}; the API key has ${role}`
      )
      t.match(answer.body.details, [{ reason: 'PERMISSION_DENIED', metadata: { operation: operationId, required_roles: allowed.join(',') } }])
    }
  }
  const streams = await emu.api('GET', '/physical-replication-streams')
  t.equal(streams.status, 200, 'the apiKey option still means CLUSTER_ADMIN')
  t.equal(streams.body.physical_replication_streams.length, 1, 'no stream was created')
})

t.test('the rate limit: 10 requests a second per key, Retry-After and "rate limit exceeded" (CockroachDB docs: "Use the CockroachDB Cloud API")', async (t) => {
  // The limit runs on real time; this test steers that clock instead of waiting.
  let ms = 0
  const emu = await startTestEmulator(t, {
    rateLimit: { perSecond: 10, now: () => ms },
    apiKeys: [{ key: 'other', roles: ['CLUSTER_ADMIN'] }]
  })
  const get = (key?: string) => emu.api('GET', `/clusters/${PRIMARY}`, key === undefined ? {} : { key })
  for (let i = 0; i < 10; i++) t.equal((await get()).status, 200)
  const limited = await get()
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '1')
  t.match(limited.body, { code: 8, message: /^rate limit exceeded/, details: [{ reason: 'RATE_LIMIT_EXCEEDED' }] })
  t.equal((await get('other')).status, 200, 'another key (another user) has its own budget')
  emu.clock.advance(6 * 3600)
  t.equal((await get()).status, 429, 'the emulated clock does not move the window')

  // Inferred: a key that keeps sending while told to wait is told to wait longer.
  const waits: string[] = []
  for (let i = 0; i < 40; i++) waits.push((await get()).headers.get('retry-after') as string)
  t.strictSame(
    [...new Set(waits)],
    ['1', '2', '4', '8', '16'],
    'every ten requests sent against the wait double it'
  )
  ms += 15_999
  t.equal((await get()).headers.get('retry-after'), '1', 'not before the end of the last wait named')
  ms += 16_000
  t.equal((await get()).status, 200, 'a key that waited as told is served again')
  for (let i = 0; i < 9; i++) await get()
  t.equal((await get()).headers.get('retry-after'), '1', 'and starts again from one second')
})

t.test('the rate limit may answer 503 (its status is not documented), with Retry-After all the same', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: { perSecond: 1, status: 503, now: () => 0 } })
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).status, 200)
  const limited = await emu.api('GET', `/clusters/${PRIMARY}`)
  t.equal(limited.status, 503)
  t.equal(limited.headers.get('retry-after'), '1')
  t.match(limited.body, { code: 14, message: /^rate limit exceeded/, details: [{ reason: 'RATE_LIMIT_EXCEEDED' }] })
})

t.test('a seed names its range as an IPv4 CIDR, and its keys once each', async (t) => {
  for (const cidrRange of ['10.0.0.0', '300.0.0.0/8', '10.0.0.0/33', 'fd00::/8']) {
    t.throws(() => createEmulatorState({ clusters: [{ id: 'a', name: 'a', region: 'r', cidrRange }], stream: 'none' }), /cidrRange must be an IPv4 CIDR range/)
  }
  t.throws(() => createEmulator({ apiKeys: [{ key: 'k', roles: [] }, { key: 'k', roles: ['CLUSTER_ADMIN'] }] }), /once/)
  t.throws(() => createEmulator({ apiKey: '' }), /must not be empty/)
  const emu = await startTestEmulator(t, { apiKeys: [{ key: 'nobody', roles: [] }] })
  const refused = await emu.api('GET', `/clusters/${PRIMARY}`, { key: 'nobody' })
  t.equal(refused.status, 403)
  t.match(refused.body.message, /the API key has none$/)
})
