import t from 'tap'
import { failoverAtProblem } from '../../src/engine/failover-at.js'
import { PRIMARY, STREAM, admin, startFakeCloud, startService, type Cloud } from '../../tools/stack.js'

// FAILOVER_AT_TIMESTAMP against what the stream can fail over to: the Cloud API
// takes a time between the stream's retained_time and one hour from now. A time
// outside is said at start, and refused before the PATCH, with the reason.

async function retainedTime(cloud: Cloud): Promise<number> {
  return Date.parse((await cloud.control('GET', '/state')).streams[0].retained_time)
}

t.test('a FAILOVER_AT_TIMESTAMP before the retained time: an event at start, then a blocked failover, nothing sent', async (t) => {
  const cloud = await startFakeCloud(t)
  const at = new Date((await retainedTime(cloud)) - 3_600_000).toISOString()
  const svc = await startService(t, cloud, { FAILOVER_TO_LATEST: 'false', FAILOVER_AT_TIMESTAMP: at })
  const early = await svc.waitForEvent('failover_at_out_of_range')
  t.equal(early.severity, 'error')
  t.match(early.message, new RegExp(`^FAILOVER_AT_TIMESTAMP ${at} is before the retained time \\S+ of stream ${STREAM}, the oldest time it can fail over to; a failover would be refused: set a later time, or FAILOVER_TO_LATEST=true$`))
  t.match(early.data, { failoverAt: at, streamId: STREAM, retainedTime: String })

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const blocked = await svc.waitForEvent('failover_blocked')
  t.equal(blocked.data.code, 'failover_at_out_of_range')
  t.match(blocked.data.reason, `FAILOVER_AT_TIMESTAMP ${at} is before the retained time`)
  const manual = await svc.post('/admin/failover', {}, admin)
  t.equal(manual.status, 409)
  t.equal(manual.body.code, 'failover_at_out_of_range')
  const dry = await svc.post('/admin/failover', { dry_run: true }, admin)
  t.equal(dry.status, 409, 'a dry run says so too')
  t.equal(await cloud.patches(), 0)
  t.match((await svc.get('/metrics')).body, /pcr_failover_blocked_total\{code="failover_at_out_of_range"\} [1-9]/)
  t.equal(svc.events().filter((e) => e.type === 'failover_at_out_of_range').length, 1, 'said once at start')
})

t.test('failover_at more than an hour ahead is refused; within range it goes through', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const late = new Date(Date.now() + 2 * 3_600_000).toISOString()
  const refused = await svc.post('/admin/failover', { failover_at: late }, admin)
  t.equal(refused.status, 409)
  t.equal(refused.body.code, 'failover_at_out_of_range')
  t.match(refused.body.message, new RegExp(`^failover_at ${late} is more than one hour ahead \\(after \\S+\\): the Cloud API schedules a failover at most one hour ahead$`))
  t.equal(await cloud.patches(), 0)
  t.notOk(svc.events().some((e) => e.type === 'failover_at_out_of_range'), 'no start event without FAILOVER_AT_TIMESTAMP')

  const at = new Date((await retainedTime(cloud)) + 1000).toISOString()
  t.equal((await svc.post('/admin/failover', { failover_at: at }, admin)).status, 202, 'just after the retained time')
  await svc.waitForEvent('failover_completed')
})

t.test('a FAILOVER_AT_TIMESTAMP in range raises nothing at start', async (t) => {
  const cloud = await startFakeCloud(t)
  const at = new Date(Date.now() + 60_000).toISOString()
  const svc = await startService(t, cloud, { FAILOVER_TO_LATEST: 'false', FAILOVER_AT_TIMESTAMP: at })
  await svc.fastify.engine.nextCheck()
  await svc.fastify.engine.nextCheck()
  t.notOk(svc.events().some((e) => e.type === 'failover_at_out_of_range'))
  const dry = await svc.post('/admin/failover', { dry_run: true }, admin)
  t.equal(dry.status, 200)
  t.equal(dry.body.plan.failover_at, at)
})

t.test('a STARTING stream has no retained_time yet: only the one-hour bound is known, and said at start', async (t) => {
  const cloud = await startFakeCloud(t, { stream: 'starting' })
  const late = new Date(Date.now() + 2 * 3_600_000).toISOString()
  const svc = await startService(t, cloud, { FAILOVER_TO_LATEST: 'false', FAILOVER_AT_TIMESTAMP: late })
  const early = await svc.waitForEvent('failover_at_out_of_range')
  t.match(early.message, `FAILOVER_AT_TIMESTAMP ${late} is more than one hour ahead`)
  t.same(early.data, { failoverAt: late, streamId: STREAM, retainedTime: null })
})

t.test('failoverAtProblem: the bounds, and a stream without retained_time', async (t) => {
  const now = Date.parse('2026-01-02T12:00:00Z')
  const stream = { id: STREAM, retained_time: '2026-01-02T10:00:00Z' }
  t.equal(failoverAtProblem('2026-01-02T10:00:00Z', stream, now, 'x'), undefined, 'the retained time itself')
  t.equal(failoverAtProblem('2026-01-02T13:00:00Z', stream, now, 'x'), undefined, 'exactly one hour ahead')
  t.match(failoverAtProblem('2026-01-02T09:59:59Z', stream, now, 'x'), /^x 2026-01-02T09:59:59Z is before the retained time 2026-01-02T10:00:00Z/)
  t.match(failoverAtProblem('2026-01-02T13:00:01Z', stream, now, 'x'), /more than one hour ahead \(after 2026-01-02T13:00:00\.000Z\)/)
  t.equal(failoverAtProblem('2020-01-01T00:00:00Z', { id: STREAM }, now, 'x'), undefined, 'no retained_time: no lower bound')
})
