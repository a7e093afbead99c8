import fc from 'fast-check'
import t from 'tap'
import { ActiveBody, ClusterActiveBody, ConnectionBody, ErrorBody, HealthBody, ReadyBody } from '../src/api-schemas.js'
import { activeBody, configuredRole, unavailableBody, unavailableReason } from '../src/api-views.js'
import { parseConfig } from '../src/config/index.js'
import { connectionString } from '../src/connection-string.js'
import type { ClusterView, Phase, Snapshot } from '../src/engine/snapshot.js'
import { createHotAnswers, type Answer, type ConnectionTarget } from '../src/hot-answers.js'
import { snapshotOf } from './helpers/snapshot.js'

// The prepared answers against the answers the routes computed per request before
// they were prepared (the oracle below), over generated snapshots: same status,
// same JSON, valid under the route's zod schema.

const PRIMARY = 'c0ffee00-0000-4000-8000-00000000000a'
const STANDBY = 'c0ffee00-0000-4000-8000-00000000000b'
const config = parseConfig({
  COCKROACH_API_SECRET_KEY: 'unused-key',
  PRIMARY_CLUSTER_ID: PRIMARY,
  STANDBY_CLUSTER_ID: STANDBY,
  HEALTH_CHECK_INTERVAL: '2',
  HEALTH_CHECK_TIMEOUT: '1',
  DATABASE_NAME: 'db/ü'
}).config
const staleAfterMs = 3 * (2 + 1) * 1000

const phases: Phase[] = ['starting', 'normal', 'suspect', 'delay', 'blocked', 'failover_scheduled', 'failing_over', 'activating', 'completed']
const time = fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }).map((ms) => new Date(ms).toISOString())
const clusterId = fc.constantFrom(PRIMARY, STANDBY, PRIMARY.toUpperCase(), 'c0ffee00-0000-4000-8000-00000000000c')

const cluster = (id: string): fc.Arbitrary<ClusterView> =>
  fc.record({
    id: fc.constant(id),
    name: fc.option(fc.string(), { nil: null }),
    role: fc.constantFrom('primary', 'standby', 'detached'),
    state: fc.constant('CREATED'),
    operationStatus: fc.constant(null),
    verdict: fc.constantFrom('healthy', 'unhealthy', 'unknown'),
    reason: fc.string(),
    nodesLive: fc.constant(3),
    nodesTotal: fc.constant(3),
    sqlDns: fc.option(fc.constantFrom('sql.example', '::1', 'h"\\'), { nil: null }),
    sqlPort: fc.integer({ min: 1, max: 65535 }),
    lastCheckedAt: fc.option(time, { nil: null })
  })

const snapshot: fc.Arbitrary<Snapshot> = fc
  .record({
    phase: fc.constantFrom(...phases),
    activeClusterId: fc.option(clusterId, { nil: null }),
    watchedClusterId: fc.constantFrom(PRIMARY, STANDBY),
    clusters: fc.tuple(cluster(PRIMARY), cluster(STANDBY)),
    lastCheckAt: fc.option(time, { nil: null }),
    monitorStartedAt: fc.option(time, { nil: null }),
    stale: fc.option(fc.record({ savedAt: time, ageSeconds: fc.double({ min: 0, max: 1e6, noNaN: true }) }), { nil: null }),
    fence: fc.option(fc.record({ clusterId: fc.constantFrom(PRIMARY, STANDBY), operationId: fc.uuid(), since: time }), { nil: null })
  })
  .map((parts) => snapshotOf(parts))

// What the routes answered, computed per request, before the answers were prepared.
const oracle = {
  active(s: Snapshot) {
    const active = activeBody(s, config)
    return active === undefined ? { status: 503, body: unavailableBody(s) } : { status: 200, body: active }
  },
  clusterActive(s: Snapshot, asked: string) {
    const id = [PRIMARY, STANDBY].find((c) => c.toLowerCase() === asked.toLowerCase())
    if (id === undefined) return { status: 404, body: { error: 'Not Found', message: 'not one of the two configured clusters', code: 'unknown_cluster' } }
    // A switchover's fence drains the active cluster like one that is not active.
    const active = s.activeClusterId?.toLowerCase() === asked.toLowerCase() && s.fence?.clusterId !== s.activeClusterId
    return { status: active ? 200 : 503, body: { active, cluster_id: id, active_cluster_id: s.activeClusterId, phase: s.phase } }
  },
  health(s: Snapshot, now: number) {
    const since = s.lastCheckAt ?? s.monitorStartedAt
    const stale = since !== null && now - Date.parse(since) > staleAfterMs
    const role = s.activeClusterId === null ? null : configuredRole(s.activeClusterId, PRIMARY)
    return { status: stale ? 503 : 200, body: { status: stale ? 'stale' : 'ok', active_cluster_id: s.activeClusterId, role, phase: s.phase, last_check_at: s.lastCheckAt } }
  },
  ready(s: Snapshot, coordinated: boolean) {
    const unseen = coordinated ? s.clusters.find((c) => c.id === s.activeClusterId && c.verdict === 'unhealthy') : undefined
    const ready = activeBody(s, config) !== undefined && unseen === undefined
    const reason = unseen !== undefined ? `this sidecar judges the active cluster ${unseen.id} unhealthy: ${unseen.reason}` : unavailableReason(s).message
    return { status: ready ? 200 : 503, body: { ready, active_cluster_id: s.activeClusterId, phase: s.phase, ...(ready ? {} : { reason }) } }
  }
}

