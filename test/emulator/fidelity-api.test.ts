import t from 'tap'
import { ERROR_INFO_TYPE } from '../../src/emulator/api-error.js'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY, DEFAULT_STREAM_ID } from '../../src/emulator/seed.js'
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
