import { pino } from 'pino'
import t from 'tap'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STREAM_ID } from '../../src/emulator/seed.js'
import { createEmulator } from '../../src/emulator/server.js'
import { START, startTestEmulator } from '../helpers/emulator.js'
import { validateAgainstSpec } from '../helpers/spec.js'

const CLUSTER = `/clusters/${PRIMARY}`

t.test('the API key is required: 401 with code 16 otherwise', async (t) => {
  const emu = await startTestEmulator(t, { apiKey: 'k-123' })
  for (const [name, request] of [
    ['no key', { key: null }],
    ['the default key', {}],
    ['a wrong key', { key: 'k-124' }],
    ['another scheme', { key: null, headers: { authorization: 'Basic k-123' } }]
  ] as const) {
    const answer = await emu.api('GET', CLUSTER, request)
    t.equal(answer.status, 401, name)
    t.equal(answer.body.code, 16, name)
  }
  t.equal((await emu.api('GET', CLUSTER, { key: 'k-123' })).status, 200)
})

t.test('Cc-Version: absent or 2024-09-16 is fine, anything else is 400 with code 3', async (t) => {
  const emu = await startTestEmulator(t)
  t.equal((await emu.api('GET', CLUSTER, { version: null })).status, 200)
  t.equal((await emu.api('GET', CLUSTER, { version: '2024-09-16' })).status, 200)
  const old = await emu.api('GET', CLUSTER, { version: '2022-09-20' })
  t.equal(old.status, 400)
  t.equal(old.body.code, 3)
  t.match(old.body.message, /"2022-09-20" is not supported; use 2024-09-16/)
})

t.test('the rate limit: over perSecond in one second is 429 with Retry-After', async (t) => {
  // The limit runs on real time; this test steers that clock instead of waiting.
  let ms = 0
  const emu = await startTestEmulator(t, { rateLimit: { perSecond: 3, now: () => ms } })
  for (let i = 0; i < 3; i++) {
    t.equal((await emu.api('GET', CLUSTER)).status, 200)
    ms += 200
  }
  const limited = await emu.api('GET', `/physical-replication-streams/${DEFAULT_STREAM_ID}`)
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '1')
  t.equal(limited.body.code, 8)
  t.match(limited.body.message, /rate limit exceeded/)
  t.match(limited.body.details, [{ reason: 'RATE_LIMIT_EXCEEDED', metadata: { retry_after_seconds: '1' } }])
  ms += 999
  t.equal((await emu.api('GET', CLUSTER)).status, 429, 'not before the time it was told')
  ms += 1
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'then the refused requests did not count')
  t.equal((await emu.api('GET', CLUSTER)).status, 200)
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'the window slides: the three of the first second have left it')
  t.equal((await emu.api('GET', CLUSTER)).status, 429, 'three in the last second')

  for (let i = 0; i < 5; i++) t.equal((await emu.control('GET', '/state')).status, 200, 'the control API is not limited')
  t.equal((await emu.control('POST', '/reset')).status, 204)
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'a reset clears the limit')
})

t.test('the default rate limit is 10 per second, on real time', async (t) => {
  const emu = await startTestEmulator(t, { rateLimit: undefined })
  // Sent at once: they arrive well within one second.
  const burst = await Promise.all(Array.from({ length: 11 }, () => emu.api('GET', CLUSTER)))
  t.strictSame(
    burst.map((answer) => answer.status).sort(),
    [...Array(10).fill(200), 429]
  )
  emu.clock.advance(3600)
  t.equal((await emu.api('GET', CLUSTER)).status, 429, 'the emulated clock does not move the window')
  // Only time can show it: the window is one real second.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal((await emu.api('GET', CLUSTER)).status, 200, 'a real second does')
})

t.test('authentication comes before the rate limit, which comes before the version check and the roles', async (t) => {
  const emu = await startTestEmulator(t, {
    rateLimit: { perSecond: 2, now: () => 0 },
    apiKeys: [{ key: 'reader', roles: ['CLUSTER_DEVELOPER'] }]
  })
  t.equal((await emu.api('GET', CLUSTER, { version: 'x' })).status, 400, 'counted')
  t.equal((await emu.api('GET', CLUSTER, { key: 'wrong' })).status, 401, 'not counted, not limited')
  t.equal((await emu.api('PUT', `${CLUSTER}/disrupt`, { key: 'reader', body: {} })).status, 403, 'another key, counted apart')
  t.equal((await emu.api('GET', CLUSTER, { version: 'x' })).status, 400, 'counted')
  t.equal((await emu.api('GET', CLUSTER, { version: 'x' })).status, 429)
  t.equal((await emu.api('PUT', `${CLUSTER}/disrupt`, { key: 'reader', body: {} })).status, 403, 'counted')
  t.equal((await emu.api('PUT', `${CLUSTER}/disrupt`, { key: 'reader', body: {} })).status, 429)
})

