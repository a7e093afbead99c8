import t from 'tap'
import { readFileSync } from 'node:fs'
import { request } from 'undici'
import { openapiDocument } from '../../src/openapi.js'
import { ADMIN_TOKEN, PRIMARY, STANDBY, STREAM, admin, startFakeCloud, startService } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'

t.test('status routes', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  await svc.fastify.engine.nextCheck()

  t.test('GET /health', async (t) => {
    const res = await svc.get('/health')
    t.equal(res.status, 200)
    t.match(res.body, { status: 'ok', active_cluster_id: PRIMARY, role: 'primary', phase: 'normal' })
    t.ok(Date.parse(res.body.last_check_at) > 0)
  })

  t.test('GET /ready', async (t) => {
    t.same((await svc.get('/ready')).body, { ready: true, active_cluster_id: PRIMARY, phase: 'normal' })
  })

  t.test('GET /clusters', async (t) => {
    const { status, body } = await svc.get('/clusters')
    t.equal(status, 200)
    t.match(body, {
      active_cluster_id: PRIMARY,
      watched_cluster_id: PRIMARY,
      failover_target_id: STANDBY,
      phase: 'normal',
      consecutive_failures: 0,
      failure_threshold: 3,
      paused: false,
      auto_failover: true,
      stream: { id: STREAM, status: 'REPLICATING', primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY },
      failover: null
    })
    t.equal(typeof body.stream.replication_lag_seconds, 'number')
    t.ok(body.stream.replicated_time)
    t.match(body.clusters, [
      { id: PRIMARY, configured_role: 'primary', role: 'primary', state: 'CREATED', verdict: 'healthy', nodes_live: 3, nodes_total: 3, name: 'pcr-primary' },
      { id: STANDBY, configured_role: 'standby', role: 'standby', state: 'CREATED', verdict: 'healthy', nodes_live: 3, nodes_total: 3 }
    ])
    t.ok(body.estimated_data_loss_seconds >= 0)
  })

  t.test('GET /events', async (t) => {
    const { body } = await svc.get('/events?limit=2')
    t.equal(body.events.length, 2)
    t.ok(body.events[0].id > body.events[1].id, 'newest first')
    const all = (await svc.get('/events')).body.events
    t.equal(all.at(-1).type, 'monitor_started')
    t.ok(all.some((e: { type: string }) => e.type === 'topology_changed'))
    for (const bad of ['0', '501', 'x', '1.5']) {
      const res = await svc.get(`/events?limit=${bad}`)
      t.equal(res.status, 400, `limit=${bad}`)
      t.match(res.body.message, /limit must be a whole number from 1 to 500/)
    }
  })

  t.test('GET /metrics', async (t) => {
    const res = await svc.get('/metrics')
    t.equal(res.status, 200)
    t.match(res.headers['content-type'], /text\/plain/)
    const text = res.body as string
    for (const line of [
      `pcr_checks_total{cluster_id="${PRIMARY}",verdict="healthy"}`,
      `pcr_cluster_health{cluster_id="${PRIMARY}",verdict="healthy"} 1`,
      `pcr_cluster_health{cluster_id="${PRIMARY}",verdict="unhealthy"} 0`,
      `pcr_active_cluster_info{cluster_id="${PRIMARY}",name="pcr-primary"} 1`,
      `pcr_stream_status{stream_id="${STREAM}",status="REPLICATING"} 1`,
      'pcr_phase{phase="normal"} 1',
      'pcr_consecutive_failures 0',
      'pcr_failure_threshold 3',
      'pcr_replication_lag_seconds',
      'pcr_cloud_api_requests_total{operation="getCluster",status="200"}',
      'pcr_cloud_api_request_duration_seconds_bucket{le="0.01",operation="getCluster"}',
      'pcr_events_total{type="monitor_started"} 1',
      'process_resident_memory_bytes'
    ]) {
      t.ok(text.includes(line), line)
    }
  })

  t.test('OpenAPI document and Swagger UI', async (t) => {
    const doc = await svc.get('/docs/json')
    t.equal(doc.status, 200)
    t.ok(doc.body.paths['/connection'])
    const ui = await request(`${svc.url}/docs`)
    await ui.body.dump()
    t.ok([200, 302].includes(ui.statusCode))
  })

  t.test('unknown routes and bad bodies: JSON errors, never 5xx', async (t) => {
    const notFound = await svc.get('/nope')
    t.equal(notFound.status, 404)
    t.same(notFound.body, { error: 'Not Found', message: 'no route GET /nope' })
    const badJson = await request(`${svc.url}/admin/failover`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: '{"dry_run": tru'
    })
    t.equal(badJson.statusCode, 400)
    t.match(await badJson.body.json(), { error: 'Bad Request' })
    const unknownField = await svc.post('/admin/failover', { dry_run: true, force: true }, admin)
    t.equal(unknownField.status, 400)
    const badTime = await svc.post('/admin/failover', { failover_at: 'tomorrow' }, admin)
    t.equal(badTime.status, 400)
    t.match(badTime.body.message, /failover_at must be an RFC 3339 timestamp/)
    const big = await svc.post('/admin/failover', { failover_at: 'x'.repeat(20_000) }, admin)
    t.equal(big.status, 413)
    const wrongType = await request(`${svc.url}/admin/failover`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'text/xml' },
      body: '<a/>'
    })
    t.equal(wrongType.statusCode, 415)
    await wrongType.body.dump()
    t.equal(await cloud.patches(), 0, 'bad input changes nothing')
  })
})

