import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_API_KEY } from '../src/emulator/seed.js'
import { spawnServer } from '../tools/spawn-server.js'
import { PRIMARY, STANDBY, startFakeCloud } from '../tools/stack.js'

function run(env: Record<string, string>, cwd?: string) {
  // A clean environment: only what the test sets (and no coverage from a tsx child).
  return spawnServer({ env: { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env }, cwd })
}

t.test('bad configuration stops the process before it listens, one line per problem', async (t) => {
  const p = run({ COCKROACH_API_SECRET_KEY: 'the-secret-key', PRIMARY_CLUSTER_ID: PRIMARY, STANDBY_CLUSTER_ID: PRIMARY, ADMIN_TOKEN: 'short-secret', HEALTH_CHECK_INTERVAL: 'soon' })
  t.equal(await p.exited, 2)
  t.equal(
    p.stderr(),
    [
      'pcr-sidecar: invalid configuration:',
      'HEALTH_CHECK_INTERVAL: must be a number of seconds greater than 0',
      'ADMIN_TOKEN: must be at least 16 characters long',
      'STANDBY_CLUSTER_ID: must differ from PRIMARY_CLUSTER_ID',
      ''
    ].join('\n')
  )
  t.notMatch(p.stderr() + p.stdout(), /the-secret-key|short-secret/)
})

t.test('a percent sign that starts no escape in a URL is refused in one line, not a crash', async (t) => {
  const p = run({
    COCKROACH_API_SECRET_KEY: 'the-secret-key',
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    PRIMARY_CLUSTER_ENDPOINT: 'postgresql://u:p%zz@host/db',
    WEBHOOK_URL: 'https://hook:s%zzecret@hooks.example/T0/B0/abcdefghijklmnop'
  })
  t.equal(await p.exited, 2)
  t.equal(
    p.stderr(),
    [
      'pcr-sidecar: invalid configuration:',
      "PRIMARY_CLUSTER_ENDPOINT: has a % that starts no escape (write a literal % as %25)",
      "WEBHOOK_URL: has a % that starts no escape (write a literal % as %25)",
      ''
    ].join('\n')
  )
})

t.test('the service starts from a .env file, serves, and stops gracefully on SIGTERM', async (t) => {
  const cloud = await startFakeCloud(t)
  const cwd = mkdtempSync(join(tmpdir(), 'pcr-server-'))
  writeFileSync(
    join(cwd, '.env'),
    [
      `COCKROACH_API_URL=${cloud.url}`,
      `COCKROACH_API_SECRET_KEY=${DEFAULT_API_KEY}`,
      `PRIMARY_CLUSTER_ID=${PRIMARY}`,
      `STANDBY_CLUSTER_ID=${STANDBY}`,
      'HEALTH_CHECK_INTERVAL=0.1',
      'HOST=127.0.0.1',
      'PORT=0',
      'ENABLE_PROMETHEUS=true',
      'PROMETHEUS_PORT=0'
    ].join('\n')
  )
  const p = run({}, cwd)
  const [, port] = await p.waitForOutput(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/)
  const [, metricsPort] = await p.waitForOutput(/"port":(\d+),"msg":"prometheus metrics listening"/)
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200)
  await health.body?.cancel()
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(metrics.status, 200)
  t.match(await metrics.text(), /pcr_failure_threshold 3/)
  const other = await fetch(`http://127.0.0.1:${metricsPort}/other`)
  t.equal(other.status, 404)
  p.child.kill('SIGTERM')
  t.equal(await p.exited, 0)
  t.match(p.stdout(), /"signal":"SIGTERM","msg":"stopping"/)
  t.match(p.stdout(), /monitoring stopped/)
  t.notMatch(p.stdout(), new RegExp(DEFAULT_API_KEY))
})