t.test('an unknown path or method is 404 with code 5', async (t) => {
  const emu = await startTestEmulator(t)
  for (const [method, path] of [
    ['GET', '/clusters'],
    ['GET', '/no-such-thing'],
    ['DELETE', `/physical-replication-streams/${DEFAULT_STREAM_ID}`],
    ['POST', CLUSTER]
  ] as const) {
    const answer = await emu.api(method, path)
    t.equal(answer.status, 404, `${method} ${path}`)
    t.equal(answer.body.code, 5)
  }
  const head = await fetch(`${emu.url}/api/v1${CLUSTER}`, { method: 'HEAD' })
  t.equal(head.status, 404, 'no HEAD routes')
  const root = await fetch(`${emu.url}/`)
  const rootBody = await root.json()
  t.strictSame(validateAgainstSpec('Status', rootBody), [])
  t.strictSame(rootBody, { code: 5, message: 'no such path: GET /', details: [] })
})

t.test('bodies: JSON under any content type; otherwise 400 with code 3', async (t) => {
  const emu = await startTestEmulator(t)
  const body = JSON.stringify({ status: 'CANCELED' })
  for (const contentType of ['text/plain', 'application/octet-stream']) {
    const answer = await emu.api('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, {
      rawBody: body,
      headers: { 'content-type': contentType }
    })
    t.equal(answer.body.status, 'CANCELED', `${contentType}: read as JSON`)
    await emu.control('POST', '/reset')
  }
  const noType = await fetch(`${emu.url}/api/v1/physical-replication-streams/${DEFAULT_STREAM_ID}`, {
    method: 'PATCH',
    headers: { authorization: 'Bearer emulator-secret-key' },
    body: new Blob([body])
  })
  const canceled = (await noType.json()) as { status: string }
  t.strictSame(validateAgainstSpec('PhysicalReplicationStream', canceled), [])
  t.equal(canceled.status, 'CANCELED', 'no content type at all')
  const broken = await emu.api('POST', '/physical-replication-streams', { rawBody: '{"primary_cluster_id":' })
  t.equal(broken.status, 400)
  t.equal(broken.body.code, 3)
  t.match(broken.body.message, /not valid JSON/)
})

t.test('an oversized body is refused with a Status too', async (t) => {
  const emu = await startTestEmulator(t)
  const answer = await emu.api('POST', '/physical-replication-streams', { rawBody: `"${'x'.repeat(1024 * 1024)}"` })
  t.equal(answer.status, 413)
  t.equal(answer.body.code, 8)
  const logged = await emu.control('GET', '/requests')
  t.match(logged.body.requests, [{ method: 'POST', operation: 'createStream', status: 413, body: null }])
})

t.test('an unexpected failure is 500 with code 13', async (t) => {
  const emu = await startTestEmulator(t)
  emu.state.getCluster = () => {
    throw new Error('boom')
  }
  const answer = await emu.api('GET', CLUSTER)
  t.equal(answer.status, 500)
  t.strictSame(answer.body, { code: 13, message: 'boom', details: [] })
})

t.test('the request log: every API request, refused ones included; never the control API', async (t) => {
  const emu = await startTestEmulator(t)
  await emu.api('GET', `${CLUSTER}/nodes?pagination.limit=2&region_name=us-east1`)
  emu.clock.advance(1.5)
  await emu.api('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`, { body: { status: 'FAILING_OVER' } })
  await emu.api('PUT', `${CLUSTER}/disrupt`, { key: null, rawBody: 'not json' })
  await emu.api('GET', '/nowhere?x=1')
  await emu.control('GET', '/state')
  const log = await emu.control('GET', '/requests')
  t.strictSame(log.body.requests, [
    {
      method: 'GET',
      path: `/api/v1${CLUSTER}/nodes`,
      operation: 'listNodes',
      query: { 'pagination.limit': '2', region_name: 'us-east1' },
      body: null,
      status: 200,
      at: new Date(START).toISOString(),
      fault: null,
      from: '127.0.0.1'
    },
    {
      method: 'PATCH',
      path: `/api/v1/physical-replication-streams/${DEFAULT_STREAM_ID}`,
      operation: 'patchStream',
      query: {},
      body: { status: 'FAILING_OVER' },
      status: 200,
      at: new Date(START + 1500).toISOString(),
      fault: null,
      from: '127.0.0.1'
    },
    {
      method: 'PUT',
      path: `/api/v1${CLUSTER}/disrupt`,
      operation: 'putDisruption',
      query: {},
      body: 'not json',
      status: 401,
      at: new Date(START + 1500).toISOString(),
      fault: null,
      from: '127.0.0.1'
    },
    {
      method: 'GET',
      path: '/api/v1/nowhere',
      operation: null,
      query: { x: '1' },
      body: null,
      status: 404,
      at: new Date(START + 1500).toISOString(),
      fault: null,
      from: '127.0.0.1'
    }
  ])
  t.equal((await emu.control('DELETE', '/requests')).status, 204)
  t.strictSame((await emu.control('GET', '/requests')).body, { requests: [] })
  t.strictSame(emu.requests.list(), [], 'the same log, read directly')
})

t.test('createEmulator: an app to inject into, logging to the given logger', async (t) => {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
  const { app } = createEmulator({ logger })
  t.teardown(() => app.close())
  const answer = await app.inject({
    method: 'GET',
    url: `/api/v1${CLUSTER}`,
    headers: { authorization: 'Bearer emulator-secret-key' }
  })
  t.equal(answer.statusCode, 200)
  t.strictSame(validateAgainstSpec('Cluster', answer.json()), [])
  t.ok(lines.some((line) => line.includes('request completed')), 'the logger got the request')
})