t.test('admin routes need the bearer token', async (t) => {
  const cloud = await startFakeCloud(t)
  // 18 refusals from one address: the lockout is test/security/admin-lockout.test.ts's subject.
  const svc = await startService(t, cloud, { ADMIN_MAX_FAILURES: '100' })
  for (const path of ['/admin/failover', '/admin/pause', '/admin/resume']) {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, `Basic ${ADMIN_TOKEN}`, ADMIN_TOKEN]) {
      const res = await svc.post(path, path === '/admin/failover' ? { dry_run: true } : undefined, authorization === undefined ? {} : { authorization })
      t.equal(res.status, 401, `${path} with ${authorization === undefined ? 'no token' : 'a wrong token'}`)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="pcr-sidecar admin"')
      t.notMatch(JSON.stringify(res.body), ADMIN_TOKEN.slice(0, 10), 'the token is not echoed')
    }
  }
  const lower = await svc.post('/admin/pause', undefined, { authorization: `bearer ${ADMIN_TOKEN}` })
  t.equal(lower.status, 200, 'the scheme is case-insensitive')
  t.equal(svc.fastify.engine.snapshot().paused, true)

  const disabled = await startService(t, cloud, { ADMIN_TOKEN: '' })
  const res = await disabled.post('/admin/failover', {}, admin)
  t.equal(res.status, 403)
  t.match(res.body, { error: 'Forbidden', message: /admin API is disabled/, code: 'admin_disabled' })
  t.equal(await cloud.patches(), 0)
})

t.test('health turns 503 only when the monitor stops finishing checks', async (t) => {
  const cloud = await startFakeCloud(t)
  // Liveness allows 3 × (0.05 + 0.01) = 0.18 s without a finished check.
  const svc = await startService(t, cloud, { HEALTH_CHECK_INTERVAL: '0.05', HEALTH_CHECK_TIMEOUT: '0.01' })
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/health')).status, 200)
  await cloud.control('POST', '/faults', { operation: '*', kind: 'latency', latency_ms: 600 })
  // A slow API does not make the process look dead: the timeout ends each call and checks go on finishing.
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/health')).status, 200)
  await svc.fastify.engine.stop()
  const stale = await waitFor(
    '/health to change',
    async () => {
      const res = await svc.get('/health')
      return res.status !== 200 && res
    },
    { timeoutMs: 5000 }
  )
  t.equal(stale.status, 503)
  t.equal(stale.body.status, 'stale')
})

t.test('every admin route documents the refusals its authentication hook gives: 401, 403 and 429', async (t) => {
  const document = (await openapiDocument()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }
  const admin = Object.entries(document.paths).filter(([path]) => path.startsWith('/admin/'))
  t.ok(admin.length >= 6, 'the admin routes are in the document')
  for (const [path, methods] of admin) {
    for (const [method, operation] of Object.entries(methods)) {
      for (const status of ['401', '403', '429']) t.ok(status in operation.responses, `${method.toUpperCase()} ${path} documents ${status}`)
    }
  }
})

t.test('the committed openapi/openapi.json is the one the routes generate', async (t) => {
  const committed = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'))
  t.same(await openapiDocument(), committed, 'run `npm run openapi` and commit the result')
})

t.test('ENABLE_PROMETHEUS serves /metrics on its own port too', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { ENABLE_PROMETHEUS: 'true', PROMETHEUS_PORT: '0' })
  const line = svc.lines.find((l) => l.includes('prometheus metrics listening')) as string
  const port = JSON.parse(line).port as number
  const metrics = await request(`http://127.0.0.1:${port}/metrics`)
  t.equal(metrics.statusCode, 200)
  t.match(await metrics.body.text(), /pcr_failure_threshold 3/)
  const other = await request(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })
  t.equal(other.statusCode, 404)
  await other.body.dump()
  await svc.close()
  await t.rejects(request(`http://127.0.0.1:${port}/metrics`), 'closed with the app')
})

t.test('a PCR_STREAM_ID that is not the newest stream between the clusters is reported, and the newest is followed', async (t) => {
  const cloud = await startFakeCloud(t)
  const configured = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
  const svc = await startService(t, cloud, { PCR_STREAM_ID: configured })
  const mismatch = await svc.waitForEvent('stream_mismatch')
  t.same(mismatch.data, { configuredStreamId: configured, streamId: STREAM })
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/clusters')).body.stream.id, STREAM)
})
