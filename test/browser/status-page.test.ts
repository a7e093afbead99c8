/// <reference lib="dom" />
// The DOM types: the functions handed to page.evaluate and waitForFunction run in the browser.
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { maxStreams } from '../../src/routes/events-stream.js'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'
import { roleOf, startFleet } from '../../tools/fleet.js'
import { waitFor } from '../../tools/wait-for.js'
import { launchBrowser, openStatusPage } from '../../tools/browser.js'
import { openStream } from '../helpers/sse.js'

// The status page in a real browser against the service and the emulator. The
// timeline is slowed down just enough that each phase holds for a few pushes:
// checks every 0.25 s, 3 failures, a 1.5 s delay, a failover of 1.5 s.
const timeline = { HEALTH_CHECK_INTERVAL: '0.25', HEALTH_CHECK_TIMEOUT: '1', FAILURE_THRESHOLD: '3', FAILOVER_DELAY: '1.5' }
// The README's picture is replaced only when asked for (UPDATE_README_SCREENSHOT=1), so a test
// run never changes a committed file.
const readmeScreenshot = fileURLToPath(new URL('../../docs/status-page.png', import.meta.url))
const updateReadme = process.env.UPDATE_README_SCREENSHOT === '1'

const browser = await launchBrowser()
t.teardown(() => browser.close())

t.test('an outage of the primary, live on the page: suspect, delay, failing over, completed, without a reload', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 1.5 } })
  const svc = await startService(t, cloud, timeline)
  await svc.fastify.engine.nextCheck()
  const status = await openStatusPage(browser, svc.url)
  const { page } = status
  t.teardown(() => page.close())

  await page.locator('#phase[data-phase="normal"]').waitFor()
  await page.locator('#connection[data-mode="live"]').waitFor()
  t.equal(await page.locator('#active-id').textContent(), PRIMARY, 'the primary is active')
  t.equal(await page.locator('#active-name').textContent(), 'pcr-primary')
  t.match(await page.locator('#active-host').textContent(), /\S/, 'with its SQL host')
  t.equal(await page.locator(`[data-cluster-id="${PRIMARY}"]`).getAttribute('data-active'), 'true')
  t.match(await page.locator(`[data-cluster-id="${STANDBY}"]`).textContent(), /standby.*CREATED.*3 \/ 3 live.*healthy/s, 'role, state, nodes and verdict of the standby')
  t.equal(await page.locator('#stream-status').textContent(), 'REPLICATING')
  await page.waitForFunction(() => document.querySelectorAll('#lag-chart polyline').length > 0)
  t.match(await page.locator('#lag-caption').textContent(), /Replication lag over the last 1 min: now \d+\.\d s/, 'the chart says what it shows')
  const before = await page.locator('#timeline li').count()
  t.ok(before > 0, 'the timeline has the events so far')
  await status.screenshot('1-normal')
  // Anything the page keeps on window is lost on a reload: this marks the page.
  await page.evaluate(() => Object.assign(window, { notReloaded: true }))

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const shown: Record<string, string> = {}
  for (const [n, phase] of ['suspect', 'delay', 'failing_over', 'completed'].entries()) {
    await status.reached(phase)
    shown[phase] = (await page.locator('#phase').textContent()) ?? ''
    await status.screenshot(`${n + 2}-${phase.replace('_', '-')}`)
  }
  t.same(await status.phases(), ['starting', 'normal', 'suspect', 'delay', 'failing_over', 'completed'], 'each phase in turn, none skipped')
  t.match(shown.suspect, /Suspect: [12] of 3/)
  t.match(shown.delay, /Waiting the delay.*double-check in \d+ s/s)
  t.match(shown.failing_over, /Failing over.*\d+ s elapsed/s)
  await page.locator('#phase[data-phase="completed"]').waitFor()
  await page.waitForFunction((id) => document.getElementById('active-id')?.textContent === id, STANDBY)
  t.match(await page.locator('#phase').textContent(), /Failover completed.*pcr-standby is active/s)
  t.equal(await page.locator('#active-name').textContent(), 'pcr-standby', 'the standby is active')
  t.equal(await page.locator(`[data-cluster-id="${STANDBY}"]`).getAttribute('data-active'), 'true')
  t.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was never reloaded')

  await page.locator('#timeline li[data-type="failover_completed"]').waitFor()
  const ids = (await page.locator('#timeline li').evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-event-id')))))
  t.ok(ids.length > before, `the timeline grew (${before} → ${ids.length})`)
  t.same(ids, [...ids].sort((a, b) => b - a), 'newest first')
  const types = await page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-type')))
  for (const type of ['failure_counted', 'threshold_reached', 'failover_confirmed', 'failover_patched', 'failover_completed']) {
    t.ok(types.includes(type), `${type} is on the timeline`)
  }
  t.match(await page.locator('#timeline li[data-type="threshold_reached"]').textContent(), /\d\d:\d\d:\d\d.*threshold_reached/s, 'with its time')
  t.same(status.problems, [], 'no console error, no CSP violation')
  await status.screenshot('6-completed-timeline')
  if (updateReadme) await page.screenshot({ path: readmeScreenshot, fullPage: false })
})

