import t from 'tap'
import { Etcd3 } from 'etcd3'
import { apiRequestsOf, roleOf, startFleet } from '../../tools/fleet.js'
import { waitFor } from '../../tools/wait-for.js'
import { PRIMARY, STANDBY, admin, type Service } from '../../tools/stack.js'

const credentials = { 'x-db-username': 'app', 'x-db-password': 'secret-of-the-app' }

// Three sidecars, one etcd cluster of three members, the emulator and two real
// PostgreSQL servers: the fleet acts as one.

const activeOf = (svc: Service) => svc.fastify.engine.snapshot().activeClusterId

t.test('one leader reads the Cloud API; followers serve from its view and send nothing', async (t) => {
  const fleet = await startFleet(t)
  const a = await fleet.start('sidecar-a')
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader')
  const [b, c] = await Promise.all([fleet.start('sidecar-b'), fleet.start('sidecar-c')])
  await waitFor('b and c follow a', () => roleOf(b) === 'follower' && roleOf(c) === 'follower')
  await waitFor('every sidecar names the primary', () => [a, b, c].every((s) => activeOf(s) === PRIMARY))

  // A first check may still be reading when its sidecar first names the primary.
  await waitFor('every sidecar has finished a check', () => [a, b, c].every((s) => s.fastify.engine.snapshot().checks >= 1))
  const before = await Promise.all([a, b, c].map(apiRequestsOf))
  const emulatorBefore = (await fleet.cloud.requests()).length
  const checksBefore = [b, c].map((s) => s.fastify.engine.snapshot().checks)
  await waitFor('followers check ten more times', () =>
    [b, c].every((s, i) => s.fastify.engine.snapshot().checks >= (checksBefore[i] as number) + 10)
  )
  const after = await Promise.all([a, b, c].map(apiRequestsOf))
  const emulatorAfter = (await fleet.cloud.requests()).length
  t.equal(after[1], before[1], 'follower b sent no Cloud API request while checking')
  t.equal(after[2], before[2], 'follower c sent no Cloud API request while checking')
  t.ok((after[0] as number) > (before[0] as number), 'the leader did read the API')
  // Every request the emulator saw came from the leader (the control reads do not count).
  t.ok(emulatorAfter - emulatorBefore <= (after[0] as number) - (before[0] as number) + 2, 'the emulator saw one sidecar worth of traffic')

  const clusters = await b.get('/clusters')
  t.match(clusters.body.coordination, {
    sidecar_id: 'sidecar-b',
    role: 'follower',
    connected: true,
    leader_id: 'sidecar-a',
    leader_url: 'http://sidecar-a.test:8080',
    source: 'leader_view',
    view_stale: false
  })
  t.equal((await b.get('/connection', credentials)).status, 200, 'a follower hands out connections')

  // Only the leader writes the fleet's pause: a follower's attempt is refused by etcd's transaction.
  await t.rejects(b.fastify.coordination!.recordPause(true, 'test'), /this sidecar does not lead/)
  const refused = await b.post('/admin/failover', { dry_run: true }, admin)
  t.equal(refused.status, 409, 'admin calls on a follower are refused')
  t.equal(refused.body.code, 'not_leader')
  t.match(refused.body.message, /sidecar-a at http:\/\/sidecar-a\.test:8080/)

  const metrics = await b.get('/metrics')
  t.match(metrics.body, /pcr_coordination_leader 0/)
  t.match(metrics.body, /pcr_coordination_connected 1/)
  t.match(String((await a.get('/metrics')).body), /pcr_coordination_leader 1/)

  // What lands in the pause key is read with care: nothing but a well-formed pause counts.
  const raw = new Etcd3({ hosts: fleet.etcd.endpoints })
  t.teardown(() => raw.close())
  await raw.put(`${fleet.env.ETCD_PREFIX}paused`).value('{"paused": tru')
  await raw.put(`${fleet.env.ETCD_PREFIX}paused`).value('{"paused": "yes"}')
  const seen = b.fastify.engine.snapshot().checks
  await waitFor('b checks twice more', () => b.fastify.engine.snapshot().checks >= seen + 2)
  t.notOk([a, b, c].some((s) => s.fastify.engine.snapshot().paused), 'a malformed pause is ignored, by every sidecar')

  // A pause is the fleet's, not the leader's alone.
  t.equal((await a.post('/admin/pause', undefined, admin)).status, 200)
  await waitFor('the followers are paused too', () => [b, c].every((s) => s.fastify.engine.snapshot().paused))

  // A leader that leaves hands over at once (its lease is revoked), and the new one reads the API.
  await a.close()
  await waitFor('b or c leads', () => roleOf(b) === 'leader' || roleOf(c) === 'leader')
  const leader = roleOf(b) === 'leader' ? b : c
  const follower = leader === b ? c : b
  t.ok(leader.events().some((e) => e.type === 'leader_changed' && e.data.self === true), 'the new leader says so')
  t.equal(leader.fastify.engine.snapshot().paused, true, 'and is still paused')
  t.equal((await leader.post('/admin/resume', undefined, admin)).status, 200)
  await waitFor('the follower resumes with it', () => !follower.fastify.engine.snapshot().paused)
})

