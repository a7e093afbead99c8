import fc from 'fast-check'
import t from 'tap'
import { z } from 'zod'
import { ActiveBody, ClusterParams, ConnectionHeaders, HealthBody } from '../src/api-schemas.js'
import { compiledSerializer, hotValidatorCompiler, stringFieldsCheck } from '../src/compiled-serializer.js'

// The hot routes' compilers stand in for zod on the hot path: they must agree with it.

const headerish = fc.dictionary(
  fc.constantFrom('x-db-username', 'x-db-password', 'cluster_id', 'other'),
  fc.oneof(fc.string({ maxLength: 120 }), fc.constant(''), fc.integer(), fc.constant(undefined), fc.array(fc.string()))
)

t.test('the fast check accepts exactly what zod accepts', async (t) => {
  for (const schema of [ConnectionHeaders, ClusterParams]) {
    const accepts = stringFieldsCheck(schema)
    fc.assert(fc.property(fc.oneof(headerish, fc.constant(null), fc.string()), (value) => accepts(value) === schema.safeParse(value).success))
  }
  t.pass('agreed on every generated value')
})

t.test('a schema with any check beyond string lengths is refused rather than checked loosely', async (t) => {
  t.throws(() => stringFieldsCheck(z.object({ a: z.string().regex(/x/) })), /cannot apply string_format/)
  t.throws(() => stringFieldsCheck(z.object({ a: z.string().trim() })), /cannot apply overwrite/)
  t.throws(() => stringFieldsCheck(z.object({ a: z.string().optional() })), /plain strings only/)
  t.throws(() => stringFieldsCheck(z.object({ a: z.number() })), /plain strings only/)
  t.throws(() => stringFieldsCheck(z.string()), /object schema/)
})

t.test('what the fast check refuses gets zod’s own error; what it accepts passes unchanged', async (t) => {
  const validate = hotValidatorCompiler({ schema: ConnectionHeaders, method: 'GET', url: '/connection', httpPart: 'headers' })
  const headers = { 'x-db-username': 'app', 'x-db-password': '', host: 'kept' }
  t.same(validate(headers), { value: headers })
  const refused = validate({ 'x-db-password': 'p' }) as { error: Array<{ message: string }> }
  t.match(refused.error[0]?.message, /X-DB-Username header is required/)
})

t.test('the compiled serializer writes the JSON that JSON.stringify writes for values of the schema', async (t) => {
  const text = fc.string({ unit: 'binary' })
  const active = fc.record({
    cluster_id: text,
    role: fc.constantFrom('primary', 'standby'),
    host: text,
    port: fc.integer({ min: 0, max: 65535 }),
    database: text,
    sslmode: text,
    phase: fc.constantFrom('normal', 'completed'),
    stale: fc.option(fc.record({ saved_at: text, age_seconds: fc.double({ noNaN: true, noDefaultInfinity: true }) }), { nil: null })
  })
  fc.assert(fc.property(active, (value) => compiledSerializer(ActiveBody)(value) === JSON.stringify(value)))
  t.equal(compiledSerializer(HealthBody), compiledSerializer(HealthBody), 'compiled once per schema')
})
