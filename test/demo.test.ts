import t from 'tap'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { untracedEnv } from '../tools/child-env.js'
import { unusedPort } from '../tools/unused-port.js'

t.test('npm run demo: an outage turns into a failover and /connection switches', async (t) => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const demo = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url))
  const child = spawn(
    process.execPath,
    ['--import', tsx, demo, '--exit', '--port', String(await unusedPort()), '--emulator-port', String(await unusedPort())],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: untracedEnv()
    }
  )
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  t.equal(code, 0, out)
  t.match(out, /pcr-sidecar is running against the built-in Cloud API emulator/)
  t.match(out, /primary disrupted \(HTTP 200\)/)
  t.match(out, /threshold reached/)
  t.match(out, /failover completed/)
  t.match(out, /\/connection now names the standby/)
  const measured = /outage to switch\s+([\d.]+) s/.exec(out)
  const minimum = /configured minimum\s+([\d.]+) s/.exec(out)
  t.ok(measured !== null && minimum !== null)
  t.ok(Number(measured?.[1]) >= Number(minimum?.[1]) - 1, 'never sooner than the policy allows (less the first check interval)')
})