t.test('at phone width, everything is readable and nothing is said by colour alone', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, timeline)
  const status = await openStatusPage(browser, svc.url, { width: 390, height: 844 })
  const { page } = status
  t.teardown(() => page.close())
  await page.locator('#phase[data-phase="normal"]').waitFor()
  await page.locator('#timeline li').first().waitFor()
  const layout = await page.evaluate(() => {
    const cards = [...document.querySelectorAll('.cluster')].map((c) => c.getBoundingClientRect())
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, stacked: cards.length === 2 && (cards[1] as DOMRect).top >= (cards[0] as DOMRect).bottom }
  })
  t.equal(layout.overflow, 0, 'no horizontal scrolling')
  t.ok(layout.stacked, 'the clusters stack')
  t.equal(await page.locator('h1').count(), 1)
  t.equal(await page.locator('main').count(), 1)
  t.equal(await page.locator('html').getAttribute('lang'), 'en')
  t.match(await page.locator('#phase-label').textContent(), /Normal/, 'the phase in words')
  t.match(await page.locator('#phase-icon').textContent(), /\S/, 'and a symbol')
  t.match(await page.locator(`[data-cluster-id="${PRIMARY}"]`).textContent(), /✓ healthy/, 'verdicts in words and symbols')
  // WCAG AA: at least 4.5:1 between each text and the background behind it.
  const contrasts = await page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number)
    const luminance = (c: string) => {
      const [r, g, b] = rgb(c).map((v) => {
        const s = v / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      })
      return 0.2126 * (r as number) + 0.7152 * (g as number) + 0.0722 * (b as number)
    }
    const background = (node: Element | null): string => {
      for (let n = node; n !== null; n = n.parentElement) {
        const bg = getComputedStyle(n).backgroundColor
        if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg
      }
      return 'rgb(255, 255, 255)'
    }
    const selectors = ['#phase-label', '#phase-detail', '#connection', '.facts dt', '.facts dd', '.verdict-healthy', '#timeline time', '#timeline .message', 'footer a', '#lag-caption']
    return selectors.map((selector) => {
      const node = document.querySelector(selector) as Element
      const [a, b] = [luminance(getComputedStyle(node).color), luminance(background(node))]
      return { selector, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) }
    })
  })
  for (const { selector, ratio } of contrasts) t.ok(ratio >= 4.5, `${selector}: contrast ${ratio.toFixed(1)}:1`)
  t.match(await page.locator('#lag-chart').getAttribute('aria-labelledby'), 'lag-caption', 'the chart has a text alternative')
  t.same(status.problems, [])
  await status.screenshot('phone')

  // Connected, but no check finishes any more: after 3 × (interval + timeout) the page says so.
  await svc.fastify.engine.stop()
  await page.locator('#stale').waitFor({ state: 'visible' })
  t.equal(await page.locator('#connection').getAttribute('data-mode'), 'live', 'while the stream is still up')
})

t.test('paused, and blocked with the reason', async (t) => {
  const cloud = await startFakeCloud(t)
  // 2 s of replication lag against a 0.5 s limit: the failover is refused.
  const svc = await startService(t, cloud, { ...timeline, MAX_DATA_LOSS_SECONDS: '0.5' })
  const status = await openStatusPage(browser, svc.url)
  const { page } = status
  t.teardown(() => page.close())
  await page.locator('#phase[data-phase="normal"]').waitFor()
  svc.fastify.engine.pause('status page test')
  await page.locator('#phase[data-phase="paused"]').waitFor()
  t.match(await page.locator('#phase').textContent(), /Paused.*automatic failover paused/s)
  await page.locator('#timeline li[data-type="paused"]').waitFor()
  svc.fastify.engine.resume('status page test')
  await page.locator('#phase[data-phase="normal"]').waitFor()

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await page.locator('#phase[data-phase="blocked"]').waitFor({ timeout: 20_000 })
  t.match(await page.locator('#phase').textContent(), /Blocked.*data loss/is, 'with the reason')
  await status.screenshot('blocked')
  t.same(status.problems, [])
})

