import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { PRIMARY, admin, startFakeCloud, startService } from '../../tools/stack.js'

// An operator's fresh read (engine.refresh(), behind the admin routes and the CLI) shows
// the state now; it is not one of the monitor's checks. Reads every 20 ms must not reach
// FAILURE_THRESHOLD faster than the checks a HEALTH_CHECK_INTERVAL apart would.

t.test('operator reads do not speed up the failure count', async (t) => {
  const interval = 300
  const delay = 200
  const threshold = 3
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {
    HEALTH_CHECK_INTERVAL: String(interval / 1000),
    HEALTH_CHECK_TIMEOUT: '0.25',
    FAILURE_THRESHOLD: String(threshold),
    FAILOVER_DELAY: String(delay / 1000)
  })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')

  // An impatient operator, until the failover is asked for.
  let done = false
  const reads = (async () => {
    for (let i = 0; !done; i++) {
      // Their answers do not matter here, only that they were asked.
      if (i % 2 === 0) await svc.fastify.engine.refresh().catch(() => undefined)
      else await svc.post('/admin/failback', { action: 'status' }, admin)
      await sleep(20)
    }
  })()
  const requested = await svc.waitForEvent('failover_requested', undefined, 15_000).finally(() => (done = true))
  await reads

  const events = svc.events().reverse()
  const counted = events.filter((e) => (e.type === 'failure_counted' || e.type === 'threshold_reached') && e.id < requested.id)
  const first = counted[0]!
  const elapsed = Date.parse(requested.at) - Date.parse(first.at)
  const minimum = (threshold - 1) * interval + delay
  t.ok(elapsed >= minimum, `first failure → failover requested: ${elapsed} ms, at least (threshold − 1) × interval + delay = ${minimum} ms`)
  const gaps = counted.slice(1).map((e, i) => Date.parse(e.at) - Date.parse(counted[i]!.at))
  t.ok(gaps.every((gap) => gap >= interval - 10), `counted checks at least an interval apart (gaps ${gaps.join(', ')} ms)`)
})
