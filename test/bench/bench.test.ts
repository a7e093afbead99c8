import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { CloudBudget, Results, SwitchWrites } from '../../bench/results-schema.js'
import { DEFAULT_PRIMARY_ID } from '../../src/emulator/seed.js'
import { untracedEnv } from '../../tools/child-env.js'

// The benchmark scripts keep working: every benchmark at tiny sizes, from the
// sources, checked for the shape of what it writes. Speed is not asserted: this
// machine is shared with the rest of the suite.

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-bench-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// A script of bench/ from the sources; its exit code and everything it printed.
async function runBench(script: string, args: string[]): Promise<{ code: unknown; output: string }> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const path = fileURLToPath(new URL(`../../bench/${script}`, import.meta.url))
  const child = spawn(process.execPath, ['--import', tsx, path, ...args], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: untracedEnv()
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  return { code: await new Promise((resolve) => child.once('exit', resolve)), output }
}

t.test('npm run bench -- --smoke runs every benchmark and writes the results, the table and the chart', async (t) => {
  const out = tempDir(t)
  const { code, output } = await runBench('run.ts', ['--smoke', '--entry', 'src', '--out', out])
  t.equal(code, 0, output)

  const results = Results.parse(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')))
  t.same(
    results.hotPath?.routes.map((r) => r.route),
    ['/connection', '/health', '/ready', `/clusters/${DEFAULT_PRIMARY_ID}/active`, '/active']
  )
  t.equal(results.failover?.outages.length, 2)
  t.ok(results.profile !== undefined && results.metrics !== undefined && results.memory !== undefined && results.startup !== undefined && results.cloudCost !== undefined)

  const table = readFileSync(join(out, 'results.md'), 'utf8')
  for (const heading of ['1. Hot path', '1b. Where the time of a GET /connection request goes', '2. /metrics scrape', '3. Failover timeline', '4. Memory', '5. Startup', '6. Cloud API cost']) {
    t.match(table, `### ${heading}`)
  }
  t.match(table, '![Failover timeline](timeline.svg)')
  const svg = readFileSync(join(out, 'timeline.svg'), 'utf8')
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\n$/)
  t.equal(svg.match(/>outage \d+</g)?.length, 2, 'one bar per outage')
})

t.test('npm run bench:cloud-budget at tiny sizes writes its result and prints its tables', async (t) => {
  const file = join(tempDir(t), 'cloud-budget.json')
  const { code, output } = await runBench('cloud-budget.ts', ['--sidecars', '1,2', '--seconds', '2', '--interval', '0.5', '--out', file])
  t.equal(code, 0, output)

  const result = CloudBudget.parse(JSON.parse(readFileSync(file, 'utf8')))
  t.same(
    result.steady.map((s) => `${s.sidecars} ${s.coordination}`),
    ['1 local', '2 local', '1 etcd', '2 etcd']
  )
  t.equal(result.busiest.limitPerSecond, 10)
  t.match(output, '| manual failover |')
  t.match(output, '| full failback |')
})

t.test('a bad flag stops the run before anything starts', async (t) => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const run = fileURLToPath(new URL('../../bench/run.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', tsx, run, '--only', 'everything'], { stdio: ['ignore', 'pipe', 'pipe'], env: untracedEnv() })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  t.equal(await new Promise((resolve) => child.once('exit', resolve)), 2)
  t.match(stderr, 'bench: unknown benchmark everything')
})

t.test('npm run bench:writes runs a scenario and writes its result', async (t) => {
  const file = join(tempDir(t), 'switch-writes.json')
  const { code, output } = await runBench('switch-writes.ts', ['--rounds', '1', '--only', 'switchover', '--out', file])
  t.equal(code, 0, output)
  const result = SwitchWrites.parse(JSON.parse(readFileSync(file, 'utf8')))
  t.same(Object.keys(result.scenarios), ['planned switchover'])
  t.same(Object.keys(result.scenarios['planned switchover']?.stepsMsMedian ?? {}).slice(0, 3), ['fencing', 'waiting_for_replication', 'failing_over'])
  t.match(output, '| planned switchover |')
  const wrong = await runBench('switch-writes.ts', ['--only', 'everything'])
  t.equal(wrong.code, 2)
  t.match(wrong.output, 'bench:writes: unknown scenario everything')
})
