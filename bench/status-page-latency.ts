/// <reference lib="dom" />
// The DOM types: the functions handed to page.evaluate and waitForFunction run in the browser.
import { parseArgs } from 'node:util'
import { launchBrowser, openStatusPage, type StatusPage } from '../tools/browser.js'
import { PRIMARY, startFakeCloud, startService, type Teardown } from '../tools/stack.js'
import { spread } from './stats.js'

// How long the status page takes to show a change of phase, in a real browser
// (Debian's chromium) against the service and the emulator, all on this machine
// (one clock for both ends). Two kinds of round:
//  - engine → DOM: the engine publishes a new phase, on an operator's action
//    (pause/resume) or at the end of a check (suspect, then normal again), until
//    the page shows it; this is the page's own delay.
//  - outage → DOM: the emulator's nodes go down (or up) until the page shows
//    suspect (or normal); this adds the wait for the next check.
//
//   node --import tsx bench/status-page-latency.ts [--rounds 10] [--interval 0.5]

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, interval: { type: 'string', default: '0.5' } } })
const rounds = Number(values.rounds)
const interval = Number(values.interval)

const cleanups: Array<() => unknown> = []
const t: Teardown = { teardown: (fn) => cleanups.push(fn) }

// When the page first showed this phase after `since` (both Date.now() on this machine).
async function shownAt(status: StatusPage, phase: string, since: number): Promise<number> {
  await status.page.waitForFunction(
    ([p, s]) => (window as unknown as { pcrPhases: Array<{ phase: string; at: number }> }).pcrPhases.some((seen) => seen.phase === p && seen.at >= (s as number)),
    [phase, since] as const,
    { timeout: 30_000 }
  )
  const times = await status.phaseTimes()
  return (times.find((seen) => seen.phase === phase && seen.at >= since) as { at: number }).at
}

function summary(label: string, samples: number[]): string {
  const { median, p95, max } = spread(samples)
  return `${label.padEnd(34)} median ${median.toFixed(0).padStart(5)} ms   p95 ${p95.toFixed(0).padStart(5)} ms   max ${max.toFixed(0).padStart(5)} ms   (${samples.length} samples)`
}

try {
  const cloud = await startFakeCloud(t)
  // A threshold no round reaches: the phase goes suspect and back, never further.
  const svc = await startService(t, cloud, { HEALTH_CHECK_INTERVAL: String(interval), HEALTH_CHECK_TIMEOUT: '1', FAILURE_THRESHOLD: '1000', LOG_LEVEL: 'warn' })
  const { engine } = svc.fastify
  await engine.nextCheck()
  const browser = await launchBrowser()
  cleanups.push(() => browser.close())
  const status = await openStatusPage(browser, svc.url)
  await status.page.locator('#connection[data-mode="live"]').waitFor()
  await status.page.locator('#phase[data-phase="normal"]').waitFor()

  const actionToDom: number[] = []
  const checkToDom: number[] = []
  const outageToDom: number[] = []
  // Resolves with the time the engine published a snapshot in this phase.
  const published = async (phase: string) => {
    for (;;) {
      const s = await engine.nextCheck()
      if (s.phase === phase) return Date.now()
    }
  }

  for (let round = 0; round < rounds; round++) {
    let since = Date.now()
    engine.pause('bench')
    actionToDom.push((await shownAt(status, 'paused', since)) - since)
    since = Date.now()
    engine.resume('bench')
    actionToDom.push((await shownAt(status, 'normal', since)) - since)

    for (const [nodes, phase] of [['NOT_READY', 'suspect'], ['LIVE', 'normal']] as const) {
      since = Date.now()
      const engineAt = published(phase)
      await cloud.setNodes(PRIMARY, nodes)
      const at = await shownAt(status, phase, since)
      checkToDom.push(at - (await engineAt))
      outageToDom.push(at - since)
    }
  }

  console.log(`status page latency: ${rounds} rounds, a check every ${interval} s, chromium headless, this machine`)
  console.log(summary('pause/resume → page shows it', actionToDom))
  console.log(summary('a check publishes → page shows it', checkToDom))
  console.log(summary('emulator change → page shows it', outageToDom))
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup()
}
