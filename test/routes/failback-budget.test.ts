import t from 'tap'
import { admin, startFakeCloud, startService, type Service } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { directEnv, pcr, remote } from '../cli/fixtures/pcr.js'

// The wait of a full failback for its reverse stream (STARTING, an initial scan that
// re-seeds the original primary in full, catching up) is FAILBACK_TIMEOUT unless a
// request names its own: the API and the CLI send none of their own by default.

async function operation(svc: Service, id: string): Promise<{ status: string; error: string | null; phase: string; progress: string }> {
  for (;;) {
    const res = await svc.get(`/admin/operations/${id}`, admin)
    if (res.body.status !== 'running') return res.body
    await svc.fastify.engine.nextCheck()
  }
}

t.test('POST /admin/failback full without timeout_seconds waits FAILBACK_TIMEOUT', { timeout: 30_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.1 } })
  const svc = await startService(t, cloud, { FAILBACK_TIMEOUT: '0.3', FAILBACK_PROGRESS_INTERVAL: '0.1' })
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  await svc.waitForEvent('failover_completed')
  // A lag limit no stream meets: the operation ends at the deadline.
  const res = await svc.post('/admin/failback', { action: 'full', max_lag_seconds: 0.001 }, admin)
  t.equal(res.status, 202)
  const done = await operation(svc, res.body.operation.id)
  t.match(done, { status: 'failed', error: /did not reach REPLICATING with lag under 0.001 s within 0.3 s/ })
  const progress = svc.events().filter((e) => e.type === 'operation_progress')
  t.ok(progress.length >= 1, 'progress was reported while waiting')
})

t.test('pcr failback full without --timeout waits FAILBACK_TIMEOUT', { timeout: 30_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.1 } })
  const env = directEnv(cloud, { FAILBACK_TIMEOUT: '0.3' })
  t.equal((await pcr(['failover', '--yes'], { env })).code, 0)
  const run = await pcr(['failback', 'full', '--yes', '--max-lag', '0.001'], { env })
  t.equal(run.code, 1, run.stdout + run.stderr)
  t.match(run.stderr, /failback failed: the failback stream did not reach REPLICATING with lag under 0\.001 s within 0\.3 s/)
})

t.test('remote mode: without --timeout the CLI follows as long as FAILBACK_TIMEOUT from its environment says, the sidecar applies its own', { timeout: 30_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.1 } })
  const svc = await startService(t, cloud, { FAILBACK_TIMEOUT: '0.3' })
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  await svc.waitForEvent('failover_completed')
  const run = await pcr([...remote(svc), 'failback', 'full', '--yes', '--max-lag', '0.001'], {
    env: { FAILBACK_TIMEOUT: '0.3', FAILOVER_TIMEOUT: '5', ACTIVATION_TIMEOUT: '1' }
  })
  t.equal(run.code, 1, run.stdout + run.stderr)
  t.match(run.stderr, /failback failed: the failback stream did not reach REPLICATING with lag under 0\.001 s within 0\.3 s/)
})

t.test('pcr setup --wait waits through the initial scan, and stops when the stream will not replicate', { timeout: 30_000 }, async (t) => {
  const cloud = await startFakeCloud(t, { stream: 'none', timings: { startingSeconds: 0.05, initialScanSeconds: 600 } })
  const env = directEnv(cloud)
  const running = pcr(['setup', '--yes', '--wait'], { env })
  // Canceled during its scan: a stream that will never protect the primary.
  const stream = await waitFor('the new stream scanning', () => {
    const created = cloud.emulator.state.snapshot().streams[0] as { id: string; status: string } | undefined
    return created?.status === 'REPLICATING' && created
  })
  cloud.emulator.state.patchStream(stream.id, { status: 'CANCELED' })
  const run = await running
  t.equal(run.code, 1, run.stdout + run.stderr)
  t.match(run.stderr, /^pcr: stream \S+ is CANCELED: it will not replicate$/m)
})
