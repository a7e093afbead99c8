import t from 'tap'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY } from '../../src/emulator/seed.js'
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js'

/**
 * Puts a disruption set and waits, on the manual clock, until the disruptor
 * has moved the nodes one after another (fidelity-clusters.test.ts looks at
 * the steps).
 */
const disrupt = async (emu: TestEmulator, specs: unknown[], cluster = PRIMARY) => {
  const answer = await emu.api('PUT', `/clusters/${cluster}/disrupt`, { body: { regional_disruptor_specifications: specs } })
  emu.clock.advance(emu.state.timings.disruptionApplySeconds)
  return answer
}

const nodeStatuses = async (emu: TestEmulator, cluster = PRIMARY) => {
  const answer = await emu.api('GET', `/clusters/${cluster}/nodes`)
  return answer.body.nodes.map((node: { status: string }) => node.status)
}

const sqlAvailable = async (emu: TestEmulator, cluster = PRIMARY) => {
  const state = await emu.control('GET', '/state')
  return state.body.clusters.find((c: { id: string }) => c.id === cluster).sql_available
}

t.test('no disruption at first', async (t) => {
  const emu = await startTestEmulator(t)
  const answer = await emu.api('GET', `/clusters/${PRIMARY}/disrupt`)
  t.strictSame(answer.body, { regional_disruptor_specifications: [] })
})

t.test('a whole-region disruption takes every node and SQL down, and ends with an empty set', async (t) => {
  const emu = await startTestEmulator(t, { timings: { disruptionApplySeconds: 5 } })
  const whole = { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] }
  const put = await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, { body: whole })
  t.equal(put.status, 200)
  t.strictSame(put.body, whole)
  t.strictSame((await emu.api('GET', `/clusters/${PRIMARY}/disrupt`)).body, put.body, 'GET returns the set at once')
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'CRDB_CLUSTER_DISRUPTION_RUNNING')
  emu.clock.advance(4.999)
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'CRDB_CLUSTER_DISRUPTION_RUNNING')
  emu.clock.advance(0.001)
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'UNSPECIFIED', 'applied')
  t.strictSame(await nodeStatuses(emu), ['NOT_READY', 'NOT_READY', 'NOT_READY'])
  t.equal(await sqlAvailable(emu), false)
  t.equal(emu.state.isSqlAvailable(PRIMARY), false, 'the state says so too')
  t.strictSame(await nodeStatuses(emu, STANDBY), ['LIVE', 'LIVE', 'LIVE'], 'the other cluster is untouched')

  const end = await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, { body: { regional_disruptor_specifications: [] } })
  t.strictSame(end.body, { regional_disruptor_specifications: [] })
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'CRDB_CLUSTER_DISRUPTION_RUNNING')
  emu.clock.advance(5)
  t.strictSame(await nodeStatuses(emu), ['LIVE', 'LIVE', 'LIVE'])
  t.equal(await sqlAvailable(emu), true)
})

t.test('no body, or a body without the list, ends every disruption', async (t) => {
  const emu = await startTestEmulator(t)
  for (const request of [{}, { body: {} }, { rawBody: '' }]) {
    await disrupt(emu, [{ region_code: 'us-east1', is_whole_region: true }])
    const end = await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, request)
    emu.clock.advance(emu.state.timings.disruptionApplySeconds)
    t.equal(end.status, 200)
    t.strictSame(end.body, { regional_disruptor_specifications: [] })
    t.strictSame(await nodeStatuses(emu), ['LIVE', 'LIVE', 'LIVE'])
  }
})

