import t from 'tap'
import Fastify from 'fastify'
import errorsPlugin from '../../src/plugins/errors.js'

t.test('errors: 4xx keep their message, anything else is a bare 500 that is logged', async (t) => {
  const lines: string[] = []
  const fastify = Fastify({ logger: { level: 'error', stream: { write: (l: string) => lines.push(l) } } })
  await fastify.register(errorsPlugin)
  fastify.get('/teapot', async () => {
    throw Object.assign(new Error('short and stout'), { statusCode: 418, code: 'TEAPOT' })
  })
  fastify.get('/bug', async () => {
    throw new Error('internal detail at /srv/app.js:12')
  })
  const teapot = await fastify.inject('/teapot')
  t.equal(teapot.statusCode, 418)
  t.same(teapot.json(), { error: "I'm a Teapot", message: 'short and stout', code: 'TEAPOT' })
  const bug = await fastify.inject('/bug')
  t.equal(bug.statusCode, 500)
  t.same(bug.json(), { error: 'Internal Server Error', message: 'internal error' })
  t.notMatch(bug.body, /srv|stack/)
  t.match(lines.join(''), /internal detail at \/srv\/app\.js:12/, 'the cause is in the log, not the answer')
  await fastify.close()
})
