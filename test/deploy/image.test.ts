import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { PRIMARY, STANDBY, startFakeCloud } from '../helpers/stack.js'

// No container engine here: the image's steps are run by hand instead, from
// what the Dockerfile says, so a Dockerfile that stops working fails this test.

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')

function lastStage(text: string): string {
  return text.split(/^FROM /m).at(-1) as string
}

t.test('the Dockerfile builds dist with dev dependencies and runs it with production ones only', async (t) => {
  const runtime = lastStage(dockerfile)
  t.match(runtime, /RUN npm ci --omit=dev/)
  t.match(runtime, /COPY --from=build \/app\/dist \.\/dist/)
  t.match(runtime, /^USER node$/m, 'not root')
  t.match(runtime, /HEALTHCHECK[\s\S]*\/health/)
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)?.[1] ?? '[]') as string[]
  t.same(cmd, ['node', 'dist/src/server.js'])
  const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')
  for (const entry of ['.env', 'node_modules', 'test', '.git']) t.ok(ignored.includes(entry), `.dockerignore keeps out ${entry}`)

  const dir = mkdtempSync(join(tmpdir(), 'pcr-image-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(root, file), join(dir, file))
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir })
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')])

  const cloud = await startFakeCloud(t)
  const child = spawn(process.execPath, cmd.slice(1), {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      _TAPJS_PROCESSINFO_COVERAGE_: '0',
      NODE_ENV: 'production',
      COCKROACH_API_URL: cloud.url,
      COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
      PRIMARY_CLUSTER_ID: PRIMARY,
      STANDBY_CLUSTER_ID: STANDBY,
      HOST: '127.0.0.1',
      PORT: '0'
    }
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m !== null) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
  // What the HEALTHCHECK runs.
  const probe = /fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|8080\)\+'\/health'\)/.test(runtime)
  t.ok(probe, 'the health check asks /health on PORT')
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200)
  await health.body?.cancel()
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'stops cleanly on the STOPSIGNAL')
})
