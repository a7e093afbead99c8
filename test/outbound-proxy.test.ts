import t from 'tap'
import { PRIMARY, startFakeCloud, startService } from '../tools/stack.js'
import { startTinyproxy } from '../tools/tinyproxy.js'
import { waitFor } from '../tools/wait-for.js'
import { startReceiver } from './helpers/webhook-receiver.js'

// A namespace whose only way out is an egress proxy: Debian's tinyproxy on loopback,
// whose connections leave from 127.0.0.3, so the emulator tells proxied requests apart.

t.test('behind an egress proxy: every Cloud API request of a failover, and the webhook, go through it', async (t) => {
  const proxy = await startTinyproxy(t)
  const receiver = await startReceiver(t)
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { HTTP_PROXY: proxy.url(), WEBHOOK_URL: receiver.url, HOOK_EVENTS: 'failover_completed' })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('failover_completed')
  const requests = await cloud.requests()
  t.ok(requests.some((r) => r.method === 'PATCH'), 'the failover was asked for')
  t.same([...new Set(requests.map((r) => r.from))], [proxy.bind], `all ${requests.length} requests the API received came through the proxy`)
  t.ok(proxy.requests().includes(`CONNECT 127.0.0.1:${new URL(cloud.url).port} HTTP/1.1`), 'tunnelled to the API')

  await waitFor('the webhook delivered', () => receiver.requests.length > 0)
  t.equal(receiver.requests.length, 1, 'the webhook was delivered')
  t.ok(proxy.requests().includes(`CONNECT 127.0.0.1:${new URL(receiver.url).port} HTTP/1.1`), 'through the proxy too')
  const said = svc.lines.map((l) => JSON.parse(l)).filter((l) => /requests go/.test(l.msg))
  t.same(
    said.map((l) => l.msg),
    [`Cloud API requests go via ${proxy.url()}`, `webhook requests go via ${proxy.url()}`]
  )
})

t.test('NO_PROXY naming the API host: no request goes through the proxy', async (t) => {
  const proxy = await startTinyproxy(t)
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { HTTP_PROXY: proxy.url(), NO_PROXY: 'localhost, 127.0.0.1' })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('failover_completed')
  const requests = await cloud.requests()
  t.same([...new Set(requests.map((r) => r.from))], ['127.0.0.1'], `all ${requests.length} requests came direct`)
  t.same(proxy.requests(), [], 'the proxy saw none')
  t.ok(svc.lines.some((l) => l.includes('Cloud API requests go direct')))
})

t.test("a proxy that asks for credentials gets them from the URL, and they appear nowhere", async (t) => {
  const login = { user: 'egress', password: 'proxy-pa55word-e9' }
  const proxy = await startTinyproxy(t, { basicAuth: login })
  const cloud = await startFakeCloud(t)
  // The lowercase name, as it is often written.
  const svc = await startService(t, cloud, { http_proxy: proxy.url(login) })
  await svc.fastify.engine.nextCheck()
  const requests = await cloud.requests()
  t.ok(requests.length > 0 && requests.every((r) => r.from === proxy.bind && r.status === 200), 'the checks went through, authenticated')
  t.notMatch(svc.lines.join('\n'), login.password, 'no log line holds the password')
  t.ok(svc.lines.some((l) => l.includes(`Cloud API requests go via ${proxy.url()}`)), 'the route is logged without credentials')
})
