import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { untracedEnv } from '../../tools/child-env.js'
import { waitFor } from '../../tools/wait-for.js'

// `npm run chaos` interrupted mid-schedule stops everything it started (the
// service, PostgreSQL, the emulator), removes its temp dirs, prints the partial
// summary and exits non-zero. The runner gets a TMPDIR of its own, which every
// process it starts inherits: afterwards no process may still have it in its
// environment, command line or working directory, and it must be empty.

t.setTimeout(120_000)

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const script = fileURLToPath(new URL('../../scripts/chaos.ts', import.meta.url))

/** Processes that have `dir` in their environment, command line or working directory. */
function processesUsing(dir: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1')
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1')
      let cwd = ''
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`)
      } catch {
        // A zombie has none.
      }
      if (environ.includes(`TMPDIR=${dir}\0`) || cmdline.includes(dir) || cwd.startsWith(dir)) found.push(Number(entry))
    } catch {
      // Gone meanwhile.
    }
  }
  return found
}

for (const { signal, group, code } of [
  { signal: 'SIGINT' as const, group: true, code: 130 },
  { signal: 'SIGTERM' as const, group: false, code: 143 }
]) {
  t.test(`${signal} to the ${group ? 'process group (Ctrl-C)' : 'runner alone'} stops everything`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pcr-chaos-interrupt-'))
    // PostgreSQL runs as its own user and must reach its data under it.
    chmodSync(dir, 0o755)
    t.teardown(() => {
      // Only if the runner failed to: the processes this test started, found by their TMPDIR.
      for (const pid of processesUsing(dir)) process.kill(pid, 'SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    })
    const child = spawn(process.execPath, ['--import', tsx, script, '--runs', '50', '--seed', '7'], {
      env: untracedEnv({ TMPDIR: dir }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))

    // Mid-schedule: the first one is playing and its service and PostgreSQL run.
    const gone = new AbortController()
    void exited.then(() => gone.abort(new Error('the runner exited')))
    const started = () => processesUsing(dir).filter((pid) => pid !== child.pid)
    const playing = () => out.includes('schedule 1: playing') && started().length >= 2
    await waitFor('a schedule playing, its processes started', playing, { timeoutMs: 60_000, intervalMs: 100, signal: gone.signal }).catch((e: Error) => {
      throw new Error(`${e.message}:\n${out}\n${err}`)
    })
    const before = started()
    t.ok(before.length >= 2, `the runner started ${before.length} processes (service, PostgreSQL)`)

    const sent = Date.now()
    process.kill(group ? -child.pid! : child.pid!, signal)
    const timer = new AbortController()
    const result = await Promise.race([exited, sleep(20_000, undefined, { signal: timer.signal }).catch(() => undefined)])
    timer.abort()
    t.ok(result !== undefined, `exited ${Date.now() - sent} ms after ${signal}`)
    t.same(result, { code, signal: null }, 'non-zero, by its own exit')
    t.match(out, `chaos: ${signal}, stopping`)
    t.match(out, /chaos: killed service processes \[[\d, ]*\], removed \d+ service dirs, stopped PostgreSQL and the emulator/)
    const summary = /^summary: (.*)$/m.exec(out)
    t.ok(summary, 'the partial summary is printed')
    t.match(JSON.parse(summary?.[1] ?? '{}'), { seed: 7, interrupted: signal, schedules: Number })

    // Whatever a SIGKILL or SIGQUIT leaves is reaped at once; allow a moment. What is left then is asserted below.
    await waitFor('every process it started gone', () => processesUsing(dir).length === 0, { timeoutMs: 2000, intervalMs: 100 }).catch(() => undefined)
    t.same(processesUsing(dir), [], 'no process it started is left')
    // tsx keeps its compile cache in the temp dir (tsx-<uid>), as it would in /tmp.
    t.same(readdirSync(dir).filter((name) => !name.startsWith('tsx-')), [], 'its temp dirs are removed')
  })
}
