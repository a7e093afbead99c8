import t from 'tap'
import { parse as parseConnectionString } from 'pg-connection-string'
import { request } from 'undici'
import { defaultClusterSeeds } from '../../src/emulator/seed.js'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService } from '../../tools/stack.js'

t.test('GET /connection', async (t) => {
  const primaryDns = 'primary-sql.example.test'
  const standbyDns = 'standby-sql.example.test'
  const cloud = await startFakeCloud(t, {
    clusters: defaultClusterSeeds({ primary: { sqlDns: primaryDns }, standby: { sqlDns: standbyDns } })
  })
  const svc = await startService(t, cloud, { DATABASE_NAME: 'app db', DB_SSLMODE: 'disable' })
  await svc.fastify.engine.nextCheck()

  t.test('answers the active cluster from memory, never cached', async (t) => {
    const before = (await cloud.requests()).length
    const res = await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'secret' })
    t.equal(res.status, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    t.match(res.body, { cluster_id: PRIMARY, role: 'primary', port: 26257, database: 'app db', sslmode: 'disable' })
    t.equal(res.body.host, primaryDns)
    t.equal(res.body.connection_string, `postgresql://app:secret@${primaryDns}:26257/app%20db?sslmode=disable`)
    const after = (await cloud.requests()).length
    t.ok(after - before <= 6, 'no Cloud API call of its own (only the background checks)')
  })

  t.test('hostile credentials survive new URL() and pg-connection-string', async (t) => {
    const cases = [
      ['user@corp', 'p@ss:w/rd?#%&=+ ;'],
      ["o'brien(1)*!", '%41%zz\\"`~$'],
      ['ünïcødé', 'пароль🔑'],
      ['a', '']
    ]
    for (const [user, password] of cases) {
      const res = await request(`${svc.url}/connection`, {
        headers: {
          // Header values travel as bytes; UTF-8 bytes are what a client sends.
          'x-db-username': Buffer.from(user as string, 'utf8').toString('latin1'),
          'x-db-password': Buffer.from(password as string, 'utf8').toString('latin1')
        }
      })
      t.equal(res.statusCode, 200)
      const body = (await res.body.json()) as { connection_string: string }
      const url = new URL(body.connection_string)
      t.equal(decodeURIComponent(url.username), user, `URL user ${user}`)
      t.equal(decodeURIComponent(url.password), password, `URL password of ${user}`)
      t.equal(url.hostname, primaryDns)
      const parsed = parseConnectionString(body.connection_string)
      t.equal(parsed.user, user, `pg user ${user}`)
      t.equal(parsed.password, password, `pg password of ${user}`)
      t.equal(parsed.database, 'app db')
    }
  })

  t.test('missing or empty credentials are a 400 naming the header', async (t) => {
    const noUser = await svc.get('/connection', { 'x-db-password': 'x' })
    t.equal(noUser.status, 400)
    t.match(noUser.body, { error: 'Bad Request', message: /X-DB-Username header is required/ })
    const noPassword = await svc.get('/connection', { 'x-db-username': 'x' })
    t.equal(noPassword.status, 400)
    t.match(noPassword.body.message, /X-DB-Password header is required/)
    const empty = await svc.get('/connection', { 'x-db-username': '', 'x-db-password': 'topsecret-value' })
    t.equal(empty.status, 400)
    t.match(empty.body.message, /X-DB-Username header must not be empty/)
    t.notMatch(JSON.stringify(empty.body), /topsecret-value/, 'the password is not echoed')
  })

  t.test('PRIMARY_SQL_DNS / STANDBY_SQL_DNS override the API', async (t) => {
    const other = await startService(t, cloud, { PRIMARY_SQL_DNS: 'primary.lb.internal', STANDBY_SQL_DNS: 'standby.lb.internal' })
    await other.fastify.engine.nextCheck()
    const res = await other.get('/connection', { 'x-db-username': 'u', 'x-db-password': 'p' })
    t.equal(res.body.host, 'primary.lb.internal')
  })

  t.test('follows the failover', async (t) => {
    t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
    const during = await svc.get('/connection', { 'x-db-username': 'u', 'x-db-password': 'p' })
    t.equal(during.status, 503)
    t.equal(during.headers['cache-control'], 'no-store')
    t.equal(during.headers['retry-after'], '1')
    await svc.waitForEvent('failover_completed')
    const res = await svc.get('/connection', { 'x-db-username': 'u', 'x-db-password': 'p' })
    t.equal(res.status, 200)
    t.equal(res.body.cluster_id, STANDBY)
    t.equal(res.body.role, 'standby')
    t.equal(res.body.host, standbyDns)
  })
})

t.test('503 while the active cluster is not known yet', async (t) => {
  const cloud = await startFakeCloud(t)
  await cloud.control('POST', '/faults', { operation: '*', kind: 'status', status: 503 })
  const svc = await startService(t, cloud, { HEALTH_CHECK_TIMEOUT: '0.2' })
  await svc.fastify.engine.nextCheck()
  const res = await svc.get('/connection', { 'x-db-username': 'u', 'x-db-password': 'p' })
  t.equal(res.status, 503)
  t.equal(res.body.code, 'unknown')
  const ready = await svc.get('/ready')
  t.equal(ready.status, 503)
  t.equal(ready.body.reason, 'the active cluster is not known yet')
  const health = await svc.get('/health')
  t.equal(health.status, 200, 'liveness does not depend on the Cloud API')
})

t.test('a cluster the API gives an empty SQL host is a cluster whose host is unknown, not ":26257"', async (t) => {
  const cloud = await startFakeCloud(t, { clusters: defaultClusterSeeds({ primary: { sqlDns: '' } }) })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const res = await svc.get('/connection', { 'x-db-username': 'u', 'x-db-password': 'p' })
  t.equal(res.status, 503)
  t.equal(res.body.code, 'unknown')
  const clusters = await svc.get('/clusters')
  t.equal(clusters.body.clusters.find((c: { id: string }) => c.id === PRIMARY).sql_dns, null)
  t.equal((await svc.get('/active')).status, 503)
})
