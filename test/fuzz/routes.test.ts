import t from 'tap'
import fc from 'fast-check'
import { Pool } from 'undici'
import { admin, startFakeCloud, startService } from '../../tools/stack.js'
import { harmless, hostileRequest, problemsOf, send } from '../helpers/hostile-requests.js'

// Every route of openapi/openapi.json, driven over a real socket with hostile
// methods, paths, queries, headers, content types and bodies. Requests that may
// carry the admin token are made harmless first (see `harmless`): the service
// and the emulator are shared by all runs, so none may start a failover.

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
      path: fc.constantFrom('/admin/failover', '/admin/failback', '/admin/simulate', '/admin/setup', '/admin/pause', '/admin/resume', '/admin/operations/x'),
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
})
