import t from 'tap'
import type { EngineEvent } from '../../src/engine/events.js'
import { PRIMARY, startFakeCloud, startService } from '../../tools/stack.js'

// Consecutive failures mean checks in a row. After the API was unreadable for longer
// than 2 × interval + timeout, the failures counted before the gap are stale evidence:
// the count starts again, instead of the first check after the gap reaching the threshold.

t.test('failures counted before a long unreadable gap expire', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {
    HEALTH_CHECK_INTERVAL: '0.1',
    HEALTH_CHECK_TIMEOUT: '0.2',
    FAILURE_THRESHOLD: '3'
  })
  await svc.fastify.engine.nextCheck()
  // The gap (1 s, over twice 2 × 0.1 + 0.2) begins right at the second failure: the
  // fault goes straight into the emulator, before the next check can start.
  let gapFrom: EngineEvent | undefined
  const firstAfterGap = new Promise<EngineEvent>((resolve) => {
    const off = svc.fastify.engine.onEvent((e) => {
      if (e.type !== 'failure_counted' && e.type !== 'threshold_reached') return
      if (gapFrom !== undefined) {
        off()
        resolve(e)
      } else if (e.data.failures === 2) {
        gapFrom = e
        cloud.emulator.faults.add({ operation: '*', kind: 'status', status: 503, duration_seconds: 1 })
      }
    })
  })
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const after = await firstAfterGap

  const gap = Date.parse(after.at) - Date.parse(gapFrom!.at)
  t.ok(gap >= 1000, `the API was unreadable in between (${gap} ms)`)
  t.equal(after.type, 'failure_counted', `no threshold at the first check after the gap (${after.message})`)
  t.equal(after.data.failures, 1, 'the count started again')
  t.ok(svc.events().some((e) => e.type === 'failure_count_expired' && e.id > gapFrom!.id), 'failure_count_expired was said')
})
