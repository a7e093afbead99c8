import t from 'tap'
import { answerSchemaName, spec, specPath, validateAgainstSpec } from '../helpers/spec.js'

t.test('the validator reads the published specification', async (t) => {
  t.match(specPath, /cloud-api\/openapi\.json$/)
  t.ok(spec.components.schemas.PhysicalReplicationStream, 'the stream schema is there')
  t.ok(spec.paths['/api/v1/physical-replication-streams/{id}'], 'the stream path is there')
})

t.test('a conforming value has no problem', async (t) => {
  t.strictSame(validateAgainstSpec('Status', { code: 5, message: 'not found', details: [] }), [])
  t.strictSame(
    validateAgainstSpec('PhysicalReplicationStream', {
      id: 's',
      status: 'REPLICATING',
      primary_cluster_id: 'a',
      standby_cluster_id: 'b',
      created_at: '2025-06-02T12:00:00.000Z',
      replication_lag_seconds: 10
    }),
    []
  )
})

t.test('missing, mistyped and malformed fields are reported', async (t) => {
  const problems = validateAgainstSpec('PhysicalReplicationStream', {
    id: 7,
    status: 'PAUSED',
    primary_cluster_id: 'a',
    created_at: 'yesterday',
    replication_lag_seconds: 2 ** 40
  })
  t.strictSame(problems.sort(), [
    "/ must have required property 'standby_cluster_id'",
    '/created_at must match format "date-time"',
    '/id must be string',
    '/replication_lag_seconds must match format "int32"',
    '/status must be equal to one of the allowed values'
  ])
})

t.test('strict mode forbids fields the specification does not declare', async (t) => {
  const node = { name: 'cockroachdb-0', region_name: 'us-east1', status: 'LIVE', zone: 'us-east1-b' }
  t.strictSame(validateAgainstSpec('Node', node), ['/ must NOT have additional properties (zone)'])
  t.strictSame(validateAgainstSpec('Node', node, { strict: false }), [], 'the loose mode lets it pass')
  t.strictSame(
    validateAgainstSpec('ListClusterNodesResponse', { nodes: [node], pagination: { next_page: 'x', total: 1 } }),
    ['/nodes/0 must NOT have additional properties (zone)', '/pagination must NOT have additional properties (total)'],
    'nested and referenced schemas are strict too'
  )
  t.strictSame(
    validateAgainstSpec('Status', { code: 3, message: 'bad', details: [{ '@type': 'x', anything: 1 }] }),
    [],
    'a schema that allows additional properties keeps allowing them'
  )
})

t.test('a name the specification requires without declaring it counts as declared', async (t) => {
  const problems = validateAgainstSpec('Cluster', { is_customer_cloud_account: false })
  t.notOk(problems.some((problem) => problem.includes('additional')), 'is_customer_cloud_account is not invented')
  t.ok(problems.some((problem) => problem.includes("'id'")), 'the other required fields are still checked')
})

t.test('an unknown schema name is a problem, not a pass', async (t) => {
  t.strictSame(validateAgainstSpec('NoSuchSchema', {}), ['the specification has no schema NoSuchSchema'])
})

t.test('the schema of an answer comes from the specification', async (t) => {
  const cases: Array<[string, string, number, string]> = [
    ['GET', '/api/v1/clusters/abc', 200, 'Cluster'],
    ['GET', '/api/v1/clusters/abc/nodes?pagination.limit=2', 200, 'ListClusterNodesResponse'],
    ['GET', '/api/v1/clusters/abc/connection-string', 200, 'GetConnectionStringResponse'],
    ['GET', '/api/v1/clusters/abc/disrupt', 200, 'ClusterDisruptionInfo'],
    ['PUT', '/api/v1/clusters/abc/disrupt', 200, 'ClusterDisruptionInfo'],
    ['GET', '/api/v1/physical-replication-streams', 200, 'PhysicalReplicationStreamList'],
    ['POST', '/api/v1/physical-replication-streams', 200, 'PhysicalReplicationStream'],
    ['GET', '/api/v1/physical-replication-streams/s', 200, 'PhysicalReplicationStream'],
    ['PATCH', '/api/v1/physical-replication-streams/s', 200, 'PhysicalReplicationStream'],
    ['GET', '/api/v1/clusters/available-regions', 200, 'ListAvailableRegionsResponse'],
    ['PATCH', '/api/v1/physical-replication-streams/s', 400, 'Status'],
    ['GET', '/api/v1/no-such-thing', 404, 'Status'],
    ['DELETE', '/api/v1/physical-replication-streams/s', 404, 'Status']
  ]
  for (const [method, path, status, schema] of cases) {
    t.equal(answerSchemaName(method, path, status), schema, `${method} ${path} ${status}`)
  }
})
