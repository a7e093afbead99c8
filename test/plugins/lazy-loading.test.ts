import { createRequire } from 'node:module'
import t from 'tap'
import { startFakeCloud, startService } from '../../tools/stack.js'

// What a plain start does not load (issue 18): Swagger UI until the first /docs
// request, the etcd client without COORDINATION=etcd, pg without SQL endpoints.
// All three are CommonJS, so Node's require cache tells whether they were loaded;
// tap runs this file in a process of its own.

const loaded = (name: string) => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/node_modules/${name}/`))

t.test('a plain start serves without Swagger UI, etcd3 or pg, and /docs loads Swagger UI when asked', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/ready')).status, 200)
  t.equal((await svc.get('/connection', { 'x-db-username': 'app', 'x-db-password': 'p' })).status, 200)
  t.notOk(loaded('@fastify/swagger-ui'), 'Swagger UI is not loaded by a start')
  t.notOk(loaded('etcd3'), 'nor the etcd client')
  t.notOk(loaded('pg'), 'nor pg')

  const doc = await svc.get('/docs/json')
  t.equal(doc.status, 200)
  t.same(doc.body, svc.fastify.swagger(), 'the UI serves the document the service generated')
  t.ok(loaded('@fastify/swagger-ui'), 'the first /docs request loaded it')
  const page = await fetch(`${svc.url}/docs/static/index.html`)
  t.equal(page.status, 200)
  t.match(await page.text(), /swagger/i)
})
