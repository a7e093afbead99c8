import t from 'tap'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY, DEFAULT_STREAM_ID } from '../../src/emulator/seed.js'
import { START, startTestEmulator } from '../helpers/emulator.js'

const at = (seconds: number) => new Date(START + seconds * 1000).toISOString()

t.test('GET /state shows clusters, effective node statuses, streams, faults and the clock', async (t) => {
  const emu = await startTestEmulator(t)
  await emu.control('POST', '/faults', { operation: 'getStream', kind: 'status', count: 2 })
  const state = await emu.control('GET', '/state')
  t.equal(state.status, 200)
  t.strictSame(state.body.clock, { now: at(0), offset_seconds: 0 })
  t.strictSame(state.body.clusters[0], {
    id: PRIMARY,
    name: 'pcr-primary',
    region: 'us-east1',
    state: 'CREATED',
    operation_status: 'UNSPECIFIED',
    sql_available: true,
    down_since: null,
    disruption: [],
    failing_pods: [],
    nodes: [
      { name: 'cockroachdb-0', az: 'us-east1-a', status: 'LIVE' },
      { name: 'cockroachdb-1', az: 'us-east1-b', status: 'LIVE' },
      { name: 'cockroachdb-2', az: 'us-east1-c', status: 'LIVE' }
    ]
  })
  t.equal(state.body.clusters[1].id, STANDBY)
  t.match(state.body.streams, [{ id: DEFAULT_STREAM_ID, status: 'REPLICATING' }])
  t.strictSame(state.body.faults, [{ operation: 'getStream', kind: 'status', count: 2, id: 'fault-1', remaining: 2 }])
})

t.test('PUT /clusters/:id/nodes sets the status of some or all nodes', async (t) => {
  const emu = await startTestEmulator(t)
  const some = await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY', names: ['cockroachdb-0'] })
  t.equal(some.status, 200)
  t.match(some.body, { id: PRIMARY, sql_available: true, nodes: [{ status: 'NOT_READY' }, { status: 'LIVE' }, { status: 'LIVE' }] })
  const nodes = await emu.api('GET', `/clusters/${PRIMARY}/nodes`)
  t.strictSame(nodes.body.nodes.map((node: { status: string }) => node.status), ['NOT_READY', 'LIVE', 'LIVE'])

  emu.clock.advance(3)
  const all = await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'NOT_READY' })
  t.match(all.body, { sql_available: false, down_since: at(3) })
  t.equal(emu.state.isSqlAvailable(PRIMARY), false)
  const back = await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, { status: 'LIVE' })
  t.match(back.body, { sql_available: true, down_since: null })
})

t.test('PUT /clusters/:id/nodes refuses bad input', async (t) => {
  const emu = await startTestEmulator(t)
  const cases: Array<[unknown, number, RegExp]> = [
    [{ status: 'DEAD' }, 400, /invalid node change: status/],
    [{}, 400, /status/],
    [{ status: 'LIVE', names: [] }, 400, /names/],
    [{ status: 'LIVE', names: ['cockroachdb-7'] }, 400, /has no node cockroachdb-7/],
    [{ status: 'LIVE', name: 'cockroachdb-0' }, 400, /Unrecognized key/],
    ['{"status": ', 400, /not valid JSON/],
    [undefined, 400, /expected object/]
  ]
  for (const [body, status, message] of cases) {
    const answer = await emu.control('PUT', `/clusters/${PRIMARY}/nodes`, body)
    t.equal(answer.status, status, JSON.stringify(body))
    t.match(answer.body.error, message)
  }
  const unknown = await emu.control('PUT', '/clusters/nope/nodes', { status: 'LIVE' })
  t.equal(unknown.status, 404)
  t.match(unknown.body.error, /cluster nope not found/)
})

