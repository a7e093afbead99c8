import t from 'tap'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { ADMIN_TOKEN, PRIMARY, admin, startFakeCloud, startService } from '../helpers/stack.js'
import { startPostgres } from '../helpers/postgres.js'

t.test('no secret reaches the log, the metrics or the events in a full scenario', async (t) => {
  const dbPassword = 'db-pa$$word-3f9a'
  const appPassword = 'app-password-77c1'
  const primarySql = await startPostgres({ password: dbPassword })
  const standbySql = await startPostgres({ password: dbPassword })
  t.teardown(() => Promise.all([primarySql.destroy(), standbySql.destroy()]))
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {
    PRIMARY_CLUSTER_ENDPOINT: primarySql.url(),
    STANDBY_CLUSTER_ENDPOINT: standbySql.url(),
    LOG_LEVEL: 'trace'
  })
  await svc.fastify.engine.nextCheck()

  // A hostile API that quotes the key back in its error messages.
  await cloud.control('POST', '/faults', { operation: 'getCluster', kind: 'status', status: 400, message: `bad key ${DEFAULT_API_KEY}`, count: 2 })
  await svc.fastify.engine.nextCheck()
  await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': appPassword })
  await svc.post('/admin/failover', { dry_run: true }, { authorization: `Bearer ${ADMIN_TOKEN}-wrong` })
  await svc.post('/admin/failover', { failover_at: appPassword }, admin)
  await svc.post('/admin/pause', undefined, admin)
  await svc.post('/admin/resume', undefined, admin)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await primarySql.stop()
  await svc.waitForEvent('failover_completed')
  await svc.get('/nope')

  const outputs = {
    log: svc.lines.join('\n'),
    metrics: (await svc.get('/metrics')).body as string,
    events: JSON.stringify((await svc.get('/events?limit=500')).body),
    clusters: JSON.stringify((await svc.get('/clusters')).body)
  }
  t.ok(svc.lines.length > 20, `the log has content (${svc.lines.length} lines)`)
  t.match(outputs.log, /bad key \[REDACTED\]|bad key \[redacted\]/i, 'the quoted key was removed, the rest of the message kept')
  for (const [where, text] of Object.entries(outputs)) {
    for (const [name, secret] of Object.entries({ apiKey: DEFAULT_API_KEY, adminToken: ADMIN_TOKEN, dbPassword, appPassword })) {
      t.notOk(text.includes(secret), `${where} has no ${name}`)
    }
    t.notMatch(text, /postgres(ql)?:\/\/[^:@/\s]+:[^@/\s]+@/, `${where} has no connection string with a password`)
  }
})
