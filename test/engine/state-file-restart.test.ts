import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { PRIMARY, STANDBY, STREAM, admin, startFakeCloud, startService } from '../../tools/stack.js'

const credentials = { 'x-db-username': 'app', 'x-db-password': 'pw' }

function stateFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'pcr-state-')), 'state.json')
}

t.test('a restart while the Cloud API cannot be read serves the kept active cluster, marked stale', async (t) => {
  const cloud = await startFakeCloud(t)
  const file = stateFile()
  const first = await startService(t, cloud, { STATE_FILE: file })
  await first.fastify.engine.nextCheck()
  await first.fastify.engine.nextCheck()
  await first.close()
  t.match(JSON.parse(readFileSync(file, 'utf8')), { active: { clusterId: PRIMARY }, stream: { id: STREAM, status: 'REPLICATING' }, patch: null })

  await cloud.control('POST', '/faults', { operation: '*', kind: 'status', status: 503 })
  const second = await startService(t, cloud, { STATE_FILE: file })
  await second.fastify.engine.nextCheck()
  const connection = await second.get('/connection', credentials)
  t.equal(connection.status, 200, 'applications keep the database while the API is dark')
  t.equal(connection.body.cluster_id, PRIMARY)
  t.equal((await second.get('/ready')).status, 200)
  const clusters = await second.get('/clusters')
  t.ok(clusters.body.stale.age_seconds >= 0)
  t.equal((await second.get('/active')).body.stale.saved_at, clusters.body.stale.saved_at)
  t.ok(second.events().some((e) => e.type === 'state_restored'))

  // The first answer of the API replaces it.
  await cloud.control('DELETE', '/faults')
  await second.fastify.engine.nextCheck()
  t.equal((await second.get('/clusters')).body.stale, null)
})

t.test('without a state file the same restart cuts applications off', async (t) => {
  const cloud = await startFakeCloud(t)
  await cloud.control('POST', '/faults', { operation: '*', kind: 'status', status: 503 })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/connection', credentials)).status, 503)
})

t.test('a state file older than STATE_MAX_AGE is not served, but its PATCH record holds', async (t) => {
  const cloud = await startFakeCloud(t)
  const file = stateFile()
  const old = new Date(Date.now() - 7200_000).toISOString()
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      primaryClusterId: PRIMARY,
      standbyClusterId: STANDBY,
      savedAt: old,
      active: { clusterId: PRIMARY, sqlDns: 'primary.example', sqlPort: 26257 },
      watchedClusterId: PRIMARY,
      stream: { id: STREAM, status: 'REPLICATING', primaryClusterId: PRIMARY, standbyClusterId: STANDBY, createdAt: '2026-01-01T00:00:00Z' },
      patch: { streamId: STREAM, state: 'sending', at: old, retryAt: null }
    })
  )
  await cloud.control('POST', '/faults', { operation: '*', kind: 'status', status: 503 })
  const svc = await startService(t, cloud, { STATE_FILE: file, STATE_MAX_AGE: '3600' })
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.get('/connection', credentials)).status, 503, 'an hour-old record is not trusted')
  await cloud.control('DELETE', '/faults')
  await svc.fastify.engine.nextCheck()
  // A PATCH that was being sent when the process stopped may have taken effect: never sent again.
  const res = await svc.post('/admin/failover', {}, admin)
  t.equal(res.status, 409)
  t.equal(res.body.code, 'already_patched')
  t.equal(await cloud.patches(), 0)
})

t.test('a corrupt or foreign state file is reported and ignored', async (t) => {
  const cloud = await startFakeCloud(t)
  const file = stateFile()
  writeFileSync(file, '{ not json')
  const svc = await startService(t, cloud, { STATE_FILE: file })
  await svc.fastify.engine.nextCheck()
  const rejected = await svc.waitForEvent('state_file_rejected')
  t.match(rejected.message, /not JSON/)
  t.equal((await svc.get('/connection', credentials)).status, 200, 'started as it would without one')
  t.match(JSON.parse(readFileSync(file, 'utf8')), { active: { clusterId: PRIMARY } }, 'and written anew')
})

t.test('a state file that cannot be written is reported once, and the sidecar goes on', async (t) => {
  const cloud = await startFakeCloud(t)
  const blocker = stateFile()
  writeFileSync(blocker, 'a file where a directory should be')
  const svc = await startService(t, cloud, { STATE_FILE: join(blocker, 'state.json') })
  await svc.fastify.engine.nextCheck()
  await svc.fastify.engine.nextCheck()
  t.equal(svc.events().filter((e) => e.type === 'state_file_failed').length, 1)
  t.equal((await svc.get('/connection', credentials)).status, 200)
})
