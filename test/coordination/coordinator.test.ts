import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Etcd3 } from 'etcd3'
import { createEtcdClient } from '../../src/coordination/etcd-client.js'
import { createEtcdCoordinator } from '../../src/coordination/etcd-coordinator.js'
import { createSession, type Session } from '../../src/coordination/session.js'
import { systemClock } from '../../src/engine/engine.js'
import type { EventInput } from '../../src/engine/events.js'
import { startEtcdCluster } from '../../tools/etcd.js'
import { waitFor } from '../../tools/wait-for.js'

// The session and the coordinator against one real etcd member.

const settings = (endpoints: string[]) => ({
  endpoints,
  prefix: '/unused/',
  sidecarId: 'unused',
  leaseTtlSeconds: 2,
  quorum: 'majority' as const,
  staleAfterSeconds: 4
})

t.test('sessions elect one leader; its coordinator records each request once per window', async (t) => {
  const etcd = await startEtcdCluster(t, { size: 1 })
  const prefix = `/coordinator-test/${randomUUID()}/`
  const clients = [createEtcdClient(settings(etcd.endpoints), 1000), createEtcdClient(settings(etcd.endpoints), 1000)]
  const sessions: Session[] = []
  t.teardown(async () => {
    await Promise.all(sessions.map((s) => s.stop()))
    for (const c of clients) c.close()
  })
  for (const [i, client] of clients.entries()) {
    const session = createSession({ client, prefix, sidecarId: `s${i + 1}`, sidecarUrl: `http://s${i + 1}.test`, ttlSeconds: 2, clock: systemClock })
    sessions.push(session)
    await session.start()
  }
  const [leader, follower] = sessions as [Session, Session]
  t.match(leader.state(), { connected: true, isLeader: true, leader: { id: 's1', url: 'http://s1.test' } })
  t.match(follower.state(), { connected: true, isLeader: false, leader: { id: 's1' } })

  let clock = Date.now()
  const recorded: EventInput[] = []
  const coordinatorOf = (session: Session, sidecarId: string) =>
    createEtcdCoordinator({
      session,
      prefix,
      sidecarId,
      quorum: 'majority',
      observationMaxAgeMs: 1000,
      requestWindowMs: 5000,
      now: () => clock,
      record: (e) => recorded.push(e)
    })
  const context = { streamId: 'stream-1', trigger: 'manual', fromClusterId: 'primary' }
  t.same(await coordinatorOf(follower, 's2').mayAct('failover', context), {
    allowed: false,
    reason: 'sidecar s1 leads and decides; this sidecar (s2) does not act'
  })
  const mine = coordinatorOf(leader, 's1')
  t.same(await mine.mayAct('failover', context), { allowed: true })
  const again = await mine.mayAct('failover', context)
  t.equal(again.allowed, false, 'a second request while the first may be in flight is refused')
  t.match(again.reason, /^sidecar s1 asked stream stream-1 to fail over at .*; that request may still be in flight$/)
  clock += 5000
  t.same(await mine.mayAct('failover', context), { allowed: true }, 'once the first can no longer be in flight, a new request may go')

  // A request record this version cannot read (hand-written, or from another version)
  // tells nothing of a request in flight: it is replaced, not a reason to fail.
  const raw = new Etcd3({ hosts: etcd.endpoints })
  t.teardown(() => raw.close())
  for (const [i, value] of ['not json', '{"sidecarId":"s9"}', 'null'].entries()) {
    await raw.put(`${prefix}requests/odd-${i}`).value(value)
    t.same(await mine.mayAct('failover', { ...context, streamId: `odd-${i}` }), { allowed: true }, `over ${value}`)
    t.match(JSON.parse((await raw.get(`${prefix}requests/odd-${i}`).string()) as string), { sidecarId: 's1', at: clock })
  }
  t.same(recorded, [], 'nothing to report while a leader exists')

  const auto = await mine.mayAct('failover', { ...context, streamId: 'stream-2', trigger: 'auto' })
  t.same(auto, { allowed: false, reason: 'observer quorum not reached: only 0 of 0 live observers see primary down; 1 needed (QUORUM=majority)' })

  // The leader's lease ends (its process stalled past the TTL): the follower takes over.
  await leader.stop()
  await waitFor('s2 leads', () => follower.state().isLeader)
  t.equal(await leader.putIfLeader(`${prefix}anything`, 'x'), false, 'a former leader can no longer write as one')
})

t.test('without etcd: automatic actions are refused, manual ones go ahead with a warning', async (t) => {
  const etcd = await startEtcdCluster(t, { size: 1 })
  const client = createEtcdClient(settings(etcd.endpoints), 500)
  const session = createSession({ client, prefix: `/coordinator-test/${randomUUID()}/`, sidecarId: 's1', ttlSeconds: 1, clock: systemClock })
  t.teardown(async () => {
    await session.stop()
    client.close()
  })
  await session.start()
  t.equal(session.state().isLeader, true)
  await etcd.members[0]?.stop()
  await waitFor('the session notices', () => !session.state().connected, { timeoutMs: 10_000 })
  const recorded: EventInput[] = []
  const coordinator = createEtcdCoordinator({
    session,
    prefix: '/unused/',
    sidecarId: 's1',
    quorum: 'majority',
    observationMaxAgeMs: 1000,
    requestWindowMs: 1000,
    now: Date.now,
    record: (e) => recorded.push(e)
  })
  const context = { streamId: 'stream-1', fromClusterId: 'primary' }
  t.same(await coordinator.mayAct('failover', { ...context, trigger: 'auto' }), {
    allowed: false,
    reason: 'etcd is unreachable, so no sidecar leads: automatic failover is off until it is back'
  })
  t.same(await coordinator.mayAct('failover', { ...context, trigger: 'manual' }), { allowed: true })
  t.match(recorded, [{ type: 'coordination_bypassed', severity: 'warn', data: { action: 'failover', streamId: 'stream-1', connected: false } }])
})

t.test('a leader key this version did not write still names who holds it', async (t) => {
  const etcd = await startEtcdCluster(t, { size: 1 })
  const prefix = `/coordinator-test/${randomUUID()}/`
  const raw = new Etcd3({ hosts: etcd.endpoints })
  await raw.put(`${prefix}leader`).value('hand-written-holder')
  const client = createEtcdClient(settings(etcd.endpoints), 1000)
  const session = createSession({ client, prefix, sidecarId: 's1', ttlSeconds: 2, clock: systemClock })
  t.teardown(async () => {
    await session.stop()
    client.close()
    raw.close()
  })
  await session.start()
  t.match(session.state(), { connected: true, isLeader: false, leader: { id: 'hand-written-holder', url: null } })
  // Deleting the key (as its lease ending would) hands the leadership over at once.
  await raw.delete().key(`${prefix}leader`)
  await waitFor('s1 leads', () => session.state().isLeader, { timeoutMs: 5000 })
})
