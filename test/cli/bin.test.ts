import t from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { runnerExecArgv, untracedEnv } from '../../tools/child-env.js'
import { spawnNode } from '../../tools/spawn-server.js'
import { PRIMARY, startFakeCloud } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { directEnv, scratchDir } from './fixtures/pcr.js'

// The `pcr` executable for real: the built bin package.json names, and the
// entry's signal handling in a process of its own.

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

const start = (args: string[], env: NodeJS.ProcessEnv) => spawnNode(args, { cwd: scratchDir(), env })

t.test('the built bin: a node script with a shebang that runs the CLI', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-bin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')])
  cpSync(join(root, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const bin = join(dir, pkg.bin.pcr)
  t.equal(readFileSync(bin, 'utf8').split('\n')[0], '#!/usr/bin/env node')

  const cloud = await startFakeCloud(t)
  const status = start([bin, 'status', '--json'], untracedEnv(directEnv(cloud)))
  t.equal(await status.exited, 0, status.stderr())
  t.equal(JSON.parse(status.stdout()).active_cluster_id, PRIMARY)
  const usage = start([bin, 'nonsense'], untracedEnv())
  t.equal(await usage.exited, 2)
  t.equal(usage.stderr(), "pcr: unknown command 'nonsense'\n")
})

t.test('the entry: a first signal stops the verb, a second one the process', async (t) => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
  const cloud = await startFakeCloud(t)
  // The test runner's own loader, so that the entry's coverage counts.
  const monitor = start([...runnerExecArgv(), main, 'monitor'], { ...process.env, ...directEnv(cloud) })
  await monitor.waitForOutput(/verdict_changed/)
  monitor.child.kill('SIGINT')
  t.equal(await monitor.exited, 0, monitor.stderr())
  t.match(monitor.stdout(), /monitor_started/)

  await cloud.control('POST', '/faults', { operation: 'listStreams', kind: 'hang' })
  const stuck = start([...runnerExecArgv(), main, 'status'], { ...process.env, ...directEnv(cloud, { HEALTH_CHECK_TIMEOUT: '60' }) })
  // Once it asks the API, the entry is running and handles signals.
  await cloud.control('DELETE', '/requests')
  await waitFor('status asking the API', async () => (await cloud.requests()).some((r) => r.operation === 'listStreams'))
  stuck.child.kill('SIGTERM')
  // Staying up shows only over time: a process the signal ended would have gone within 100 ms.
  await sleep(100)
  t.equal(stuck.child.exitCode, null, 'status does not stop on a signal by itself')
  stuck.child.kill('SIGTERM')
  t.equal(await stuck.exited, 130)
})
