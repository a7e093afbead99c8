import t from 'tap'
import { parseConfig, type HookableEvent } from '../../src/config/index.js'
import type { Snapshot } from '../../src/engine/snapshot.js'
import { unusedPort } from '../../tools/unused-port.js'
import { activeChanged, hookRig, instantSleep, step } from '../helpers/hook-rig.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { SECRET_PATH, startReceiver, type Reply } from '../helpers/webhook-receiver.js'

const drain = 30_000
const keyPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-(\d+)$/

t.test('the payload: Slack text, the event, the active cluster, an idempotency key', async (t) => {
  const receiver = await startReceiver(t)
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url })
  rig.emit(activeChanged(PRIMARY, 'primary.example.com'))
  rig.emit({ type: 'check_failed', severity: 'error', message: 'not hookable', data: {} })
  rig.emit(step('failover_completed', 'stream <s> & "co"\nis COMPLETED'))
  await rig.hooks.close(drain)

  t.equal(receiver.requests.length, 2, 'the event outside HOOK_EVENTS is not sent')
  const [first, second] = receiver.requests.map((r) => r.body)
  t.same(first, {
    text: `pcr-sidecar INFO active_cluster_changed: active cluster is ${PRIMARY} at primary.example.com:26257`,
    event: {
      id: 1,
      type: 'active_cluster_changed',
      at: rig.events()[0]!.at,
      severity: 'info',
      message: `active cluster is ${PRIMARY} at primary.example.com:26257`,
      data: { clusterId: PRIMARY, host: 'primary.example.com', port: 26257, previousClusterId: null, phase: 'normal' }
    },
    active_cluster: { id: PRIMARY, host: 'primary.example.com', port: 26257 },
    service: 'pcr-sidecar'
  })
  t.equal(second.text, 'pcr-sidecar WARN failover_completed: stream &lt;s&gt; &amp; "co" is COMPLETED', 'one line, Slack markup escaped')
  t.equal(second.event.message, 'stream <s> & "co"\nis COMPLETED', 'the event itself is untouched')
  t.same(second.active_cluster, first.active_cluster, 'the last announced active cluster')
  const [key1, key2] = receiver.requests.map((r) => String(r.headers['idempotency-key']))
  t.equal(receiver.requests[0]!.headers['content-type'], 'application/json')
  t.equal(keyPattern.exec(key1!)?.[1], '1')
  t.equal(keyPattern.exec(key2!)?.[1], '3', 'the event id')
  t.equal(key2!.slice(0, 36), key1!.slice(0, 36), 'one prefix per start')
  t.same(rig.failures(), [])
  t.equal(rig.logged('webhook hook delivered failover_completed').length, 1)
})

t.test('HOOK_EVENTS narrows what is sent', async (t) => {
  const receiver = await startReceiver(t)
  // A URL without a path works as well.
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url.replace(SECRET_PATH, ''), HOOK_EVENTS: 'failover_completed' })
  rig.emit(activeChanged(PRIMARY, 'primary.example.com'))
  rig.emit(step('failover_requested'))
  rig.emit(step('failover_completed'))
  await rig.hooks.close(drain)
  t.same(receiver.deliveredIds(), [3])
  t.same(receiver.requests[0]!.body.active_cluster, { id: PRIMARY, host: 'primary.example.com', port: 26257 }, 'tracked from an event not sent')
})

t.test('5xx then success: retried with the same key, delivered exactly once, in order', async (t) => {
  // Every third event fails twice, every other even one once.
  const failuresOf = (id: number): number => (id % 3 === 0 ? 2 : id % 2 === 0 ? 1 : 0)
  const receiver = await startReceiver(t, (r) => {
    const id = r.body.event.id as number
    const seen = receiver.requests.filter((x) => x.body.event.id === id).length
    return { status: seen <= failuresOf(id) ? 500 : 200 }
  })
  const { delays, sleep } = instantSleep()
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url, WEBHOOK_RETRY_BACKOFF: '1' }, { sleep, random: () => 0 })
  for (let i = 0; i < 12; i++) rig.emit(step('failover_patched'))
  await rig.hooks.close(drain)

  const ids = Array.from({ length: 12 }, (_, i) => i + 1)
  t.same(receiver.deliveredIds(), ids, 'each event delivered once, in order')
  const extra = ids.map(failuresOf).reduce((a, b) => a + b, 0)
  t.equal(receiver.requests.length, 12 + extra)
  for (const id of ids) {
    const keys = new Set(receiver.requests.filter((r) => r.body.event.id === id).map((r) => r.headers['idempotency-key']))
    t.equal(keys.size, 1, `event ${id}: one key on every attempt`)
  }
  t.same(rig.failures(), [])
  t.ok(delays.every((d) => d === 500 || d === 1000), 'backoff from WEBHOOK_RETRY_BACKOFF, with equal jitter')
  t.equal(rig.logged('webhook attempt failed; retrying').length, extra)
})

