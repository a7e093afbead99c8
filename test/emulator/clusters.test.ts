import t from 'tap'
import { DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID, defaultClusterSeeds } from '../../src/emulator/seed.js'
import { startTestEmulator } from '../helpers/emulator.js'

const UNKNOWN = '00000000-0000-4000-8000-00000000dead'

t.test('the default clusters: an Advanced primary and standby on GCP, one region each', async (t) => {
  const emu = await startTestEmulator(t)
  const primary = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}`)
  t.equal(primary.status, 200)
  t.match(primary.body, {
    id: DEFAULT_PRIMARY_ID,
    name: 'pcr-primary',
    plan: 'ADVANCED',
    cloud_provider: 'GCP',
    state: 'CREATED',
    operation_status: 'UNSPECIFIED',
    upgrade_status: 'FINALIZED',
    cidr_range: '172.28.0.0/14',
    labels: {},
    is_customer_cloud_account: false,
    config: { dedicated: { machine_type: 'n2-standard-4' } },
    created_at: '2025-05-03T12:00:00Z' // protojson: no fraction on whole seconds
  })
  t.strictSame(primary.body.regions, [
    {
      name: 'us-east1',
      sql_dns: 'pcr-primary.gcp-us-east1.cockroachlabs.cloud',
      ui_dns: 'admin-pcr-primary.gcp-us-east1.cockroachlabs.cloud',
      internal_dns: 'internal-pcr-primary.gcp-us-east1.cockroachlabs.cloud',
      private_endpoint_dns: 'private-pcr-primary.gcp-us-east1.cockroachlabs.cloud',
      node_count: 3
    }
  ])
  t.notOk('deleted_at' in primary.body)
  const standby = await emu.api('GET', `/clusters/${DEFAULT_STANDBY_ID}`)
  t.match(standby.body, { id: DEFAULT_STANDBY_ID, name: 'pcr-standby', regions: [{ name: 'us-west2' }] })
})

t.test('seeds choose the provider, plan, size, version and SQL host', async (t) => {
  const emu = await startTestEmulator(t, {
    stream: 'none',
    clusters: [
      {
        id: 'aws-1',
        name: 'east',
        region: 'us-east-1',
        cloudProvider: 'AWS',
        plan: 'STANDARD',
        nodeCount: 5,
        sqlDns: '127.0.0.1',
        cockroachVersion: 'v24.3.1'
      },
      { id: 'azure-1', name: 'west', region: 'westus2', cloudProvider: 'AZURE', state: 'LOCKED' }
    ]
  })
  const aws = await emu.api('GET', '/clusters/aws-1')
  t.match(aws.body, {
    cloud_provider: 'AWS',
    plan: 'STANDARD',
    cockroach_version: 'v24.3.1',
    cidr_range: '',
    config: { dedicated: { machine_type: 'm6i.xlarge' } },
    regions: [{ name: 'us-east-1', sql_dns: '127.0.0.1', node_count: 5 }]
  })
  const azure = await emu.api('GET', '/clusters/azure-1')
  t.match(azure.body, { state: 'LOCKED', cidr_range: '', config: { dedicated: { machine_type: 'Standard_D4as_v5' } } })
})

t.test('defaultClusterSeeds takes overrides per cluster', async (t) => {
  const emu = await startTestEmulator(t, {
    clusters: defaultClusterSeeds({ primary: { sqlDns: '127.0.0.1' }, standby: { id: 'standby-2' } })
  })
  const primary = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}`)
  t.equal(primary.body.regions[0].sql_dns, '127.0.0.1')
  const standby = await emu.api('GET', '/clusters/standby-2')
  t.equal(standby.body.name, 'pcr-standby')
})

t.test('an unknown cluster is 404 with code 5 on every cluster route', async (t) => {
  const emu = await startTestEmulator(t)
  for (const [method, path] of [
    ['GET', `/clusters/${UNKNOWN}`],
    ['GET', `/clusters/${UNKNOWN}/nodes`],
    ['GET', `/clusters/${UNKNOWN}/connection-string`],
    ['GET', `/clusters/${UNKNOWN}/disrupt`],
    ['PUT', `/clusters/${UNKNOWN}/disrupt`]
  ] as const) {
    const answer = await emu.api(method, path)
    t.equal(answer.status, 404, `${method} ${path}`)
    t.equal(answer.body.code, 5)
    t.match(answer.body.message, UNKNOWN)
  }
})

