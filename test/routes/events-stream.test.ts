import t from 'tap'
import { connect } from 'node:net'
import { request } from 'undici'
import { heartbeatMs, maxStreams, maxStreamsPerAddress } from '../../src/routes/events-stream.js'
import { systemClock, type Clock } from '../../src/engine/engine.js'
import { PRIMARY, startFakeCloud, startService } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { engineEvents, openStream, statuses } from '../helpers/sse.js'

t.test('a first connection gets the state, then the latest events oldest first, then each new one as it happens', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const stream = await openStream(svc.url)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  t.match(stream.headers['content-type'], /^text\/event-stream/)
  t.equal(stream.headers['cache-control'], 'no-store')
  const expected = (await svc.get('/events')).body.events.reverse().map((e: { id: number }) => e.id)
  await stream.until((m) => engineEvents(m).length >= expected.length)
  t.same(
    stream.messages.slice(0, 3).map((m) => m.retry ?? m.event),
    ['2000', 'reset', 'status'],
    'retry, reset, then the state before any event'
  )
  t.match(statuses(stream.messages)[0], { active_cluster_id: PRIMARY, phase: 'normal', paused: false, clusters: [{ id: PRIMARY }, {}] })
  t.same(engineEvents(stream.messages).slice(0, expected.length).map((e) => e.id), expected, 'what /events gives, oldest first')
  for (const m of stream.messages.filter((m) => m.event === 'engine')) t.equal(m.id, String(JSON.parse(m.data as string).id), 'id: is the event id')

  svc.fastify.engine.pause('events-stream test')
  await stream.until((m) => statuses(m).some((s) => s.paused))
  const paused = engineEvents(stream.messages).find((e) => e.type === 'paused')
  t.ok(paused, 'the event is pushed')
  t.equal(statuses(stream.messages).filter((s) => s.paused).length >= 1, true, 'and the state that follows it')
  const ids = engineEvents(stream.messages).map((e) => e.id)
  t.same(ids, [...ids].sort((a, b) => a - b), 'events in order')
  t.equal(new Set(ids).size, ids.length, 'none twice')
  t.notOk(svc.lines.some((l) => l.includes('/events/stream') && l.includes('incoming request')), 'no request log line for the stream')
})

t.test('reconnecting with Last-Event-ID replays what came after it, and only that', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const { engine } = svc.fastify
  const newest = engine.events(1)[0]?.id as number
  const missed = [1, 2, 3].map((n) => engine.record({ type: 'operation_progress', message: `missed ${n}`, data: {} }).id)

  const resumed = await openStream(svc.url, { 'last-event-id': String(newest) })
  t.teardown(() => resumed.close())
  await resumed.until((m) => engineEvents(m).length >= 3)
  t.notOk(resumed.messages.some((m) => m.event === 'reset'), 'no reset: it continues')
  t.equal(resumed.messages[1]?.event, 'status')
  t.same(engineEvents(resumed.messages).map((e) => e.id), missed)

  const current = await openStream(svc.url, { 'last-event-id': String(missed[2]) })
  t.teardown(() => current.close())
  await current.until((m) => statuses(m).length === 1)
  t.same(engineEvents(current.messages), [], 'up to date: nothing to replay')

  // An id this process never gave (the sidecar restarted), or one older than the
  // log keeps: the client cannot continue, so it starts again from the latest.
  for (const lastEventId of [String(newest + 1000), '0']) {
    if (lastEventId === '0') for (let n = 0; n < 600; n++) engine.record({ type: 'operation_progress', message: `filler ${n}`, data: {} })
    const restarted = await openStream(svc.url, { 'last-event-id': lastEventId })
    t.teardown(() => restarted.close())
    const latest = engine.events(50).map((e) => e.id).reverse()
    await restarted.until((m) => engineEvents(m).length >= latest.length)
    t.equal(restarted.messages[1]?.event, 'reset', `Last-Event-ID ${lastEventId}: reset`)
    t.same(engineEvents(restarted.messages).map((e) => e.id), latest, 'then the latest 50 at most')
  }

  const bad = await svc.get('/events/stream', { 'last-event-id': 'abc' })
  t.equal(bad.status, 400)
  t.match(bad.body, { error: 'Bad Request', message: /Last-Event-ID must be an event id/ })
})

