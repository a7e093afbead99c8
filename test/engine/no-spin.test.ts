import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { PRIMARY, startFakeCloud, startService } from '../../tools/stack.js'

// Once the delay has ended, a double-check that cannot read the API is inconclusive and
// the next check comes an interval later, as any other: the loop must not run checks
// back to back (hammering an API that is failing) nor repeat the event for each one.

t.test('an unreadable API after the delay does not make the checks spin', async (t) => {
  const interval = 100
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {
    HEALTH_CHECK_INTERVAL: String(interval / 1000),
    HEALTH_CHECK_TIMEOUT: '0.2',
    FAILURE_THRESHOLD: '3',
    FAILOVER_DELAY: '0.3'
  })
  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('threshold_reached')
  // Every read fails at once (401: not retried) from well before the delay ends.
  await cloud.control('POST', '/faults', { operation: '*', kind: 'status', status: 401 })
  await svc.waitForEvent('double_check_inconclusive')

  // Not spinning shows only over time: five intervals, in which checks run back to back would be hundreds.
  const before = { checks: svc.fastify.engine.snapshot().checks, at: Date.now() }
  await sleep(5 * interval)
  const grown = svc.fastify.engine.snapshot().checks - before.checks
  const window = Date.now() - before.at
  const allowed = window / interval + 2
  t.ok(grown <= allowed, `${grown} checks in ${window} ms, at most ${allowed.toFixed(1)}`)
  const said = svc.events().filter((e) => e.type === 'double_check_inconclusive').length
  t.equal(said, 1, `inconclusive said once for the episode (said ${said} times)`)
  t.equal(await cloud.patches(), 0)
})
