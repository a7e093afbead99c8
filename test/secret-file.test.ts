import t, { type Test } from 'tap'
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_API_KEY } from '../src/emulator/seed.js'
import { ADMIN_TOKEN, startFakeCloud, startService, type Service } from '../tools/stack.js'

// Secrets mounted as files and rotated in place, as a Kubernetes Secret is: the
// sidecar uses the new value without a restart and never shows either one.

const rotated = 'CCDB1_rotated_key_0123456789abcdef'
const poll = { secretPollMs: 20 }

// The service with its API key read from a file instead of the variable.
async function fromKeyFile(t: Test, env: Record<string, string> = {}) {
  const dir = t.testdir({ 'api-key': `${DEFAULT_API_KEY}\n` })
  const file = join(dir, 'api-key')
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { COCKROACH_API_SECRET_KEY: '', COCKROACH_API_SECRET_KEY_FILE: file, ...env }, poll)
  await svc.fastify.engine.nextCheck()
  return { file, cloud, svc }
}

async function shown(svc: Service): Promise<string> {
  const metrics = (await svc.get('/metrics')).body as string
  return [svc.lines.join('\n'), JSON.stringify(svc.events()), metrics].join('\n')
}

t.test('a Cloud API key rotated in its file is used from the next request on, without a restart', async (t) => {
  const { file, cloud, svc } = await fromKeyFile(t)
  // The operator's rotation: a new key, the file updated, the old key revoked.
  await cloud.control('POST', '/keys', { key: rotated })
  writeFileSync(file, `${rotated}\n`)
  const reloaded = await svc.waitForEvent('secret_reloaded')
  t.match(reloaded, { severity: 'info', message: `the Cloud API key changed in ${file}; the next requests use it`, data: { secret: 'api_key', file } })
  await cloud.control('POST', '/keys/revoke', { key: DEFAULT_API_KEY })
  await cloud.control('DELETE', '/requests')
  await svc.fastify.engine.nextCheck()
  const after = await cloud.requests()
  t.ok(after.length > 0, `${after.length} requests since the old key was revoked`)
  t.same([...new Set(after.map((r) => r.status))], [200], 'every one accepted: the new key was sent')
  t.notOk(svc.events().some((e) => e.type === 'secret_rejected'))

  const everything = await shown(svc)
  t.match(everything, /pcr_secret_reloads_total\{secret="api_key"\} 1\n/)
  t.notOk(everything.includes(rotated), 'the new key appears in no log line, event or metric')
  t.notOk(everything.includes(DEFAULT_API_KEY), 'nor the old one')
})

t.test('a key the API refuses after a change is one event that names the file', async (t) => {
  const { file, svc } = await fromKeyFile(t)
  writeFileSync(file, 'CCDB1_a_key_the_api_never_issued')
  await svc.waitForEvent('secret_reloaded')
  const rejected = await svc.waitForEvent('secret_rejected')
  t.equal(rejected.severity, 'error')
  t.match(rejected.message, `the Cloud API refused the key read from ${file} at `)
  await svc.fastify.engine.nextCheck()
  t.equal(svc.events().filter((e) => e.type === 'secret_rejected').length, 1, 'once per change, not once per request')
  t.notOk((await shown(svc)).includes('CCDB1_a_key_the_api_never_issued'))
})

t.test('a file caught empty keeps the key in force', async (t) => {
  const { file, cloud, svc } = await fromKeyFile(t)
  writeFileSync(file, '')
  await cloud.control('DELETE', '/requests')
  await svc.fastify.engine.nextCheck()
  await svc.fastify.engine.nextCheck()
  t.same([...new Set((await cloud.requests()).map((r) => r.status))], [200])
  t.notOk(svc.events().some((e) => e.type === 'secret_reloaded'))
})

t.test('an admin token rotated in its file: the new one is accepted, the old one refused', async (t) => {
  const dir = t.testdir({ 'admin-token': `${ADMIN_TOKEN}\n` })
  const file = join(dir, 'admin-token')
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { ADMIN_TOKEN: '', ADMIN_TOKEN_FILE: file }, poll)
  const pause = (token: string) => svc.post('/admin/pause', undefined, { authorization: `Bearer ${token}` })
  t.equal((await pause(ADMIN_TOKEN)).status, 200)
  const next = 'admin-token-after-rotation-5678'
  writeFileSync(file, `${next}\n`)
  t.match(await svc.waitForEvent('secret_reloaded'), { data: { secret: 'admin_token', file } })
  t.equal((await pause(ADMIN_TOKEN)).status, 401, 'the old token no longer works')
  t.equal((await pause(next)).status, 200, 'the new one does')
  t.notOk((await shown(svc)).includes(next))
})

t.test("a Kubernetes Secret's rotation: the ..data symlink swapped to a new folder", async (t) => {
  // The layout the kubelet writes: key -> ..data/key, ..data -> ..<timestamp>/.
  const dir = t.testdir({ '..2026_12_06_1': { 'api-key': `${DEFAULT_API_KEY}\n` } })
  symlinkSync('..2026_12_06_1', join(dir, '..data'))
  symlinkSync(join('..data', 'api-key'), join(dir, 'api-key'))
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, { COCKROACH_API_SECRET_KEY: '', COCKROACH_API_SECRET_KEY_FILE: join(dir, 'api-key') }, poll)
  await svc.fastify.engine.nextCheck()
  await cloud.control('POST', '/keys', { key: rotated })
  mkdirSync(join(dir, '..2026_12_06_2'))
  writeFileSync(join(dir, '..2026_12_06_2', 'api-key'), `${rotated}\n`)
  symlinkSync('..2026_12_06_2', join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
  await svc.waitForEvent('secret_reloaded')
  await cloud.control('POST', '/keys/revoke', { key: DEFAULT_API_KEY })
  await cloud.control('DELETE', '/requests')
  await svc.fastify.engine.nextCheck()
  t.same([...new Set((await cloud.requests()).map((r) => r.status))], [200], 'the new key was sent')
})