t.test('the backoff doubles up to its cap; when every attempt fails, one hook_failed', async (t) => {
  const receiver = await startReceiver(t, () => ({ status: 503, body: 'down for maintenance' }))
  const { delays, sleep } = instantSleep()
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url, WEBHOOK_RETRIES: '6', WEBHOOK_RETRY_BACKOFF: '10' }, { sleep, random: () => 1 })
  rig.emit(step('failover_failed'))
  await rig.hooks.close(drain)
  t.equal(receiver.requests.length, 7)
  t.same(delays, [10_000, 20_000, 40_000, 60_000, 60_000, 60_000])
  const failures = rig.failures()
  t.equal(failures.length, 1)
  t.match(failures[0], {
    severity: 'error',
    message: 'webhook hook failed for failover_failed (event 1) after 7 attempt(s): HTTP 503: down for maintenance',
    data: { sink: 'webhook', eventId: 1, eventType: 'failover_failed', attempts: 7, reason: 'HTTP 503: down for maintenance' }
  })
  t.equal(receiver.requests.length, 7, 'the hook_failed event is not sent')
})

t.test('4xx is final, except 408 and 429', async (t) => {
  const long = `${'y'.repeat(150)} ${'z'.repeat(600)}`
  const replies: Reply[] = [{ status: 408 }, { status: 200 }, { status: 400, body: 'invalid_payload' }, { status: 301 }, { status: 422, body: long }]
  const receiver = await startReceiver(t, (_, index) => replies[index] as Reply)
  const { sleep } = instantSleep()
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url }, { sleep })
  rig.emit(step('failover_requested'))
  rig.emit(step('failover_blocked'))
  rig.emit(step('failover_timeout'))
  rig.emit(step('failover_failed'))
  await rig.hooks.close(drain)
  t.same(
    receiver.requests.map((r) => [r.body.event.id, r.status]),
    [[1, 408], [1, 200], [2, 400], [3, 301], [4, 422]]
  )
  t.same(
    rig.failures().map((e) => [e.data.eventId, e.data.attempts, e.data.reason]),
    [[2, 1, 'HTTP 400: invalid_payload'], [3, 1, 'HTTP 301'], [4, 1, `${`HTTP 422: ${long}`.slice(0, 199)}…`]]
  )
})

t.test('Retry-After is honoured, within the cap', async (t) => {
  const later = new Date(Date.now() + 30_000).toUTCString()
  const replies: Reply[] = [
    { status: 429, headers: { 'retry-after': '2' } },
    { status: 503, headers: { 'retry-after': '600' } },
    { status: 503, headers: { 'retry-after': later } },
    { status: 200 }
  ]
  const receiver = await startReceiver(t, (_, index) => replies[index] as Reply)
  const { delays, sleep } = instantSleep()
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url, WEBHOOK_RETRY_BACKOFF: '0.01' }, { sleep })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.same(receiver.deliveredIds(), [1])
  t.equal(delays[0], 2000)
  t.equal(delays[1], 60_000, 'capped')
  t.ok(delays[2]! > 25_000 && delays[2]! <= 30_000, `an HTTP date (${delays[2]} ms)`)
})

t.test('no answer within WEBHOOK_TIMEOUT is a failed attempt', async (t) => {
  const receiver = await startReceiver(t, () => new Promise<Reply>(() => undefined))
  const { sleep } = instantSleep()
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url, WEBHOOK_TIMEOUT: '0.2', WEBHOOK_RETRIES: '1' }, { sleep })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.equal(receiver.requests.length, 2)
  t.same(rig.failures().map((e) => [e.data.attempts, e.data.reason]), [[2, 'no answer within 0.2 s']])
})

t.test('the URL is in no event and no log line', async (t) => {
  const echo = await startReceiver(t, () => ({ status: 404, body: `Route POST:${SECRET_PATH} not found` }))
  const refused = `http://127.0.0.1:${await unusedPort()}${SECRET_PATH}`
  for (const url of [echo.url, refused]) {
    const { sleep } = instantSleep()
    const rig = hookRig(t, { WEBHOOK_URL: url, WEBHOOK_RETRIES: '2' }, { sleep })
    rig.emit(step('failover_requested'))
    await rig.hooks.close(drain)
    t.match(rig.failures()[0]!.data.reason, url === refused ? /^network error: connect ECONNREFUSED/ : /^HTTP 404: Route POST:\[REDACTED\] not found$/)
    const everything = JSON.stringify(rig.events()) + rig.lines.join('\n')
    t.notOk(everything.includes('secret-token'), 'not the URL, nor its path')
    t.equal(rig.logged('webhook attempt failed; retrying').length, url === refused ? 2 : 0)
  }
})

