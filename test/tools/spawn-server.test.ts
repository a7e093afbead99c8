import t from 'tap'
import { existsSync } from 'node:fs'
import { spawnNode } from '../../tools/spawn-server.js'

// The process handle the server tests, the benchmarks and the chaos runner share,
// on small inline programs; src/server.ts itself is started by test/server.test.ts.

const env = { PATH: process.env.PATH ?? '' }
const node = (program: string, keep?: number) => spawnNode(['-e', program], { env, keep })

t.test('a line already printed or still to come, on stdout or stderr', async (t) => {
  const p = node(`console.log('early 1'); setTimeout(() => console.error('late 2'), 50); setTimeout(() => {}, 5000)`)
  t.teardown(() => p.stop())
  t.equal((await p.waitForOutput(/late (\d)/))[1], '2', 'to come, on stderr')
  t.equal((await p.waitForOutput(/early (\d)/))[1], '1', 'already printed, on stdout')
  t.equal(await p.stop(), null, 'SIGTERM ends it: no exit code')
  t.equal(p.child.signalCode, 'SIGTERM')
})

t.test('an exit without the line rejects at once, with what it printed', async (t) => {
  const p = node(`console.log('starting'); console.error('bad configuration'); process.exit(2)`)
  await t.rejects(p.waitForOutput(/listening/), { message: /^the process exited \(2\) before \/listening\/:\nstdout:\nstarting\n\nstderr:\nbad configuration\n$/ })
  t.equal(await p.exited, 2)
  await t.rejects(p.listening(), { message: /exited \(2\)/ }, 'asked after the exit too')
})

t.test('no line within the time given', async (t) => {
  const p = node(`setTimeout(() => {}, 5000)`)
  t.teardown(() => p.stop())
  await t.rejects(p.waitForOutput(/never/, 50), { message: /^no \/never\/ within 50 ms:/ })
})

t.test('keep holds the end of each stream', async (t) => {
  const p = node(`process.stdout.write('a'.repeat(100) + 'END')`, 10)
  t.equal(await p.exited, 0)
  t.equal(p.stdout(), 'aaaaaaaEND')
})

t.test('without a cwd it runs in an empty directory of its own, removed after the exit', async (t) => {
  const p = node(`console.log(process.cwd(), require('node:fs').readdirSync('.').length)`)
  t.equal(await p.exited, 0)
  const [dir, entries] = p.stdout().trim().split(' ')
  t.match(dir, /pcr-server-/)
  t.equal(entries, '0', 'no .env or anything else')
  t.notOk(existsSync(dir as string), 'removed')
})
