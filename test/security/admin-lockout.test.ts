import t from 'tap'
import { systemClock, type Clock } from '../../src/engine/engine.js'
import { ADMIN_TOKEN, startFakeCloud, startService, type Service } from '../../tools/stack.js'

const attacker = '203.0.113.7'
const operator = '198.51.100.2'

t.test('repeated refusals lock out one address from the admin API only, for one cool-down', async (t) => {
  // Real timers for the engine, and a clock the test moves past the cool-down.
  const shift = { ms: 0 }
  const clock: Clock = { ...systemClock, now: () => Date.now() + shift.ms }
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { ADMIN_MAX_FAILURES: '5', ADMIN_FAILURE_WINDOW: '60', ADMIN_LOCKOUT: '60' }, { clock })
  await svc.fastify.engine.nextCheck()
  const call = (remoteAddress: string, url: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'POST') =>
    svc.fastify.inject({ method, url, remoteAddress, headers, ...(url === '/admin/failover' ? { payload: { dry_run: true } } : {}) })
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  const nearMisses = [{}, bearer('wrong'), bearer(`${ADMIN_TOKEN}x`), bearer(ADMIN_TOKEN.slice(0, -1)), { authorization: `Basic ${ADMIN_TOKEN}` }]
  for (const headers of nearMisses) {
    const res = await call(attacker, '/admin/pause', headers)
    t.equal(res.statusCode, 401, `refused: ${JSON.stringify(headers).slice(0, 24)}…`)
  }
  const locked = await call(attacker, '/admin/pause', bearer(ADMIN_TOKEN))
  t.equal(locked.statusCode, 429, 'even the right token is refused during the lockout')
  t.equal(locked.headers['retry-after'], '60')
  t.same(locked.json(), { error: 'Too Many Requests', message: 'too many failed admin authentications from this address', code: 'auth_locked_out' })
  t.equal(svc.fastify.engine.snapshot().paused, false, 'nothing was done')
  t.equal((await call(attacker, '/admin/failover', bearer('wrong'))).statusCode, 429, 'every admin route')

  t.equal((await call(attacker, '/health', {}, 'GET')).statusCode, 200, '/health is not affected')
  t.equal((await call(attacker, '/connection', { 'x-db-username': 'app', 'x-db-password': 'pw' }, 'GET')).statusCode, 200, '/connection is not affected')
  t.equal((await call(attacker, '/clusters', {}, 'GET')).statusCode, 200, '/clusters is not affected')

  t.equal((await call(operator, '/admin/pause', bearer(ADMIN_TOKEN))).statusCode, 200, 'the operator elsewhere is not affected')
  t.equal((await call(operator, '/admin/resume', bearer('typo'))).statusCode, 401, 'and is only refused, not locked, for one typo')

  shift.ms += 59_000
  const later = await call(attacker, '/admin/resume', bearer(ADMIN_TOKEN))
  t.equal(later.statusCode, 429)
  t.equal(later.headers['retry-after'], '1', 'the lockout was not extended by the attempts made during it')
  shift.ms += 1_000
  t.equal((await call(attacker, '/admin/resume', bearer(ADMIN_TOKEN))).statusCode, 200, 'after the cool-down the right token works again')

  const lockouts = svc.lines.filter((l) => l.includes('admin API locked'))
  t.equal(lockouts.length, 1, 'each lockout is logged once')
  t.match(JSON.parse(lockouts[0] as string), { level: 40, address: attacker, failures: 5, lockoutSeconds: 60 })
  t.notOk(svc.lines.join('\n').includes(ADMIN_TOKEN.slice(0, 12)), 'no token, nor part of one, in the log')

  const metrics = (await svc.get('/metrics')).body as string
  t.match(metrics, /pcr_admin_auth_failures_total\{outcome="rejected"\} 6\n/)
  t.match(metrics, /pcr_admin_auth_failures_total\{outcome="locked_out"\} 1\n/)
  t.match(metrics, /pcr_admin_auth_failures_total\{outcome="throttled"\} 3\n/)
})

t.test('behind a proxy: TRUST_PROXY keys the lockout on the client it names; without it X-Forwarded-For is not believed', async (t) => {
  const cloud = await startFakeCloud(t)
  const ingress = '10.0.0.5'
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const through = (svc: Service, client: string, token: string) =>
    svc.fastify.inject({ method: 'POST', url: '/admin/pause', remoteAddress: ingress, headers: { 'x-forwarded-for': client, ...bearer(token) } })

  const behind = await startService(t, cloud, { ADMIN_MAX_FAILURES: '2', TRUST_PROXY: '10.0.0.0/8' })
  for (let i = 0; i < 2; i++) t.equal((await through(behind, attacker, 'wrong')).statusCode, 401)
  t.equal((await through(behind, attacker, ADMIN_TOKEN)).statusCode, 429, 'the client that failed is locked out')
  t.equal((await through(behind, operator, ADMIN_TOKEN)).statusCode, 200, 'another client behind the same ingress is not')
  const lockout = behind.lines.find((l) => l.includes('admin API locked'))
  t.match(JSON.parse(lockout as string), { address: attacker })

  // One trusted hop: the address that proxy appended counts, whatever the client wrote before it.
  const hops = await startService(t, cloud, { ADMIN_MAX_FAILURES: '2', TRUST_PROXY: '1' })
  for (const spoof of ['192.0.2.1', '192.0.2.2']) t.equal((await through(hops, `${spoof}, ${attacker}`, 'wrong')).statusCode, 401)
  t.equal((await through(hops, `192.0.2.3, ${attacker}`, ADMIN_TOKEN)).statusCode, 429, 'the client the proxy saw is locked out')
  t.equal((await through(hops, operator, ADMIN_TOKEN)).statusCode, 200)

  const direct = await startService(t, cloud, { ADMIN_MAX_FAILURES: '2' })
  for (let i = 0; i < 2; i++) t.equal((await through(direct, `192.0.2.${i}`, 'wrong')).statusCode, 401)
  t.equal((await through(direct, operator, ADMIN_TOKEN)).statusCode, 429, 'a made-up X-Forwarded-For does not get round the lockout')
})