t.test('a deleted cluster still answers, with state DELETED', async (t) => {
  const emu = await startTestEmulator(t)
  emu.clock.advance(60)
  t.equal((await emu.control('PATCH', `/clusters/${DEFAULT_PRIMARY_ID}`, { state: 'DELETED' })).status, 200)
  const deleted = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}`)
  t.equal(deleted.status, 200)
  t.equal(deleted.body.state, 'DELETED')
  t.equal(deleted.body.deleted_at, '2025-06-02T12:01:00Z')
  await emu.control('PATCH', `/clusters/${DEFAULT_PRIMARY_ID}`, { state: 'CREATED' })
  const restored = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}`)
  t.notOk('deleted_at' in restored.body)
})

t.test('nodes: one per pod, all live at first', async (t) => {
  const emu = await startTestEmulator(t)
  const answer = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}/nodes`)
  t.strictSame(answer.body, {
    nodes: [
      { name: 'cockroachdb-0', region_name: 'us-east1', status: 'LIVE' },
      { name: 'cockroachdb-1', region_name: 'us-east1', status: 'LIVE' },
      { name: 'cockroachdb-2', region_name: 'us-east1', status: 'LIVE' }
    ],
    pagination: {}
  })
})

t.test('nodes: keyset pagination in both orders, and the region filter', async (t) => {
  const emu = await startTestEmulator(t, {
    // Twenty pages in a row: the rate limit is not what this test is about.
    rateLimit: false,
    stream: 'none',
    clusters: [{ id: 'big', name: 'big', region: 'us-east1', nodeCount: 5 }]
  })
  const names = async (query: string) => {
    const pages: string[][] = []
    let token: string | undefined
    do {
      const page = token === undefined ? '' : `&pagination.page=${token}`
      const answer = await emu.api('GET', `/clusters/big/nodes?${query}${page}`)
      t.equal(answer.status, 200)
      pages.push(answer.body.nodes.map((node: { name: string }) => node.name.replace('cockroachdb-', '')))
      token = answer.body.pagination.next_page
    } while (token !== undefined)
    return pages
  }
  t.strictSame(await names('pagination.limit=2'), [['0', '1'], ['2', '3'], ['4']])
  t.strictSame(await names('pagination.limit=2&pagination.sort_order=DESC'), [['4', '3'], ['2', '1'], ['0']])
  t.strictSame(await names('pagination.limit=5'), [['0', '1', '2', '3', '4'], []], 'an exact fit still has a next page, empty, as the real API')
  t.strictSame(await names('pagination.limit=0&pagination.sort_order=ASC'), [['0', '1', '2', '3', '4']], '0 is the default')
  t.strictSame(await names('region_name=us-east1&pagination.limit=3'), [['0', '1', '2'], ['3', '4']])
  t.strictSame(await names('region_name=us-west2'), [[]], 'another region has no node here')
  t.strictSame(await names('region_name=&pagination.page='), [['0', '1', '2', '3', '4']], 'empty means unset')
})

t.test('nodes: bad pagination parameters are 400 with code 3', async (t) => {
  const emu = await startTestEmulator(t)
  const notJson = Buffer.from('not json').toString('base64url')
  const notKey = Buffer.from('{"after":1}').toString('base64url')
  for (const query of [
    'pagination.limit=-1',
    'pagination.limit=two',
    'pagination.sort_order=UP',
    `pagination.page=${notJson}`,
    `pagination.page=${notKey}`,
    'region_name=a&region_name=b'
  ]) {
    const answer = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}/nodes?${query}`)
    t.equal(answer.status, 400, query)
    t.equal(answer.body.code, 3)
  }
})

t.test('connection string: the region SQL host on port 26257', async (t) => {
  const emu = await startTestEmulator(t)
  const plain = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}/connection-string`)
  t.strictSame(plain.body, {
    connection_string: 'postgresql://pcr-primary.gcp-us-east1.cockroachlabs.cloud:26257/defaultdb?sslmode=verify-full',
    params: { Host: 'pcr-primary.gcp-us-east1.cockroachlabs.cloud', Port: '26257', Database: 'defaultdb' }
  })
  const named = await emu.api(
    'GET',
    `/clusters/${DEFAULT_STANDBY_ID}/connection-string?database=bank&sql_user=app%20user&os=LINUX`
  )
  t.strictSame(named.body, {
    connection_string: 'postgresql://app%20user@pcr-standby.gcp-us-west2.cockroachlabs.cloud:26257/bank?sslmode=verify-full',
    params: { Host: 'pcr-standby.gcp-us-west2.cockroachlabs.cloud', Port: '26257', Database: 'bank', Username: 'app user' }
  })
  const badOs = await emu.api('GET', `/clusters/${DEFAULT_PRIMARY_ID}/connection-string?os=BEOS`)
  t.equal(badOs.status, 400)
  t.equal(badOs.body.code, 3)
})