t.test('a sidecar cut off from the primary alone cannot fail over', async (t) => {
  const fleet = await startFleet(t)
  // The leader's probe points at a closed port and one failed probe is enough for its verdict.
  const a = await fleet.start('sidecar-a', {
    PRIMARY_CLUSTER_ENDPOINT: 'postgresql://postgres@127.0.0.1:1/postgres',
    UNHEALTHY_EVIDENCE: 'either'
  })
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader')
  const others = await Promise.all([fleet.start('sidecar-b', { UNHEALTHY_EVIDENCE: 'either' }), fleet.start('sidecar-c', { UNHEALTHY_EVIDENCE: 'either' })])
  await waitFor('b and c follow', () => others.every((s) => roleOf(s) === 'follower'))
  const blocked = await a.waitForEvent('failover_blocked', (e) => e.data.code === 'coordinator', 20_000)
  t.match(blocked.message, /observer quorum not reached: only 1 of 3 live observers see .* down \(sidecar-a\); 2 needed/)
  t.equal(await fleet.cloud.patches(), 0, 'no PATCH reached the API')
  for (const s of others) t.equal(s.fastify.engine.snapshot().clusters.find((c) => c.id === PRIMARY)?.verdict, 'healthy', 'the others see the primary')
  const ready = await a.get('/ready')
  t.equal(ready.status, 503, "the cut-off sidecar's own readiness says what it sees")
  t.match(ready.body.reason, /this sidecar judges the active cluster .* unhealthy/)
  for (const s of others) t.equal((await s.get('/ready')).status, 200)
})

t.test('a real outage: one PATCH, every sidecar moves to the standby', async (t) => {
  const fleet = await startFleet(t)
  const a = await fleet.start('sidecar-a')
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader')
  const [b, c] = await Promise.all([fleet.start('sidecar-b'), fleet.start('sidecar-c')])
  await waitFor('every sidecar names the primary', () => [a, b, c].every((s) => activeOf(s) === PRIMARY))
  // The leader's PATCH takes longer than the followers' timelines lag behind its own (one
  // interval), and less than the request timeout: the followers confirm the outage while
  // the stream is still replicating, whatever their phase on a loaded machine.
  await fleet.cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'latency', latency_ms: 600, count: 1 })
  await fleet.cloud.setNodes(PRIMARY, 'NOT_READY')
  await fleet.primarySql.stop()
  await waitFor('every sidecar names the standby', () => [a, b, c].every((s) => activeOf(s) === STANDBY), { timeoutMs: 30_000 })
  t.equal(await fleet.cloud.patches(), 1, 'exactly one PATCH')
  const quorum = a.events().find((e) => e.type === 'quorum_reached')
  t.match(quorum?.data, { agree: 3, live: 3, needed: 2 }, 'all three observers agreed')
  for (const s of [a, b, c]) {
    const connection = await s.get('/connection', credentials)
    t.equal(connection.status, 200)
    t.equal(connection.body.cluster_id, STANDBY)
  }
  for (const s of [b, c]) {
    t.ok(s.events().some((e) => e.type === 'failover_adopted'), 'a follower follows the failover without requesting one')
    t.notOk(s.events().some((e) => e.type === 'failover_blocked'), 'and is not "blocked": it leaves the decision to the leader')
  }
  t.ok(
    [b, c].some((s) => s.events().some((e) => e.type === 'failover_deferred' && e.data.leaderId === 'sidecar-a')),
    'a follower that confirms the outage itself says who decides'
  )
})

