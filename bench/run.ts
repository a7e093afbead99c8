import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchFailover } from './failover-timeline.js'
import { benchHotPath } from './hot-path.js'
import { profileHotPath } from './hot-path-profile.js'
import { benchMemory } from './memory.js'
import { checkEntry, root, type Entry } from './processes.js'
import { resultsMarkdown } from './results-markdown.js'
import { Results } from './results-schema.js'
import { presets, type Policy, type Preset, type Sizes } from './sizes.js'
import { benchStartup } from './startup.js'
import { timelineSvg } from './timeline-svg.js'

// npm run bench: every benchmark of bench/README.md in turn, then the results as
// JSON, a Markdown table and the failover chart in bench/results/ (and the table
// in bench/README.md). Progress goes to stderr, the table to stdout.

const usage = `usage: npm run bench -- [--smoke | --full] [--only hot-path,profile,failover,memory,startup] [--out DIR] [--entry dist|src]
  [--connections N] [--duration SECONDS] [--rounds N] [--outages N] [--interval SECONDS] [--threshold N] [--delay SECONDS]
  [--failover-seconds SECONDS] [--suspect-interval SECONDS] [--memory-requests N] [--monitor-cycles N] [--startup-runs N]`

const benchmarks = ['hot-path', 'profile', 'failover', 'memory', 'startup'] as const
const resultsDir = join(root, 'bench', 'results')
const readme = join(root, 'bench', 'README.md')

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${usage}\n`)
  process.exit(2)
}

const options = {
  smoke: { type: 'boolean', default: false },
  full: { type: 'boolean', default: false },
  only: { type: 'string' },
  out: { type: 'string' },
  entry: { type: 'string', default: 'dist' },
  connections: { type: 'string' },
  duration: { type: 'string' },
  rounds: { type: 'string' },
  outages: { type: 'string' },
  interval: { type: 'string' },
  threshold: { type: 'string' },
  delay: { type: 'string' },
  'failover-seconds': { type: 'string' },
  'suspect-interval': { type: 'string' },
  'memory-requests': { type: 'string' },
  'monitor-cycles': { type: 'string' },
  'startup-runs': { type: 'string' }
} as const

function readFlags() {
  try {
    return parseArgs({ options }).values
  } catch (error) {
    return fail((error as Error).message)
  }
}

const args = readFlags()

function positive(flag: string, integer: boolean): number | undefined {
  const raw = (args as Record<string, unknown>)[flag]
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!(value > 0) || (integer && !Number.isInteger(value))) fail(`--${flag} must be a positive ${integer ? 'integer' : 'number'}`)
  return value
}

if (args.smoke && args.full) fail('--smoke and --full exclude each other')
const preset: Preset = args.smoke ? 'smoke' : args.full ? 'full' : 'default'
const overrides: Partial<Sizes> = {
  connections: positive('connections', true),
  durationSeconds: positive('duration', false),
  rounds: positive('rounds', true),
  outages: positive('outages', true),
  memoryRequests: positive('memory-requests', true),
  monitorCycles: positive('monitor-cycles', true),
  startupRuns: positive('startup-runs', true)
}
const policyOverrides: Partial<Policy> = {
  intervalSeconds: positive('interval', false),
  threshold: positive('threshold', true),
  delaySeconds: positive('delay', false),
  failoverSeconds: positive('failover-seconds', false),
  suspectIntervalSeconds: positive('suspect-interval', false)
}
const defined = <T extends object>(values: T) => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
const sizes: Sizes = { ...presets[preset], ...defined(overrides), policy: { ...presets[preset].policy, ...defined(policyOverrides) } }
if (args.entry !== 'dist' && args.entry !== 'src') fail('--entry must be dist or src')
const entry: Entry = args.entry
const selected = new Set(args.only === undefined ? benchmarks : args.only.split(','))
for (const name of selected) if (!(benchmarks as readonly string[]).includes(name)) fail(`unknown benchmark ${name}`)
// A smoke run leaves the committed results alone unless told where to write.
const out = args.out ?? (preset === 'smoke' ? mkdtempSync(join(os.tmpdir(), 'pcr-bench-')) : resultsDir)

try {
  checkEntry(entry)
} catch (error) {
  fail((error as Error).message)
}

function commit(): string | null {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    const changed = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== ''
    return changed ? `${sha} (with local changes)` : sha
  } catch {
    return null
  }
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`)
const startedAt = new Date().toISOString()
const machine = {
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
  cores: os.availableParallelism(),
  memoryBytes: os.totalmem(),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  loadBefore: os.loadavg()[0] ?? 0
}
log(`${preset} run, service from ${entry}/, ${machine.cores} cores, results to ${out}`)
const results: Partial<Results> = { startedAt, commit: commit(), entry, preset, machine }
if (selected.has('hot-path')) Object.assign(results, await benchHotPath(sizes, entry, log))
if (selected.has('profile')) results.profile = await profileHotPath(sizes, entry, log)
if (selected.has('failover')) Object.assign(results, await benchFailover(sizes, entry, log))
if (selected.has('memory')) results.memory = await benchMemory(sizes, entry, log)
if (selected.has('startup')) results.startup = await benchStartup(sizes, entry, log)
results.finishedAt = new Date().toISOString()

// The shape is checked before anything is written: a broken run leaves the last results in place.
const checked = Results.parse(results)
mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'results.json'), `${JSON.stringify(checked, null, 2)}\n`)
const table = resultsMarkdown(checked, 'timeline.svg')
writeFileSync(join(out, 'results.md'), `# Benchmark results\n\n${table}`)
if (checked.failover !== undefined) writeFileSync(join(out, 'timeline.svg'), timelineSvg(checked.failover))
if (out === resultsDir && existsSync(readme)) {
  const begin = '<!-- results:begin -->'
  const end = '<!-- results:end -->'
  const text = readFileSync(readme, 'utf8')
  const [head, rest] = text.split(begin)
  const tail = rest?.split(end)[1]
  if (head !== undefined && tail !== undefined) {
    writeFileSync(readme, `${head}${begin}\n${resultsMarkdown(checked, 'results/timeline.svg')}${end}${tail}`)
  }
}
process.stdout.write(`${table}\n`)
log(`done in ${Math.round((Date.parse(checked.finishedAt) - Date.parse(startedAt)) / 1000)} s: ${out}`)