t.test('PATCH /clusters/:id sets the state and the operation status', async (t) => {
  const emu = await startTestEmulator(t)
  const locked = await emu.control('PATCH', `/clusters/${PRIMARY}`, { state: 'LOCKED', operation_status: 'CRDB_PATCH_RUNNING' })
  t.match(locked.body, { state: 'LOCKED', operation_status: 'CRDB_PATCH_RUNNING' })
  t.match((await emu.api('GET', `/clusters/${PRIMARY}`)).body, { state: 'LOCKED', operation_status: 'CRDB_PATCH_RUNNING' })
  const done = await emu.control('PATCH', `/clusters/${PRIMARY}`, { operation_status: 'UNSPECIFIED' })
  t.match(done.body, { state: 'LOCKED', operation_status: 'UNSPECIFIED' }, 'one field at a time')

  for (const [body, message] of [
    [{}, /give state, operation_status or both/],
    [{ state: 'GONE' }, /state/],
    [{ operation_status: 'NAPPING' }, /operation_status/],
    [{ state: 'CREATED', plan: 'BASIC' }, /Unrecognized key/]
  ] as const) {
    const answer = await emu.control('PATCH', `/clusters/${PRIMARY}`, body)
    t.equal(answer.status, 400, JSON.stringify(body))
    t.match(answer.body.error, message)
  }
  t.equal((await emu.control('PATCH', '/clusters/nope', { state: 'CREATED' })).status, 404)
})

t.test('POST /clock moves the clock forward, and only forward', async (t) => {
  const emu = await startTestEmulator(t)
  t.strictSame((await emu.control('POST', '/clock', { advance_seconds: 90 })).body, { now: at(90), offset_seconds: 90 })
  emu.clock.advance(10)
  t.strictSame((await emu.control('POST', '/clock', { advance_seconds: 0.5 })).body, { now: at(100.5), offset_seconds: 90.5 })
  t.equal(emu.state.now(), START + 100_500, 'the offset is added to the injected clock')
  for (const body of [{ advance_seconds: 0 }, { advance_seconds: -5 }, { advance_seconds: '5' }, {}, undefined]) {
    const answer = await emu.control('POST', '/clock', body)
    t.equal(answer.status, 400, JSON.stringify(body))
    t.match(answer.body.error, /invalid clock change/)
  }
})

t.test('POST /faults validates the fault', async (t) => {
  const emu = await startTestEmulator(t)
  const cases: Array<[unknown, RegExp]> = [
    [{ operation: 'deleteCluster', kind: 'status' }, /operation/],
    [{ operation: 'getCluster', kind: 'explode' }, /kind/],
    [{ operation: 'getCluster' }, /kind/],
    [{ operation: 'getCluster', kind: 'latency' }, /latency_ms/],
    [{ operation: 'getCluster', kind: 'latency', latency_ms: 0 }, /latency_ms/],
    [{ operation: 'getCluster', kind: 'hang', latency_ms: 10 }, /Unrecognized key: "latency_ms"/],
    [{ operation: 'getCluster', kind: 'status', status: 200 }, /status/],
    [{ operation: 'getCluster', kind: 'status', code: 17 }, /code/],
    [{ operation: 'getCluster', kind: 'status', retry_after_seconds: -1 }, /retry_after_seconds/],
    [{ operation: 'getCluster', kind: 'reset', count: 0 }, /count/],
    [{ operation: 'getCluster', kind: 'reset', count: 1.5 }, /count/],
    [{ operation: 'getCluster', kind: 'reset', duration_seconds: 0 }, /duration_seconds/],
    [{ operation: 'getCluster', kind: 'reset', after: 'yes' }, /after/],
    [{ operation: 'getStream', kind: 'empty' }, /operation: empty and truncated faults apply to operation listStreams only/],
    [{ operation: '*', kind: 'truncated' }, /operation: empty and truncated faults apply to operation listStreams only/],
    [{ operation: 'listStreams', kind: 'empty', after: true }, /Unrecognized key: "after"/],
    ['[', /not valid JSON/]
  ]
  for (const [body, message] of cases) {
    const answer = await emu.control('POST', '/faults', body)
    t.equal(answer.status, 400, JSON.stringify(body))
    t.match(answer.body.error, /^invalid fault: |not valid JSON/)
    t.match(answer.body.error, message)
  }
  t.strictSame((await emu.control('GET', '/state')).body.faults, [], 'none was added')
  const added = await emu.control('POST', '/faults', { operation: 'getCluster', kind: 'malformed' })
  t.equal(added.status, 201)
  t.strictSame(added.body, { id: 'fault-1' })
  t.equal((await emu.control('DELETE', '/faults')).status, 204)
  t.strictSame((await emu.control('GET', '/state')).body.faults, [])
})

