import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { DEFAULT_API_KEY } from '../src/emulator/seed.js'
import { PRIMARY, STANDBY, startFakeCloud } from '../tools/stack.js'

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const server = fileURLToPath(new URL('../src/server.ts', import.meta.url))

function run(env: Record<string, string>, cwd = mkdtempSync(join(tmpdir(), 'pcr-server-'))) {
  const child = spawn(process.execPath, ['--import', tsx, server], {
    cwd,
    // A clean environment: only what the test sets (and no coverage from a tsx child).
    env: { PATH: process.env.PATH ?? '', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(stdout)) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    return pattern.exec(stdout) as RegExpExecArray
  }
  return { child, exited, waitFor, out: () => stdout, err: () => stderr }
}

t.test('bad configuration stops the process before it listens, one line per problem', async (t) => {
  const p = run({ COCKROACH_API_SECRET_KEY: 'the-secret-key', PRIMARY_CLUSTER_ID: PRIMARY, STANDBY_CLUSTER_ID: PRIMARY, ADMIN_TOKEN: 'short-secret', HEALTH_CHECK_INTERVAL: 'soon' })
  t.equal(await p.exited, 2)
  t.equal(
    p.err(),
    [
      'pcr-sidecar: invalid configuration:',
      'HEALTH_CHECK_INTERVAL: must be a number of seconds greater than 0',
      'ADMIN_TOKEN: must be at least 16 characters long',
      'STANDBY_CLUSTER_ID: must differ from PRIMARY_CLUSTER_ID',
      ''
    ].join('\n')
  )
  t.notMatch(p.err() + p.out(), /the-secret-key|short-secret/)
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
  const [, port] = await p.waitFor(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/)
  const [, metricsPort] = await p.waitFor(/"port":(\d+),"msg":"prometheus metrics listening"/)
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
  t.match(p.out(), /"signal":"SIGTERM","msg":"stopping"/)
  t.match(p.out(), /monitoring stopped/)
  t.notMatch(p.out(), new RegExp(DEFAULT_API_KEY))
})
