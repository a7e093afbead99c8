import t from 'tap'
import fc from 'fast-check'
import { ConfigError, parseConfig, variableNames } from '../../src/config/index.js'
import { untracedEnv } from '../../tools/child-env.js'
import { spawnServer } from '../../tools/spawn-server.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'

// Any value of any variable either parses or is refused with one line per
// problem that names its variable and never quotes a secret.

const secretNames = new Set(['COCKROACH_API_SECRET_KEY', 'ADMIN_TOKEN', 'PRIMARY_CLUSTER_ENDPOINT', 'STANDBY_CLUSTER_ENDPOINT', 'PGBOUNCER_ADMIN_URL', 'WEBHOOK_URL', 'ETCD_PASSWORD'])

const value = fc.oneof(
  fc.constantFrom(
    '', ' ', '\t', '\n', '0', '-1', '-0', '1', '1.5', '1e3', '1e309', '-1e309', 'NaN', 'Infinity', '-Infinity', '0x10', '1_000', ' 7 ',
    '9'.repeat(400), '65536', 'true', 'FALSE', ' yes ', 'on', 'debug', 'both', 'require', 'failover_completed,x',
    PRIMARY, STANDBY, PRIMARY.toUpperCase(), '2027-03-04T05:06:07Z', '2026-02-30T00:00:00Z', 'http://127.0.0.1:9', 'ftp://x',
    'postgresql://user:hunter2-secret-pw@db.example:26257/defaultdb', 'https://hooks.example/T000/B000/secret-webhook-path',
    '[::1]:26257', 'host:0', 'pool_size=20 host=evil', 'pgbouncer', '/', '/dev/null', 'relative/file'
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.double().map(String),
  fc.bigInt().map(String)
)

// A valid base most of the time, so the hostile values meet the rules that
// come after "is required".
const base = { COCKROACH_API_SECRET_KEY: 'base-api-key-value', PRIMARY_CLUSTER_ID: PRIMARY, STANDBY_CLUSTER_ID: STANDBY }
const hostileEnv = fc
  .tuple(fc.boolean(), fc.dictionary(fc.constantFrom(...variableNames), value, { maxKeys: 8 }))
  .map(([withBase, env]) => (withBase ? { ...base, ...env } : env))

function problemsOf(env: Record<string, string>): string[] | undefined {
  try {
    parseConfig(env)
    return undefined
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems
  }
}

t.test('parseConfig accepts or refuses every environment, one named line per problem', async (t) => {
  fc.assert(
    fc.property(hostileEnv, (env) => {
      const problems = problemsOf(env)
      if (problems === undefined) return
      if (problems.length === 0) throw new Error('refused without a problem')
      for (const problem of problems) {
        if (/[\r\n\u2028\u2029]/.test(problem)) throw new Error(`not one line: ${JSON.stringify(problem)}`)
        const name = /^([A-Z_]+): \S/.exec(problem)?.[1]
        if (name === undefined || !variableNames.includes(name)) throw new Error(`names no variable: ${JSON.stringify(problem)}`)
      }
      // Shorter values could be in a message by chance ("true" in "must be true or false"); so could a
      // longer one that is a message's own word ("pgbouncer"), which the same environment without
      // the secret then shows too: only text that is there because of the secret is a quote.
      const quotes = (text: string[] | undefined, v: string) => (text ?? []).some((p) => p.includes(v))
      for (const [name, v] of Object.entries(env)) {
        if (!secretNames.has(name) || v.trim().length < 8 || !quotes(problems, v.trim())) continue
        const { [name]: _secret, ...without } = env
        if (!quotes(problemsOf(without), v.trim())) throw new Error(`${name}'s value is quoted: ${JSON.stringify(problems)}`)
      }
    }),
    { numRuns: 1000, seed: 20_261_130 }
  )
  t.pass('every environment parsed or refused properly')
})

async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  // Every variable not in the sample is set empty, which means unset: nothing
  // leaks in from this process's environment.
  const unset = Object.fromEntries(variableNames.map((name) => [name, '']))
  const server = spawnServer({ env: untracedEnv({ ...unset, ...env }) })
  // A config that wrongly starts the server must not hang the test.
  const guard = setTimeout(() => server.child.kill('SIGKILL'), 30_000)
  const code = await server.exited
  clearTimeout(guard)
  return { code, stderr: server.stderr(), stdout: server.stdout() }
}

t.test('the real server refuses sampled invalid environments with exit code 2', async (t) => {
  // Environment values cannot hold NUL; the rest is as hostile as above.
  const invalidEnv = hostileEnv.filter((env) => !Object.values(env).some((v) => v.includes('\0')) && problemsOf(env) !== undefined)
  await fc.assert(
    fc.asyncProperty(invalidEnv, async (env) => {
      const problems = problemsOf(env) as string[]
      const { code, stderr, stdout } = await start(env)
      if (code !== 2) throw new Error(`exit code ${code}: ${stderr}`)
      const expected = `pcr-sidecar: ${new ConfigError(problems).message}\n`
      if (stderr !== expected) throw new Error(`stderr ${JSON.stringify(stderr)}, expected ${JSON.stringify(expected)}`)
      if (stdout !== '') throw new Error(`stdout ${JSON.stringify(stdout)}`)
    }),
    { numRuns: 3, seed: 20_261_131 }
  )
  t.pass('each refused with its problems, one line each')
})