t.test('etcd without quorum: no automatic failover, connections still served, manual failover still works', async (t) => {
  const fleet = await startFleet(t)
  const a = await fleet.start('sidecar-a')
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader')
  const [b, c] = await Promise.all([fleet.start('sidecar-b'), fleet.start('sidecar-c')])
  await waitFor('every sidecar names the primary', () => [a, b, c].every((s) => activeOf(s) === PRIMARY))
  await Promise.all([fleet.etcd.members[0]?.stop(), fleet.etcd.members[1]?.stop()])
  for (const s of [a, b, c]) await s.waitForEvent('coordination_lost')
  for (const s of [a, b, c]) t.equal((await s.get('/connection', credentials)).body.cluster_id, PRIMARY, 'the last known cluster is still served')

  // A pause etcd cannot record would hold only here: the next leader would fail over.
  const pause = await a.post('/admin/pause', undefined, admin)
  t.equal(pause.status, 503)
  t.equal(pause.body.code, 'coordination_unavailable')
  t.match(pause.body.message, /^the pause could not be recorded in etcd, where every sidecar and the next leader read it: .+; nothing was changed$/)
  t.notOk(a.fastify.engine.snapshot().paused, 'nothing was changed')

  await fleet.cloud.setNodes(PRIMARY, 'NOT_READY')
  await fleet.primarySql.stop()
  for (const s of [a, b, c]) {
    const blocked = await s.waitForEvent('failover_blocked', (e) => e.data.code === 'coordinator', 30_000)
    t.match(blocked.message, /etcd is unreachable/)
  }
  t.equal(await fleet.cloud.patches(), 0, 'no sidecar failed over on its own')
  const stale = (await b.get('/clusters')).body.coordination
  t.match(stale, { role: 'none', connected: false, source: 'cloud_api' })

  const manual = await c.post('/admin/failover', {}, admin)
  t.equal(manual.status, 202, 'a manual failover is accepted by the sidecar that receives it')
  t.ok(c.events().some((e) => e.type === 'coordination_bypassed'), 'with a warning in the history')
  await waitFor('c names the standby', () => activeOf(c) === STANDBY, { timeoutMs: 30_000 })
  t.equal(await fleet.cloud.patches(), 1)

  await fleet.etcd.members[0]?.start()
  await c.waitForEvent('coordination_restored', () => true, 30_000)
})

t.test("Cloud API faults seen by the leader reach followers as the leader's errors, never as a failover", async (t) => {
  const fleet = await startFleet(t)
  const a = await fleet.start('sidecar-a')
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader' && a.fastify.engine.snapshot().checks >= 1)
  const b = await fleet.start('sidecar-b')
  await waitFor('b follows and names the primary', () => roleOf(b) === 'follower' && activeOf(b) === PRIMARY)
  await fleet.cloud.control('POST', '/faults', { operation: 'getCluster', kind: 'status', status: 503 })
  const primaryOf = (svc: Service) => svc.fastify.engine.snapshot().clusters.find((c) => c.id === PRIMARY)
  await waitFor("b's check carries the leader's failed read", () => /the leader could not read cluster .*HTTP 503/.test(primaryOf(b)?.reason ?? ''))
  t.equal(primaryOf(b)?.verdict, 'healthy', 'its own SQL probe still answers, so the API error alone changes nothing')
  const checks = b.fastify.engine.snapshot().checks
  await waitFor('b checks ten more times', () => b.fastify.engine.snapshot().checks >= checks + 10)
  for (const s of [a, b]) {
    t.notOk(s.events().some((e) => e.type === 'failure_counted'), 'an unreadable cluster is never counted as a failure')
  }
  t.equal(await fleet.cloud.patches(), 0)
  t.equal(activeOf(b), PRIMARY, 'the follower keeps serving the last known active cluster')
})
