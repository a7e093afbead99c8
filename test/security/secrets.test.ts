import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { unusedPort } from '../../tools/unused-port.js'
import { ADMIN_TOKEN, PRIMARY, STANDBY, admin, startFakeCloud, startService } from '../../tools/stack.js'
import { startGatedPostgres } from '../../tools/sql-gate.js'
import { SECRET_PATH, startReceiver } from '../helpers/webhook-receiver.js'

t.test("no secret reaches the log, the metrics, the events or a hook command's environment in a full scenario", async (t) => {
  const dbPassword = 'db-pa$$word-3f9a'
  const appPassword = 'app-password-77c1'
  const readToken = 'read-token-secret-5150aa'
  const etcdPassword = 'etcd-pa55-secret-0e1d'
  const dir = mkdtempSync(join(tmpdir(), 'pcr-secrets-'))
  const hookEnv = join(dir, 'hook-env')
  // The process environment of a pod that holds every secret as a variable.
  const podSecrets = { COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY, ADMIN_TOKEN, READ_TOKEN: readToken, ETCD_USERNAME: 'pcr', ETCD_PASSWORD: etcdPassword }
  Object.assign(process.env, podSecrets)
  t.teardown(() => {
    for (const name of Object.keys(podSecrets)) delete process.env[name]
  })
  const cloud = await startFakeCloud(t)
  // Each endpoint serves while its cluster does: the standby's is offline while it replicates.
  const primarySql = await startGatedPostgres(() => cloud.emulator.state.isSqlAvailable(PRIMARY), { password: dbPassword })
  const standbySql = await startGatedPostgres(() => cloud.emulator.state.isSqlAvailable(STANDBY), { password: dbPassword })
  t.teardown(() => Promise.all([primarySql.destroy(), standbySql.destroy()]))
  const pgbouncerPassword = 'pgb-pa55word-91e2'
  const webhook = await startReceiver(t)
  // No PgBouncer listens there: each failed RELOAD is logged, and must not carry the URL's password.
  const pgbouncerAdminUrl = `postgresql://pgb_admin:${pgbouncerPassword}@127.0.0.1:${await unusedPort()}/pgbouncer`
  const svc = await startService(t, cloud, {
    PRIMARY_CLUSTER_ENDPOINT: primarySql.url(),
    STANDBY_CLUSTER_ENDPOINT: standbySql.url(),
    WEBHOOK_URL: webhook.url,
    PGBOUNCER_DATABASES_FILE: join(dir, 'databases.ini'),
    READ_TOKEN: readToken,
    // It records what it was given, and fails saying the admin token an operator wrote into it.
    ON_FAILOVER_COMMAND: `env > '${hookEnv}'; echo "refused with ${ADMIN_TOKEN}" >&2; exit 1`,
    PGBOUNCER_ADMIN_URL: pgbouncerAdminUrl,
    ADMIN_MAX_FAILURES: '4',
    // With `both`, SQL answering would keep the cluster healthy and the API's error out of the log.
    UNHEALTHY_EVIDENCE: 'either',
    LOG_LEVEL: 'trace'
  })
  await svc.fastify.engine.nextCheck()

  // A hostile API that quotes the key back in its error messages.
  await cloud.control('POST', '/faults', { operation: 'getCluster', kind: 'status', status: 400, message: `bad key ${DEFAULT_API_KEY}`, count: 2 })
  await svc.fastify.engine.nextCheck()
  await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': appPassword })
  await svc.post('/admin/failover', { dry_run: true }, { authorization: `Bearer ${ADMIN_TOKEN}-wrong` })
  await svc.post('/admin/failover', { dry_run: true }, admin)
  await svc.post('/admin/failover', { failover_at: appPassword }, admin)
  await svc.post('/admin/pause', undefined, admin)
  await svc.post('/admin/resume', undefined, admin)
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await primarySql.stop()
  await svc.waitForEvent('failover_completed')
  await svc.get('/nope')
  t.equal((await svc.get('/events', { authorization: `Bearer ${readToken}x` })).status, 401)
  await svc.waitForEvent('hook_failed')
  // Near misses until this address is locked out, then the right token during the lockout.
  for (const token of [ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN} `.repeat(2), ADMIN_TOKEN.toUpperCase()]) {
    t.equal((await svc.post('/admin/pause', undefined, { authorization: `Bearer ${token}` })).status, 401)
  }
  t.equal((await svc.post('/admin/pause', undefined, admin)).status, 429)
  t.match(svc.lines.join('\n'), /admin API locked for this address/)
  t.ok(webhook.requests.length > 0, 'the webhook was called')
  t.match(svc.lines.join('\n'), /PgBouncer not yet sent/, 'the failing PgBouncer RELOAD was logged')

  const outputs = {
    log: svc.lines.join('\n'),
    metrics: (await svc.get('/metrics')).body as string,
    events: JSON.stringify((await svc.get('/events?limit=500', { authorization: `Bearer ${readToken}` })).body),
    clusters: JSON.stringify((await svc.get('/clusters', { authorization: `Bearer ${readToken}` })).body),
    hookEnv: readFileSync(hookEnv, 'utf8')
  }
  t.match(outputs.hookEnv, /PCR_EVENT_TYPE=/, 'the command ran and recorded its environment')
  t.match(outputs.events, /refused with \[REDACTED\]/, "the command's failure is in the history, scrubbed")
  t.ok(svc.lines.length > 20, `the log has content (${svc.lines.length} lines)`)
  t.match(outputs.log, /bad key \[REDACTED\]|bad key \[redacted\]/i, 'the quoted key was removed, the rest of the message kept')
  for (const [where, text] of Object.entries(outputs)) {
    const secrets = { apiKey: DEFAULT_API_KEY, adminToken: ADMIN_TOKEN, readToken, etcdPassword, dbPassword, appPassword, pgbouncerPassword, webhookUrl: webhook.url, webhookPath: SECRET_PATH }
    for (const [name, secret] of Object.entries(secrets)) {
      t.notOk(text.includes(secret), `${where} has no ${name}`)
    }
    t.notMatch(text, /postgres(ql)?:\/\/[^:@/\s]+:[^@/\s]+@/, `${where} has no connection string with a password`)
  }
})