t.test(`at most ${maxStreams} streams at once; the next gets 503 until one closes`, async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  // As many clients as it takes, each on a loopback address of its own, each within its own cap.
  const from = (i: number) => `127.0.0.${2 + Math.floor(i / maxStreamsPerAddress)}`
  const open = await Promise.all(Array.from({ length: maxStreams }, (_, i) => openStream(svc.url, {}, from(i))))
  t.teardown(() => open.forEach((s) => s.close()))
  t.ok(open.every((s) => s.status === 200))
  const refused = await request(`${svc.url}/events/stream`)
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '30')
  t.match(await refused.body.json(), { error: 'Service Unavailable', code: 'too_many_streams' })
  const first = open[0]
  first?.close()
  // The slot is free once the server has seen the client go.
  await waitFor('the server to see the client go', () => svc.lines.some((l) => l.includes('status stream closed')), { timeoutMs: 2000 })
  const again = await request(`${svc.url}/events/stream`)
  t.equal(again.statusCode, 200)
  again.body.destroy()
})

t.test(`one client address holds at most ${maxStreamsPerAddress} streams; the others still get theirs`, async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const mine = await Promise.all(Array.from({ length: maxStreamsPerAddress }, () => openStream(svc.url, {}, '127.0.0.2')))
  t.teardown(() => mine.forEach((s) => s.close()))
  t.ok(mine.every((s) => s.status === 200))
  const more = await openStream(svc.url, {}, '127.0.0.2')
  t.equal(more.status, 429)
  t.equal(more.headers['retry-after'], '30')
  more.close()
  const closed = () => svc.lines.filter((l) => l.includes('status stream closed')).length
  const other = await openStream(svc.url, {}, '127.0.0.3')
  t.equal(other.status, 200, 'another address is not held back')
  other.close()
  await waitFor('the server to see the other client go', () => closed() === 1, { timeoutMs: 2000 })
  mine[0]?.close()
  await waitFor('the server to see one of mine go', () => closed() === 2, { timeoutMs: 2000 })
  const again = await openStream(svc.url, {}, '127.0.0.2')
  t.equal(again.status, 200, 'a slot of its own is free again')
  again.close()
})

t.test('closing the app ends every stream at once', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const streams = await Promise.all([openStream(svc.url), openStream(svc.url)])
  await Promise.all(streams.map((s) => s.until((m) => statuses(m).length > 0)))
  const started = Date.now()
  await svc.close()
  await Promise.all(streams.map((s) => s.until(() => s.ended(), 5000)))
  t.ok(streams.every((s) => s.ended()), 'both ended')
  t.ok(Date.now() - started < 5000, 'close() did not wait on them')
})

t.test('heartbeat comments keep a quiet stream open, without a log line each', async (t) => {
  const cloud = await startFakeCloud(t)
  // The heartbeat's timer comes from the app's clock: this one makes it fire at once.
  const clock: Clock = { ...systemClock, setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms === heartbeatMs ? 20 : ms) }
  const svc = await startService(t, cloud, {}, { clock })
  const stream = await openStream(svc.url)
  t.teardown(() => stream.close())
  await stream.until((m) => m.filter((x) => x.comment === 'keep-alive').length >= 3)
  t.pass('heartbeats arrive')
  t.notOk(svc.lines.some((l) => l.includes('keep-alive')), 'none is logged')
})

t.test('a client that stops reading is dropped before its backlog grows large', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { LOG_LEVEL: 'info' })
  const socket = connect(Number(new URL(svc.url).port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('GET /events/stream HTTP/1.1\r\nHost: x\r\n\r\n')
  // Read the answer's start, then nothing while 20 MB of events are published.
  await new Promise((resolve) => socket.once('data', resolve))
  socket.pause()
  const message = 'x'.repeat(1000)
  for (let n = 0; n < 200; n++) {
    for (let i = 0; i < 100; i++) svc.fastify.engine.record({ type: 'operation_progress', message, data: {} })
    await new Promise((resolve) => setImmediate(resolve))
  }
  let received = 0
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length
  })
  socket.resume()
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))])
  t.equal(socket.destroyed || socket.readableEnded, true, 'the server closed the stream')
  t.ok(received < 10 * 1024 * 1024, `it did not get all 20 MB (${received} bytes)`)
  t.equal((await svc.get('/health')).status, 200, 'the service goes on')
})
