import t from 'tap'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY, DEFAULT_STREAM_ID as STREAM } from '../../src/emulator/seed.js'
import { START, startTestEmulator, type TestEmulator } from '../helpers/emulator.js'

// How clusters behave over time, each test naming the source of the rules it
// checks (docs/cloud-api.md). The clock starts at START (t = 0). Each test
// reads many times within a second of real time while the manual clock stands
// for minutes, so the rate limit (fidelity-api.test.ts) is off.

const at = (seconds: number) => new Date(START + seconds * 1000).toISOString()
/** Moves the manual clock to t = seconds, to the exact millisecond. */
const to = (emu: TestEmulator, seconds: number) => emu.clock.advance((Math.round(seconds * 1000) - (emu.clock.now() - START)) / 1000)

const statuses = async (emu: TestEmulator, cluster = PRIMARY) =>
  (await emu.api('GET', `/clusters/${cluster}/nodes`)).body.nodes.map((node: { status: string }) => node.status)
const operation = async (emu: TestEmulator, cluster = PRIMARY) => (await emu.api('GET', `/clusters/${cluster}`)).body.operation_status
const disrupt = (emu: TestEmulator, specs: unknown[], cluster = PRIMARY) =>
  emu.api('PUT', `/clusters/${cluster}/disrupt`, { body: { regional_disruptor_specifications: specs } })
const described = async (emu: TestEmulator, cluster: string) => (await emu.control('GET', '/state')).body.clusters.find((c: { id: string }) => c.id === cluster)
const streamStatus = async (emu: TestEmulator, id = STREAM) => (await emu.api('GET', `/physical-replication-streams/${id}`)).body.status
const WHOLE_REGION = [{ region_code: 'us-east1', is_whole_region: true }]

t.test('5. a disruption moves nodes one after another, and may end FAILED (spec: ClusterStatus.Type CRDB_CLUSTER_DISRUPTION_*)', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false }) // disruptionApplySeconds 5: a node every 5/3 s
  await disrupt(emu, WHOLE_REGION)
  t.strictSame(await statuses(emu), ['LIVE', 'LIVE', 'LIVE'], 'nothing has moved yet')
  t.equal(await operation(emu), 'CRDB_CLUSTER_DISRUPTION_RUNNING')
  to(emu, 1.667)
  t.strictSame(await statuses(emu), ['NOT_READY', 'LIVE', 'LIVE'])
  t.equal(emu.state.isSqlAvailable(PRIMARY), true, 'the majority still serves')
  to(emu, 3.333)
  t.strictSame(await statuses(emu), ['NOT_READY', 'NOT_READY', 'LIVE'])
  t.has(await described(emu, PRIMARY), { sql_available: false, down_since: at(3.333) }, 'the majority is lost with the second node')
  to(emu, 4.999)
  t.equal(await operation(emu), 'CRDB_CLUSTER_DISRUPTION_RUNNING')
  to(emu, 5)
  t.strictSame(await statuses(emu), ['NOT_READY', 'NOT_READY', 'NOT_READY'])
  t.equal(await operation(emu), 'UNSPECIFIED', 'applied')

  await disrupt(emu, []) // the end of a disruption takes the same way back
  t.strictSame(await statuses(emu), ['NOT_READY', 'NOT_READY', 'NOT_READY'])
  to(emu, 8.333)
  t.strictSame(await statuses(emu), ['LIVE', 'LIVE', 'NOT_READY'])
  t.has(await described(emu, PRIMARY), { sql_available: true, down_since: null })

  // A pod the disruptor cannot move (control API): it stays, and the disruption fails.
  const failing = await emu.control('PUT', `/clusters/${PRIMARY}/failing-pods`, { names: ['cockroachdb-2'] })
  t.has(failing.body, { failing_pods: ['cockroachdb-2'] })
  to(emu, 20)
  await disrupt(emu, WHOLE_REGION)
  to(emu, 25)
  t.strictSame(await statuses(emu), ['NOT_READY', 'NOT_READY', 'LIVE'])
  t.equal(await operation(emu), 'CRDB_CLUSTER_DISRUPTION_FAILED')
  to(emu, 60)
  t.equal(await operation(emu), 'CRDB_CLUSTER_DISRUPTION_FAILED', 'and stays so')
  await emu.control('PATCH', `/clusters/${PRIMARY}`, { operation_status: 'UNSPECIFIED' })
  t.equal(await operation(emu), 'UNSPECIFIED', 'until the control API sets another status')
  t.equal((await emu.control('PUT', `/clusters/${PRIMARY}/failing-pods`, { names: ['cockroachdb-7'] })).status, 400)

  // Node status set through the control API changes at once: it is the node itself, not the disruptor.
  await emu.control('PUT', `/clusters/${STANDBY}/nodes`, { status: 'NOT_READY' })
  t.strictSame(await statuses(emu, STANDBY), ['NOT_READY', 'NOT_READY', 'NOT_READY'])
})

t.test("6. SQL follows the roles: a standby's application SQL is offline while it replicates (PCR docs: Read from standby, fail over)", async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: false, stream: 'none', timings: { startingSeconds: 60, initialScanSeconds: 60, failoverSeconds: 30 } })
  t.equal(emu.state.isSqlAvailable(STANDBY), true, 'no stream: both serve')
  const id = (await emu.api('POST', '/physical-replication-streams', { body: { primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY } })).body.id
  for (const [seconds, status] of [
    [0, 'STARTING'],
    [60, 'REPLICATING'],
    [130, 'REPLICATING']
  ] as const) {
    to(emu, seconds)
    t.equal(await streamStatus(emu, id), status)
    t.equal(emu.state.isSqlAvailable(STANDBY), false, `the standby while ${status}`)
    t.equal(emu.state.isSqlAvailable(PRIMARY), true, `the primary while ${status}`)
  }
  t.has(await described(emu, STANDBY), { sql_available: false, down_since: null }, 'down_since speaks of nodes only')

  await emu.api('PATCH', `/physical-replication-streams/${id}`, { body: { status: 'FAILING_OVER' } })
  to(emu, 159.999)
  t.equal(await streamStatus(emu, id), 'FAILING_OVER')
  t.equal(emu.state.isSqlAvailable(STANDBY), false, 'not during the cut-over')
  to(emu, 160)
  t.equal(await streamStatus(emu, id), 'COMPLETED')
  t.equal(emu.state.isSqlAvailable(STANDBY), true, 'once the failover has completed')
  t.equal(emu.state.isSqlAvailable(PRIMARY), true, 'both serve, as separate clusters')

  const back = (await emu.api('POST', '/physical-replication-streams', { body: { primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY } })).body.id
  t.equal(emu.state.isSqlAvailable(PRIMARY), false, 'a failback makes the old primary a standby')
  t.has(await described(emu, PRIMARY), { sql_available: false, down_since: null })
  await emu.api('PATCH', `/physical-replication-streams/${back}`, { body: { status: 'CANCELED' } })
  t.equal(await streamStatus(emu, back), 'STARTING', 'no cancel while STARTING')
  to(emu, 220)
  await emu.api('PATCH', `/physical-replication-streams/${back}`, { body: { status: 'CANCELED' } })
  t.equal(emu.state.isSqlAvailable(PRIMARY), true, 'a canceled stream holds no standby')

  await emu.control('PUT', `/clusters/${STANDBY}/nodes`, { status: 'NOT_READY', names: ['cockroachdb-0', 'cockroachdb-1'] })
  t.equal(emu.state.isSqlAvailable(STANDBY), false, 'and nothing serves without a majority')
})