t.test('a switchover fencing the primary and PgBouncer holding its alias are shown', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, timeline)
  const status = await openStatusPage(browser, svc.url)
  const { page } = status
  t.teardown(() => page.close())
  await page.locator('#phase[data-phase="normal"]').waitFor()
  const since = new Date().toISOString()
  const reason = `switchover op-1: writes fenced on ${PRIMARY}`
  svc.fastify.engine.annotate({
    fence: { clusterId: PRIMARY, operationId: 'op-1', since },
    pooler: { database: 'app', state: 'paused', reason, since }
  })
  await page.locator('#phase[data-phase="fenced"]').waitFor()
  t.match(await page.locator('#phase').textContent(), /Switching over.*writes fenced on .* the standby takes over once it has replicated up to the fence/s)
  t.equal(await page.locator('#pgbouncer').textContent(), `PgBouncer holds app since ${since} (${reason})`)
  svc.fastify.engine.annotate({ fence: null, pooler: { database: 'app', state: 'serving', reason: null, since: null } })
  await page.locator('#phase[data-phase="normal"]').waitFor()
  await page.locator('#pgbouncer[data-state="serving"]').waitFor()
  t.equal(await page.locator('#pgbouncer').textContent(), 'PgBouncer serves app')
  t.same(status.problems, [])
})

t.test('with READ_TOKEN the browser asks once, and the page, its stream and its polls all go through', async (t) => {
  const cloud = await startFakeCloud(t)
  const READ_TOKEN = 'read-token-for-the-browser-0123'
  const svc = await startService(t, cloud, { ...timeline, READ_TOKEN })
  const status = await openStatusPage(browser, svc.url, undefined, { username: 'operator', password: READ_TOKEN })
  const { page } = status
  t.teardown(() => page.close())
  await page.locator('#phase[data-phase="normal"]').waitFor()
  svc.fastify.engine.pause('status page test')
  await page.locator('#phase[data-phase="paused"]').waitFor()
  await page.locator('#timeline li[data-type="paused"]').waitFor()
  t.same(status.problems, [], 'no request of the page was refused')
})

t.test('without the stream the page polls, and it says when its data is stale', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, timeline)
  // Every stream slot taken: the page's EventSource is refused with 503.
  const streams = await Promise.all(Array.from({ length: maxStreams }, () => openStream(svc.url)))
  t.teardown(() => streams.forEach((s) => s.close()))
  const status = await openStatusPage(browser, svc.url)
  const { page } = status
  t.teardown(() => page.close())
  await page.locator('#connection[data-mode="polling"]').waitFor()
  await page.locator('#phase[data-phase="normal"]').waitFor()
  t.equal(await page.locator('#active-id').textContent(), PRIMARY, 'the data comes from polling')
  await page.locator('#timeline li').first().waitFor()
  t.equal(await page.locator('#stale').isHidden(), true, 'fresh')
  await status.screenshot('polling')

  await svc.close()
  await page.locator('#connection[data-mode="offline"]').waitFor()
  await page.locator('#stale').waitFor({ state: 'visible' })
  t.match(await page.locator('#stale').textContent(), /Stale: this data may be out of date \(last check \d\d:\d\d:\d\d/)
  t.equal(await page.locator('body').getAttribute('data-stale'), 'true')
  await status.screenshot('stale')
  t.same(
    status.problems.filter((p) => !p.includes('Failed to load resource') && !p.includes('ERR_CONNECTION_REFUSED')),
    [],
    'only the failed requests to the stopped service'
  )
})

t.test('in a fleet, the page says which sidecar decides', async (t) => {
  const fleet = await startFleet(t)
  const a = await fleet.start('sidecar-a')
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader')
  const b = await fleet.start('sidecar-b')
  await waitFor('sidecar-b follows', () => roleOf(b) === 'follower')
  for (const [svc, said] of [
    [a, 'this sidecar leads the fleet'],
    [b, 'sidecar sidecar-a leads the fleet; this one (sidecar-b) follows']
  ] as const) {
    const status = await openStatusPage(browser, svc.url)
    t.teardown(() => status.page.close())
    await status.page.locator('#fleet').waitFor()
    t.equal(await status.page.locator('#fleet').textContent(), said)
    t.same(status.problems, [])
  }
})
