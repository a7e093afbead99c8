/// <reference lib="dom" />
// The DOM types: the functions handed to page.evaluate and waitForFunction run in the browser.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

// Debian's chromium (installed by .ci/run), driven by playwright-core: headless,
// no sandbox (CI runs as root), nothing fetched in the background.

export const chromiumPath = '/usr/bin/chromium'

// Screenshots of the tests; the directory is gitignored.
export const artifactDir = fileURLToPath(new URL('../test-artifacts/status-page/', import.meta.url))

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage']
  })
}

// Runs before the page's own script: a MutationObserver on the phase box, so no
// phase is missed however briefly it is shown. A string, not a function: the
// TypeScript loaders may add helpers to a function that the browser lacks.
const phaseRecorder = `
  const seen = []
  window.pcrPhases = seen
  document.addEventListener('DOMContentLoaded', () => {
    const box = document.getElementById('phase')
    const note = () => {
      if (seen.at(-1)?.phase !== box.dataset.phase) seen.push({ phase: box.dataset.phase, at: Date.now() })
    }
    note()
    new MutationObserver(note).observe(box, { attributes: true, attributeFilter: ['data-phase'] })
  })
`

export interface StatusPage {
  page: Page
  // Console errors and uncaught exceptions of the page (a CSP violation is one).
  problems: string[]
  // Every value the phase box has shown, in order, recorded by the page itself.
  phases(): Promise<string[]>
  // The same, each with the time (Date.now() in the page) it was shown.
  phaseTimes(): Promise<Array<{ phase: string; at: number }>>
  // Resolves once the phase box has shown this phase, even if it has moved on since.
  reached(phase: string, timeoutMs?: number): Promise<void>
  screenshot(name: string): Promise<string>
}

// credentials: what the browser answers a Basic prompt with (a sidecar with READ_TOKEN).
export async function openStatusPage(
  browser: Browser,
  url: string,
  viewport = { width: 1100, height: 900 },
  credentials?: { username: string; password: string }
): Promise<StatusPage> {
  const page = await browser.newPage({ viewport, ...(credentials && { httpCredentials: credentials }) })
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text())
  })
  page.on('pageerror', (err) => problems.push(err.message))
  await page.addInitScript(phaseRecorder)
  await page.goto(`${url}/`)
  mkdirSync(artifactDir, { recursive: true })
  const phaseTimes = () => page.evaluate(() => (window as unknown as { pcrPhases: Array<{ phase: string; at: number }> }).pcrPhases)
  return {
    page,
    problems,
    phaseTimes,
    phases: async () => (await phaseTimes()).map((p) => p.phase),
    async reached(phase, timeoutMs = 20_000) {
      await page.waitForFunction((p) => (window as unknown as { pcrPhases: Array<{ phase: string }> }).pcrPhases.some((seen) => seen.phase === p), phase, {
        timeout: timeoutMs
      })
    },
    async screenshot(name) {
      const path = `${artifactDir}${name}.png`
      await page.screenshot({ path, fullPage: true })
      return path
    }
  }
}
