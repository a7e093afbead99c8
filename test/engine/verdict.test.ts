import t from 'tap'
import type { Cluster, ClusterNode } from '../../src/cloud/schemas.js'
import { judge, type Observation } from '../../src/engine/verdict.js'

function cluster(state: Cluster['state'], operation_status = 'UNSPECIFIED'): Cluster {
  return {
    id: 'c1',
    name: 'primary',
    cockroach_version: 'v25.2.0',
    plan: 'ADVANCED',
    cloud_provider: 'GCP',
    state,
    operation_status,
    regions: []
  }
}

function nodes(live: number, notReady: number): ClusterNode[] {
  return [
    ...Array.from({ length: live }, (_, i) => ({ name: `n${i}`, region_name: 'us-east1', status: 'LIVE' as const })),
    ...Array.from({ length: notReady }, (_, i) => ({ name: `d${i}`, region_name: 'us-east1', status: 'NOT_READY' as const }))
  ]
}

const ok = <T>(value: T) => ({ ok: true as const, value })
const failed = (error: string) => ({ ok: false as const, error })

t.test('API evidence alone', async (t) => {
  const cases: Array<[string, Observation, string]> = [
    ['all live', { cluster: ok(cluster('CREATED')), nodes: ok(nodes(3, 0)) }, 'healthy'],
    ['one of three down', { cluster: ok(cluster('CREATED')), nodes: ok(nodes(2, 1)) }, 'healthy'],
    ['two of three down', { cluster: ok(cluster('CREATED')), nodes: ok(nodes(1, 2)) }, 'unhealthy'],
    ['all down', { cluster: ok(cluster('CREATED')), nodes: ok(nodes(0, 3)) }, 'unhealthy'],
    ['half of four is not a majority', { cluster: ok(cluster('CREATED')), nodes: ok(nodes(2, 2)) }, 'unhealthy'],
    ['three of five', { cluster: ok(cluster('CREATED')), nodes: ok(nodes(3, 2)) }, 'healthy'],
    ['LOCKED still serves', { cluster: ok(cluster('LOCKED')), nodes: ok(nodes(3, 0)) }, 'healthy'],
    ['an upgrade running still serves', { cluster: ok(cluster('CREATED', 'CRDB_MAJOR_UPGRADE_RUNNING')), nodes: ok(nodes(3, 0)) }, 'healthy'],
    ['DELETED', { cluster: ok(cluster('DELETED')) }, 'unhealthy'],
    ['CREATION_FAILED', { cluster: ok(cluster('CREATION_FAILED')) }, 'unhealthy'],
    ['CREATING', { cluster: ok(cluster('CREATING')) }, 'unknown'],
    ['cluster unreadable', { cluster: failed('timeout') }, 'unknown'],
    ['nodes unreadable', { cluster: ok(cluster('CREATED')), nodes: failed('HTTP 503') }, 'unknown'],
    ['nodes not asked', { cluster: ok(cluster('CREATED')) }, 'unknown'],
    ['no nodes listed', { cluster: ok(cluster('CREATED')), nodes: ok([]) }, 'unknown']
  ]
  for (const [name, observation, verdict] of cases) {
    t.equal(judge(observation).verdict, verdict, name)
    t.equal(judge(observation, 'either').verdict, verdict, `${name} (either mode, no SQL)`)
  }
  t.same(judge({ cluster: ok(cluster('CREATED')), nodes: ok(nodes(1, 2)) }), {
    verdict: 'unhealthy',
    reason: '1 of 3 nodes live',
    nodesLive: 1,
    nodesTotal: 3
  })
  t.match(judge({ cluster: failed('getCluster: timed out') }).reason, /cluster not readable: getCluster: timed out/)
})

t.test('with a SQL probe, both kinds of evidence are needed by default', async (t) => {
  const down = { cluster: ok(cluster('CREATED')), nodes: ok(nodes(0, 3)) }
  const up = { cluster: ok(cluster('CREATED')), nodes: ok(nodes(3, 0)) }
  const unreadable = { cluster: failed('HTTP 500') }
  const sqlOk = { ok: true as const }
  const sqlDown = { ok: false as const, error: 'connection refused' }
  t.equal(judge({ ...down, sql: sqlDown }).verdict, 'unhealthy', 'API and SQL agree: down')
  t.equal(judge({ ...down, sql: sqlOk }).verdict, 'healthy', 'SQL answers: serving')
  t.equal(judge({ ...up, sql: sqlDown }).verdict, 'healthy', 'SQL failing alone may be our own network')
  t.equal(judge({ ...unreadable, sql: sqlDown }).verdict, 'unknown', 'no API evidence')
  t.equal(judge({ ...unreadable, sql: sqlOk }).verdict, 'healthy', 'SQL answering is evidence of health')
  t.match(judge({ ...down, sql: sqlDown }).reason, '0 of 3 nodes live; SQL fails: connection refused')
})

t.test('either mode: one kind of evidence suffices', async (t) => {
  const down = { cluster: ok(cluster('CREATED')), nodes: ok(nodes(0, 3)) }
  const up = { cluster: ok(cluster('CREATED')), nodes: ok(nodes(3, 0)) }
  const unreadable = { cluster: failed('HTTP 500') }
  t.equal(judge({ ...down, sql: { ok: true } }, 'either').verdict, 'unhealthy')
  t.equal(judge({ ...up, sql: { ok: false, error: 'x' } }, 'either').verdict, 'unhealthy')
  t.equal(judge({ ...up, sql: { ok: true } }, 'either').verdict, 'healthy')
  t.equal(judge({ ...unreadable, sql: { ok: true } }, 'either').verdict, 'unknown')
  t.equal(judge({ ...unreadable, sql: { ok: false, error: 'x' } }, 'either').verdict, 'unhealthy')
})
