import t from 'tap'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import { request } from 'undici'
import app, { serverOptions } from '../../src/app.js'
import { createLogger, secretsOf } from '../../src/logger.js'
import { configFor, startFakeCloud } from '../../tools/stack.js'

t.test('answers carry no framework banner, and a fault of ours no stack or file path', async (t) => {
  const cloud = await startFakeCloud(t)
  const config = configFor(cloud)
  const lines: string[] = []
  const logger = createLogger({ level: 'error', secrets: secretsOf(config) }, { write: (l: string) => lines.push(l) })
  const fastify = Fastify({ ...serverOptions, loggerInstance: logger as FastifyBaseLogger })
  await fastify.register(app, { config })
  // A test-only route standing for any bug in a handler.
  fastify.get('/test-only/boom', async () => {
    throw new Error(`broken at ${import.meta.filename}:12`)
  })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => fastify.close())
  const address = fastify.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  const answers = {
    health: await request(`${base}/health`),
    notFound: await request(`${base}/nope`),
    unauthorized: await request(`${base}/admin/pause`, { method: 'POST' }),
    fault: await request(`${base}/test-only/boom`)
  }
  for (const [name, res] of Object.entries(answers)) {
    t.equal(res.headers['x-powered-by'], undefined, `${name}: no x-powered-by`)
    t.equal(res.headers.server, undefined, `${name}: no server header`)
  }
  t.equal(answers.fault.statusCode, 500)
  const body = await answers.fault.body.text()
  t.same(JSON.parse(body), { error: 'Internal Server Error', message: 'internal error' })
  t.notMatch(body, /stack|\.ts|\/work|at /, 'no stack, file or line')
  t.match(lines.join('\n'), /broken at .*http-surface\.test\.ts:12/, 'the cause is in the log instead')
  await Promise.all(Object.values(answers).map((res) => res.body.dump()))
})
