import t from 'tap'
import { ADMIN_TOKEN, PRIMARY, startFakeCloud, startService } from '../../tools/stack.js'
import { openStream } from '../helpers/sse.js'
import { pcr } from '../cli/fixtures/pcr.js'

// READ_TOKEN closes the operator's read routes, which show admin callers' addresses
// and hook failures; what probes, proxies and applications call stays open.

const READ_TOKEN = 'read-token-for-tests-0123456789'
const basic = (password: string) => `Basic ${Buffer.from(`operator:${password}`).toString('base64')}`
const operatorRoutes = ['/', '/events', '/clusters', '/docs', '/docs/json']

t.test('with READ_TOKEN the operator routes need it (or the admin token), the others stay open', async (t) => {
  const cloud = await startFakeCloud(t)
  // Every refusal below counts toward a lockout; this test is about which routes refuse.
  const svc = await startService(t, cloud, { READ_TOKEN, ADMIN_MAX_FAILURES: '1000' })
  await svc.fastify.engine.nextCheck()

  for (const path of operatorRoutes) {
    const refused = await svc.get(path)
    t.equal(refused.status, 401, `${path} without a token`)
    t.match(refused.headers['www-authenticate'], /Basic realm="pcr-sidecar"/, `${path}: a browser asks for the token`)
    t.equal((await svc.get(path, { authorization: 'Bearer not-the-read-token' })).status, 401, `${path} with a wrong token`)
    for (const authorization of [`Bearer ${READ_TOKEN}`, basic(READ_TOKEN), `Bearer ${ADMIN_TOKEN}`]) {
      t.ok((await svc.get(path, { authorization })).status < 400, `${path} with ${authorization.slice(0, 12)}…`)
    }
  }
  const refusedStream = await openStream(svc.url)
  t.equal(refusedStream.status, 401, '/events/stream without a token')
  refusedStream.close()
  const stream = await openStream(svc.url, { authorization: basic(READ_TOKEN) })
  t.equal(stream.status, 200, '/events/stream with the token, as a browser sends it')
  stream.close()

  const open = [
    ['/health', {}],
    ['/connection', { 'x-db-username': 'app', 'x-db-password': 'pw' }],
    ['/active', {}],
    [`/clusters/${PRIMARY}/active`, {}],
    ['/metrics', {}]
  ] as const
  for (const [path, headers] of open) t.equal((await svc.get(path, headers)).status, 200, `${path} stays open`)
  t.not((await svc.get('/ready')).status, 401, '/ready stays open')
})

t.test('wrong read tokens lock an address out of the read routes for a cool-down', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { READ_TOKEN, ADMIN_MAX_FAILURES: '3' })
  const read = (authorization: string) => svc.fastify.inject({ method: 'GET', url: '/events', remoteAddress: '203.0.113.9', headers: { authorization } })
  for (let i = 0; i < 3; i++) t.equal((await read(`Bearer guess-${i}`)).statusCode, 401)
  const locked = await read(`Bearer ${READ_TOKEN}`)
  t.equal(locked.statusCode, 429)
  t.equal(locked.json().code, 'auth_locked_out')
  t.equal((await svc.fastify.inject({ method: 'GET', url: '/events', remoteAddress: '198.51.100.4', headers: { authorization: `Bearer ${READ_TOKEN}` } })).statusCode, 200, 'another address is not')
  t.notOk(svc.lines.join('\n').includes(READ_TOKEN.slice(0, 12)), 'no token, nor part of one, in the log')
})

t.test('pcr in remote mode reads with PCR_READ_TOKEN, or with the admin token it has', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { READ_TOKEN })
  await svc.fastify.engine.nextCheck()
  const none = await pcr(['--url', svc.url, 'status'])
  t.equal(none.code, 2)
  t.equal(none.stderr, 'pcr: /clusters: a valid read token is required (READ_TOKEN or ADMIN_TOKEN): give it in PCR_READ_TOKEN\n')
  const reader = await pcr(['--url', svc.url, 'status', '--json'], { env: { PCR_READ_TOKEN: READ_TOKEN } })
  t.equal(reader.code, 0, reader.stderr)
  t.equal(JSON.parse(reader.stdout).active_cluster_id, PRIMARY)
  const operator = await pcr(['--url', svc.url, 'status', '--json'], { env: { PCR_ADMIN_TOKEN: ADMIN_TOKEN } })
  t.equal(operator.code, 0, operator.stderr)
})