t.test('pods and azs disrupt only their nodes; SQL lives while a majority does', async (t) => {
  const emu = await startTestEmulator(t)
  const state = await emu.control('GET', '/state')
  t.strictSame(
    state.body.clusters[0].nodes.map((node: { az: string }) => node.az),
    ['us-east1-a', 'us-east1-b', 'us-east1-c'],
    'each node has its own zone'
  )

  const pods = await disrupt(emu, [{ region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-1'] }])
  t.strictSame(pods.body.regional_disruptor_specifications, [
    { region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-1'] }
  ])
  t.strictSame(await nodeStatuses(emu), ['LIVE', 'NOT_READY', 'LIVE'])
  t.equal(await sqlAvailable(emu), true)

  const azs = await disrupt(emu, [{ region_code: 'us-east1', is_whole_region: false, azs: ['us-east1-c'], pods: [] }])
  t.strictSame(azs.body.regional_disruptor_specifications, [
    { region_code: 'us-east1', is_whole_region: false, azs: ['us-east1-c'] }
  ], 'the set replaces the previous one; empty lists are dropped')
  t.strictSame(await nodeStatuses(emu), ['LIVE', 'LIVE', 'NOT_READY'])

  await disrupt(emu, [{ region_code: 'us-east1', is_whole_region: false, azs: ['us-east1-c'], pods: ['cockroachdb-0'] }])
  t.strictSame(await nodeStatuses(emu), ['NOT_READY', 'LIVE', 'NOT_READY'])
  t.equal(await sqlAvailable(emu), false, 'two of three nodes down')
})

t.test('a disruption overrides node statuses set through the control API, without erasing them', async (t) => {
  const emu = await startTestEmulator(t)
  await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY', names: ['cockroachdb-2'] })
  await disrupt(emu, [{ region_code: 'us-east1', is_whole_region: true }])
  t.strictSame(await nodeStatuses(emu), ['NOT_READY', 'NOT_READY', 'NOT_READY'])
  await disrupt(emu, [])
  t.strictSame(await nodeStatuses(emu), ['LIVE', 'LIVE', 'NOT_READY'])
})

t.test('an operation status set through the control API shows once the disruption is applied', async (t) => {
  const emu = await startTestEmulator(t)
  await emu.control('PATCH', `/clusters/${PRIMARY}`, { operation_status: 'MAINTENANCE_RUNNING' })
  await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, {
    body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] }
  })
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'CRDB_CLUSTER_DISRUPTION_RUNNING')
  emu.clock.advance(5)
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'MAINTENANCE_RUNNING')
})

t.test('invalid disruption sets are 400 with code 3 and change nothing', async (t) => {
  // A dozen refusals in a row: the rate limit is not what this test is about.
  const emu = await startTestEmulator(t, { rateLimit: false })
  const cases: Array<[string, { body?: unknown; rawBody?: string }]> = [
    ['another region', { body: { regional_disruptor_specifications: [{ region_code: 'us-west2', is_whole_region: true }] } }],
    [
      'the region twice',
      {
        body: {
          regional_disruptor_specifications: [
            { region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-0'] },
            { region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-1'] }
          ]
        }
      }
    ],
    [
      'whole region with pods',
      { body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true, pods: ['cockroachdb-0'] }] } }
    ],
    [
      'whole region with azs',
      { body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true, azs: ['us-east1-a'] }] } }
    ],
    [
      'part of a region without pods or azs',
      { body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: false, pods: [], azs: [] }] } }
    ],
    [
      'an unknown pod',
      { body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: false, pods: ['cockroachdb-9'] }] } }
    ],
    [
      'an unknown az',
      { body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: false, azs: ['us-east1-z'] }] } }
    ],
    ['no is_whole_region', { body: { regional_disruptor_specifications: [{ region_code: 'us-east1' }] } }],
    ['no region_code', { body: { regional_disruptor_specifications: [{ is_whole_region: true }] } }],
    ['a list that is not one', { body: { regional_disruptor_specifications: 'us-east1' } }],
    ['a body that is null', { rawBody: 'null' }],
    ['a body that is not JSON', { rawBody: '{"regional_disruptor_specifications": [' }]
  ]
  for (const [name, request] of cases) {
    const answer = await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, request)
    t.equal(answer.status, 400, name)
    t.equal(answer.body.code, 3, name)
  }
  const messages = await Promise.all(
    cases.slice(0, 7).map(async ([, request]) => (await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, request)).body.message)
  )
  t.match(messages, [
    /us-west2 is not a region of cluster/,
    /listed more than once/,
    /must not come with pods or azs/,
    /must not come with pods or azs/,
    /name pods or azs/,
    /unknown pods cockroachdb-9/,
    /unknown azs us-east1-z/
  ])
  t.strictSame((await emu.api('GET', `/clusters/${PRIMARY}/disrupt`)).body, { regional_disruptor_specifications: [] })
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).body.operation_status, 'UNSPECIFIED', 'nothing was applied')
})