t.test('POST /reset: back to the seed, without faults, log or rate-limit history; the clock stays', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: { perSecond: 2 }, timings: { startingSeconds: 10 } })
  await emu.api('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, { body: { status: 'FAILING_OVER' } })
  await emu.api('PUT', `/clusters/${PRIMARY}/disrupt`, {
    body: { regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] }
  })
  t.equal((await emu.api('GET', `/clusters/${PRIMARY}`)).status, 429)
  await emu.control('PUT', `/clusters/${STANDBY}/nodes`, { status: 'NOT_READY' })
  await emu.control('PATCH', `/clusters/${STANDBY}`, { state: 'DELETED' })
  await emu.control('POST', '/faults', { operation: '*', kind: 'status' })
  await emu.control('POST', '/clock', { advance_seconds: 60 })

  const reset = await emu.control('POST', '/reset')
  t.equal(reset.status, 204)
  t.equal(reset.body, null)
  const state = await emu.control('GET', '/state')
  t.strictSame(state.body.clock, { now: at(60), offset_seconds: 60 })
  t.strictSame(state.body.faults, [])
  t.match(state.body.clusters, [
    { state: 'CREATED', sql_available: true, disruption: [], nodes: [{ status: 'LIVE' }, { status: 'LIVE' }, { status: 'LIVE' }] },
    // The standby of the seeded stream: its nodes live, its application SQL offline while it replicates.
    { state: 'CREATED', sql_available: false, down_since: null, nodes: [{ status: 'LIVE' }, { status: 'LIVE' }, { status: 'LIVE' }] }
  ])
  t.strictSame((await emu.control('GET', '/requests')).body.requests, [])
  const stream = await emu.api('GET', `/physical-replication-streams/${DEFAULT_STREAM_ID}`)
  // The Cloud API writes times as protojson does: no fraction on whole seconds.
  t.match(stream.body, { status: 'REPLICATING', created_at: '2025-06-01T12:00:50Z' }, 'seeded again from the current time')
  t.equal((await emu.api('GET', '/physical-replication-streams')).status, 200, 'the rate limit starts afresh')
})

t.test('streams created after a reset get ids never used before', async (t) => {
  const emu = await startTestEmulator(t, { stream: 'none' })
  const body = { primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY }
  const first = await emu.api('POST', '/physical-replication-streams', { body })
  await emu.control('POST', '/reset')
  const second = await emu.api('POST', '/physical-replication-streams', { body })
  t.not(second.body.id, first.body.id)
  t.equal((await emu.api('GET', `/physical-replication-streams/${first.body.id}`)).status, 404)
})

t.test('an unknown control route is 404 with a message', async (t) => {
  const emu = await startTestEmulator(t)
  const answer = await emu.control('GET', '/nothing')
  t.equal(answer.status, 404)
  t.strictSame(answer.body, { error: 'no control route GET /_emulator/nothing' })
  const large = await emu.control('POST', '/faults', `"${'x'.repeat(1024 * 1024)}"`)
  t.equal(large.status, 413, 'framework errors keep their status')
  t.type(large.body.error, 'string')
  t.strictSame((await emu.control('GET', '/requests')).body.requests, [], 'control requests are not logged')
})