const parsed = (answer: Answer) => ({ status: answer.status, body: JSON.parse(answer.body) })

t.test('every prepared answer is the one the route computed per request, and valid under its schema', async (t) => {
  fc.assert(
    fc.property(snapshot, fc.boolean(), fc.integer({ min: -20_000, max: 20_000 }), clusterId, fc.string(), fc.string(), (s, coordinated, offset, asked, user, password) => {
      const answers = createHotAnswers({ snapshot: () => s, config, coordinated })
      const since = s.lastCheckAt ?? s.monitorStartedAt
      const now = (since === null ? Date.parse('2030-01-01T00:00:00Z') : Date.parse(since)) + staleAfterMs + offset

      const active = answers.active()
      t.same(parsed(active), oracle.active(s))
      t.equal(active.retryAfter, active.status === 503 ? '2' : undefined)
      ;(active.status === 200 ? ActiveBody : ErrorBody).parse(JSON.parse(active.body))

      const clusterActive = answers.clusterActive(asked)
      t.same(parsed(clusterActive), oracle.clusterActive(s, asked))
      ;(clusterActive.status === 404 ? ErrorBody : ClusterActiveBody).parse(JSON.parse(clusterActive.body))

      t.same(parsed(answers.health(now)), oracle.health(s, now))
      HealthBody.parse(JSON.parse(answers.health(now).body))
      t.same(parsed(answers.ready()), oracle.ready(s, coordinated))
      ReadyBody.parse(JSON.parse(answers.ready().body))

      const target = answers.connection()
      if ('status' in target) {
        t.equal(target, active, '/connection answers what /active does while no cluster is handed out')
        return
      }
      const body = JSON.parse(answers.connectionBody(target, user, password))
      const expected = activeBody(s, config) as NonNullable<ReturnType<typeof activeBody>>
      t.same(body, {
        connection_string: connectionString({ ...expected, user, password }),
        cluster_id: expected.cluster_id,
        role: expected.role,
        host: expected.host,
        port: expected.port,
        database: expected.database,
        sslmode: expected.sslmode
      })
      ConnectionBody.parse(body)
    }),
    { numRuns: 300 }
  )
})

t.test('a fenced active cluster is handed to no one, with the switchover named', async (t) => {
  const clusters = [PRIMARY, STANDBY].map((id) => ({ id, name: null, role: 'primary' as const, state: 'CREATED', operationStatus: null, verdict: 'healthy' as const, reason: '', nodesLive: 3, nodesTotal: 3, sqlDns: 'sql.example', sqlPort: 26257, lastCheckedAt: null }))
  const fence = { clusterId: PRIMARY, operationId: 'op-1', since: '2026-01-01T00:00:00.000Z' }
  const s = snapshotOf({ phase: 'normal', activeClusterId: PRIMARY, watchedClusterId: PRIMARY, clusters, fence })
  const answers = createHotAnswers({ snapshot: () => s, config, coordinated: false })
  const unavailable = { status: 503, body: { error: 'Service Unavailable', code: 'fenced', message: `a planned switchover (operation op-1) has fenced writes on ${PRIMARY} until the standby takes over` } }
  t.same(parsed(answers.active()), unavailable)
  t.equal(answers.connection(), answers.active())
  t.same(parsed(answers.clusterActive(PRIMARY)), { status: 503, body: { active: false, cluster_id: PRIMARY, active_cluster_id: PRIMARY, phase: 'normal' } })
  t.match(parsed(answers.ready()), { status: 503, body: { ready: false, reason: unavailable.body.message } })
  const moved = createHotAnswers({ snapshot: () => ({ ...s, activeClusterId: STANDBY }), config, coordinated: false })
  t.equal(moved.active().status, 200, 'a fence on a cluster no longer active fences nothing')
})

t.test('answers are prepared once per snapshot, and again when the engine replaces it', async (t) => {
  const [first, second] = fc.sample(snapshot.filter((s) => activeBody(s, config) !== undefined), 2) as [Snapshot, Snapshot]
  let current = first
  const answers = createHotAnswers({ snapshot: () => current, config, coordinated: false })
  const before = { active: answers.active(), ready: answers.ready(), connection: answers.connection() as ConnectionTarget }
  t.equal(answers.active(), before.active, 'the same snapshot gives the same prepared answer, not a new one')
  t.equal(answers.ready(), before.ready)
  t.equal(answers.connection(), before.connection)
  current = { ...second, activeClusterId: second.activeClusterId, phase: 'completed' }
  t.not(answers.active(), before.active, 'a new snapshot gives new answers')
  t.equal(JSON.parse(answers.active().body).phase, 'completed')
  t.equal(answers.active(), answers.active(), 'and keeps them until the next one')
})
