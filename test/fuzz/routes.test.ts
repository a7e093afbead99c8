import t from 'tap'
import fc from 'fast-check'
import { Pool } from 'undici'
import { ADMIN_TOKEN, admin, startFakeCloud, startService } from '../../tools/stack.js'
import { harmless, hostileRequest, problemsOf, send } from '../helpers/hostile-requests.js'
import { operations } from '../helpers/own-spec.js'

// Every route of openapi/openapi.json, driven over a real socket with hostile
// methods, paths, queries, headers, content types and bodies. Requests that may
// carry the admin token are made harmless first (see `harmless`): the service
// and the emulator are shared by all runs, so none may start a failover.

// Every admin route the document has, its parameters filled in: a new one is fuzzed without being listed here.
const adminRoutes = operations
  .filter((o) => o.template.startsWith('/admin/'))
  .map((o) => [o.method, o.template.replace(/\{[^}]+\}/g, 'x')] as const)

t.test('hostile requests get only documented answers, and no secret back', async (t) => {
  const cloud = await startFakeCloud(t)
  // No lockout after the first few wrong tokens: the runs that carry the right
  // one must still reach the admin handlers.
  const svc = await startService(t, cloud, { ADMIN_MAX_FAILURES: '1000' })
  await svc.fastify.engine.nextCheck()
  const pool = new Pool(svc.url)
  t.teardown(() => pool.close())

  await fc.assert(
    fc.asyncProperty(hostileRequest, async (generated) => {
      const r = harmless(generated)
      const problems = problemsOf(r, await send(pool, r))
      if (problems.length > 0) throw new Error(problems.join('\n'))
    }),
    { numRuns: 300, seed: 20_261_126 }
  )

  t.equal((await svc.get('/health')).status, 200, 'still answering')
  t.equal((await svc.get('/clusters')).body.phase, 'normal', 'no failover was started')
  t.equal(await cloud.patches(), 0, 'the stream was never patched')
})

t.test('the admin routes with the valid token and hostile bodies', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const pool = new Pool(svc.url)
  t.teardown(() => pool.close())
  const adminRequest = hostileRequest.chain((r) =>
    fc.record({
      method: fc.constantFrom('POST', 'POST', 'GET'),
      path: fc.constantFrom(...new Set(adminRoutes.map(([, path]) => path))),
      headers: fc.constant({ ...r.headers, ...admin }),
      contentType: fc.constant(r.contentType),
      body: fc.constant(r.body)
    })
  )

  await fc.assert(
    fc.asyncProperty(adminRequest, async (generated) => {
      const r = harmless(generated)
      const problems = problemsOf(r, await send(pool, r))
      if (problems.length > 0) throw new Error(problems.join('\n'))
    }),
    { numRuns: 200, seed: 20_261_127 }
  )

  t.equal((await svc.get('/health')).status, 200, 'still answering')
  t.equal(await cloud.patches(), 0, 'the stream was never patched')
  t.notOk(svc.events().some((e) => e.type === 'fence_raised'), 'no switchover fenced the primary')
})

t.test('the admin routes without the valid token: 401, 403 or 429 whatever the body, never a 400 that would teach the schema', async (t) => {
  const cloud = await startFakeCloud(t)
  const [svc, disabled] = await Promise.all([startService(t, cloud), startService(t, cloud, { ADMIN_TOKEN: '' })])
  const pools = [new Pool(svc.url), new Pool(disabled.url)]
  t.teardown(() => Promise.all(pools.map((p) => p.close())))
  const routes = adminRoutes
  t.ok(routes.length >= 8 && routes.some(([, path]) => path === '/admin/switchover'), 'every admin route of the document')
  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.constant('Bearer wrong'),
    fc.constant(`Bearer ${ADMIN_TOKEN.slice(0, -1)}`),
    fc.constant(`Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`),
    fc.string({ maxLength: 60 }).map((v) => `Bearer ${v.replace(/[^\x21-\x7e]/g, '')}`)
  )
  const unauthenticated = fc.record({ route: fc.constantFrom(...routes), authorization, request: hostileRequest }).map(({ route: [method, path], authorization: a, request: r }) => ({
    ...r,
    method,
    path,
    headers: { ...Object.fromEntries(Object.entries(r.headers).filter(([name]) => name.toLowerCase() !== 'authorization')), ...(a === undefined ? {} : { authorization: a }) }
  }))

  const seen = new Set<number>()
  await fc.assert(
    fc.asyncProperty(unauthenticated, async (r) => {
      const answer = await send(pools[0] as Pool, r)
      const off = await send(pools[1] as Pool, r)
      seen.add(answer.status)
      if (![401, 429].includes(answer.status)) throw new Error(`${r.method} ${r.path}: ${answer.status} ${answer.text.slice(0, 200)}`)
      if (off.status !== 403) throw new Error(`${r.method} ${r.path} with the admin API disabled: ${off.status}`)
    }),
    { numRuns: 150, seed: 20_261_206 }
  )
  t.same([...seen].sort(), [401, 429], 'refused, then locked out; never a 400')
  t.equal(await cloud.patches(), 0, 'the stream was never patched')
  t.equal(svc.fastify.engine.snapshot().paused, false, 'nothing was changed')
})