t.test('a bounded backlog: behind a sink that hangs, the oldest pending events give way', async (t) => {
  let release: (reply: Reply) => void = () => undefined
  const receiver = await startReceiver(t, (_, index) => (index === 0 ? new Promise<Reply>((resolve) => (release = resolve)) : { status: 200 }))
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url })
  for (let i = 0; i < 205; i++) rig.emit(step('failover_patched'))
  await waitFor('the first webhook received', () => receiver.requests.length === 1, { timeoutMs: 5000 })
  release({ status: 200 })
  await rig.hooks.close(drain)
  const kept = [1, ...Array.from({ length: 200 }, (_, i) => i + 6)]
  t.same(receiver.deliveredIds(), kept, 'the one in flight and the newest 200')
  t.same(rig.logged('hook backlog full: dropped the oldest pending event').map((l) => l.eventId), [2, 3, 4, 5])
})

t.test('close() waits a grace, then abandons: no hook_failed, nothing sent afterwards', async (t) => {
  const receiver = await startReceiver(t, () => new Promise<Reply>(() => undefined))
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url })
  rig.emit(step('failover_requested'))
  rig.emit(step('failover_patched'))
  rig.emit(step('failover_completed'))
  await waitFor('the first webhook received', () => receiver.requests.length === 1, { timeoutMs: 5000 })
  await rig.hooks.close(50)
  rig.emit(step('failover_failed'))
  t.same(rig.failures(), [])
  t.same(rig.logged('webhook hook abandoned failover_requested: the service is stopping').map((l) => l.attempts), [1])
  t.same(rig.logged('hook not run: the service is stopping').map((l) => l.eventId), [2, 3])
  t.equal(receiver.requests.length, 1)
})

t.test('a delivery waiting to retry is abandoned at close', async (t) => {
  const receiver = await startReceiver(t, () => ({ status: 500 }))
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url, WEBHOOK_RETRY_BACKOFF: '100' })
  rig.emit(step('failover_requested'))
  await waitFor('a failed attempt logged', () => rig.logged('webhook attempt failed; retrying').length === 1, { timeoutMs: 5000 })
  await rig.hooks.close(0)
  t.same(rig.failures(), [])
  t.equal(rig.logged('webhook hook abandoned failover_requested: the service is stopping').length, 1)
})

t.test('a hook_failed event is never delivered, even when asked for', async (t) => {
  const receiver = await startReceiver(t, () => ({ status: 400 }))
  const { config } = parseConfig({
    COCKROACH_API_SECRET_KEY: 'api-key-for-hook-tests',
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    WEBHOOK_URL: receiver.url
  })
  const rig = hookRig(t, {}, { config: { ...config.hooks, events: [...config.hooks.events, 'hook_failed' as HookableEvent] } })
  rig.emit(step('failover_failed'))
  await rig.hooks.close(drain)
  t.equal(rig.failures().length, 1)
  t.equal(receiver.requests.length, 1, 'only the event itself')
})

t.test('the active cluster comes from the snapshot until an event announces one', async (t) => {
  const receiver = await startReceiver(t)
  const snapshot = (sqlDns: string | null) => () =>
    ({ activeClusterId: STANDBY, clusters: [{ id: STANDBY, sqlDns, sqlPort: 26258 }] }) as unknown as Snapshot
  const failingOver = { clusterId: null, host: null, port: null, previousClusterId: PRIMARY, phase: 'failing_over' }
  const withHost = hookRig(t, { WEBHOOK_URL: receiver.url }, { snapshot: snapshot('standby.example.com') })
  withHost.emit(step('failover_requested'))
  withHost.emit({ ...activeChanged(PRIMARY, 'unused'), data: failingOver })
  withHost.emit(step('failover_patched'))
  await withHost.hooks.close(drain)
  const withoutHost = hookRig(t, { WEBHOOK_URL: receiver.url }, { snapshot: snapshot(null) })
  withoutHost.emit(step('failover_requested'))
  await withoutHost.hooks.close(drain)
  const none = hookRig(t, { WEBHOOK_URL: receiver.url })
  none.emit(step('failover_requested'))
  await none.hooks.close(drain)
  t.same(
    receiver.requests.map((r) => r.body.active_cluster),
    [{ id: STANDBY, host: 'standby.example.com', port: 26258 }, null, null, null, null]
  )
})

t.test('a delivery that throws is logged and the queue goes on', async (t) => {
  const receiver = await startReceiver(t, (_, index) => ({ status: index === 0 ? 400 : 200 }))
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url }, {
    record: () => {
      throw new Error('a listener broke')
    }
  })
  rig.emit(step('failover_failed'))
  rig.emit(step('failover_completed'))
  await rig.hooks.close(drain)
  t.same(rig.logged('hook delivery crashed').map((l) => [l.eventId, l.err.message]), [[1, 'a listener broke']])
  t.same(receiver.deliveredIds(), [2])
})
