import type { Failover, HotPath, HotPathProfile, LoadRun, Memory, Results } from './results-schema.js'
import { spread } from './stats.js'

// The results as Markdown tables, with each of the issue's targets marked met or
// missed. Written to bench/results/results.md and into bench/README.md.

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : int(n))
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
const signedMb = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}`
const percent = (ratio: number) => `${Math.round(ratio * 100)}%`
const target = (met: boolean) => (met ? '**met**' : '**missed**')
const latencies = (run: LoadRun) => `${ms(run.latencyMs.p50)} / ${ms(run.latencyMs.p99)} / ${ms(run.latencyMs.max)}`
const cores = (n: number | null) => (n === null ? '?' : n.toFixed(2))
const cpuPerRequest = (run: LoadRun) => (run.cpu.server === null ? '?' : int((run.cpu.server * 1e6) / run.requestsPerSecond))

export function resultsMarkdown(r: Results, svgPath: string): string {
  const m = r.machine
  const lines = [
    `Run of ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC (preset \`${r.preset}\`), commit ${r.commit ?? 'unknown'}, service from \`${r.entry}/\`, on ${m.cpu}, ` +
      `**${m.cores} cores** (the load generator and the process under test get about one each), ${(m.memoryBytes / 2 ** 30).toFixed(0)} GB, ${m.os}, Node ${m.node}; ` +
      `load average ${m.loadBefore.toFixed(2)} before the run.`,
    ''
  ]
  lines.push(...againstBare(r))
  if (r.hotPath !== undefined) lines.push(...hotPath(r.hotPath))
  if (r.profile !== undefined) lines.push(...profile(r.profile))
  if (r.metrics !== undefined) {
    const s = r.metrics
    lines.push(
      '### 2. /metrics scrape',
      '',
      '| Scrapes | Size | Series | p50 / p99 / max (ms) |',
      '|---|---|---|---|',
      `| ${int(s.scrapes)} one after the other | ${int(s.bytes)} B | ${int(s.series)} | ${ms(s.latencyMs.p50)} / ${ms(s.latencyMs.p99)} / ${ms(s.latencyMs.max)} |`,
      ''
    )
  }
  if (r.failover !== undefined) lines.push(...failover(r.failover, svgPath))
  if (r.memory !== undefined) lines.push(...memory(r.memory))
  if (r.startup !== undefined) {
    const s = r.startup
    lines.push(
      '### 5. Startup',
      '',
      `Process start to \`/ready\` 200, the Cloud API answering in ${s.apiLatencyMs} ms.`,
      '',
      '| Runs | Bare Fastify to listening (median / max) | Service to listening (median / max) | Service to /ready 200 (median / max) | /ready over bare, target ≤ 3× |',
      '|---|---|---|---|---|',
      `| ${s.runs.length} | ${int(s.baselineListeningMs.median)} / ${int(s.baselineListeningMs.max)} ms | ${int(s.listeningMs.median)} / ${int(s.listeningMs.max)} ms | ` +
        `${int(s.readyMs.median)} / ${int(s.readyMs.max)} ms | ${s.readyRatio.toFixed(2)}×, ${target(s.readyRatio <= 3)} |`,
      ''
    )
  }
  if (r.cloudCost !== undefined) {
    const c = r.cloudCost
    const operations = Object.entries(c.byOperation)
      .map(([name, n]) => `${name} ${(n / c.checks).toFixed(2)}`)
      .join(', ')
    lines.push(
      '### 6. Cloud API cost',
      '',
      `At the default interval (${c.intervalSeconds} s), over ${int(c.observedSeconds)} s of the hot-path run.`,
      '',
      '| Checks | Requests per check | Per operation and check | Per hour | Busiest second | API limit |',
      '|---|---|---|---|---|---|',
      `| ${c.checks} | ${c.perCheck} | ${operations} | ${int(c.perHour)} (${(c.perHour / 3600).toFixed(3)}/s) | ${c.peakPerSecond} requests | ${c.limitPerSecond}/s (${c.rateLimited} answered 429) |`,
      ''
    )
  }
  return lines.join('\n')
}

// Issue 18's table: each figure beside the bare-Fastify baseline measured in the same run.
function againstBare(r: Results): string[] {
  const rows: string[] = []
  const connection = r.hotPath?.routes.find((route) => route.route === '/connection')
  if (connection !== undefined) {
    const [service, bare] = [connection.service, connection.baseline]
    const p99 = service.at80.latencyMs.p99 - bare.at80.latencyMs.p99
    rows.push(
      `| \`GET /connection\` req/s | ${int(bare.saturation.requestsPerSecond)} | ${int(service.saturation.requestsPerSecond)} | ${connection.ratio.toFixed(2)}× | ≥ 0.9× | ${target(connection.ratio >= 0.9)} |`,
      `| p99 at 80% of saturation | ${ms(bare.at80.latencyMs.p99)} ms | ${ms(service.at80.latencyMs.p99)} ms | ${p99 >= 0 ? '+' : '−'}${ms(Math.abs(p99))} ms | ≤ bare + 1 ms | ${target(p99 <= 1)} |`
    )
  }
  const requests = r.memory?.requests
  const [end, bareEnd] = [requests?.samples[2]?.rssBeforeGcBytes, requests?.baseline.samples[2]?.rssBytes]
  if (requests !== undefined && end != null && bareEnd != null) {
    const n = int(requests.samples[2]?.count ?? 0)
    rows.push(
      `| RSS after ${n} requests, as the OS sees it | ${mb(bareEnd)} MB | ${mb(end)} MB | ${(end / bareEnd).toFixed(2)}× | < 100 MB | ${target(end < 100 * 2 ** 20)} |`,
      `| RSS growth, halfway → end, after a GC | ${requests.baseline.growthRssBytes === null ? '?' : `${signedMb(requests.baseline.growthRssBytes)} MB`} | ${signedMb(requests.growth.rssBytes)} MB | — | < 10 MB | ${target(requests.growth.rssBytes < 10 * 2 ** 20)} |`
    )
  }
  const startup = r.startup
  if (startup !== undefined) {
    rows.push(
      `| start → \`/ready\` 200 (bare: start → listening), API answering in ${startup.apiLatencyMs} ms | ${int(startup.baselineListeningMs.median)} ms | ${int(startup.readyMs.median)} ms | ${startup.readyRatio.toFixed(2)}× | ≤ 3× | ${target(startup.readyRatio <= 3)} |`
    )
  }
  if (rows.length === 0) return []
  return ['### Against bare Fastify', '', '| Measure | Bare Fastify | pcr-sidecar | Ratio | Goal | |', '|---|---|---|---|---|---|', ...rows, '']
}

function hotPath(h: HotPath): string[] {
  const connection = h.routes.find((r) => r.route === '/connection')
  return [
    '### 1. Hot path',
    '',
    `${h.connections} connections, ${h.durationSeconds} s per run, ${h.rounds} saturation round(s) each (the service and the bare route back to back in each; the rates shown are the best round of each, the ratio the median of the rounds' own ratios), then a run paced at 80% of the best rate. ` +
      'The bare route is Fastify with default options answering the same body, in its own process. CPU in cores during the saturation run.',
    '',
    '| Route | Body | Service req/s | Bare req/s | Ratio | CPU µs per request, service / bare | Service p50 / p99 / max at 80% (ms) | Bare at 80% (ms) | Cores busy: service / generator / rest of the machine |',
    '|---|---|---|---|---|---|---|---|---|',
    ...h.routes.map(
      (r) =>
        `| GET ${r.route} | ${r.bodyBytes} B | ${int(r.service.saturation.requestsPerSecond)} | ${int(r.baseline.saturation.requestsPerSecond)} | **${percent(r.ratio)}** | ` +
        `${cpuPerRequest(r.service.saturation)} / ${cpuPerRequest(r.baseline.saturation)} | ${latencies(r.service.at80)} | ${latencies(r.baseline.at80)} | ` +
        `${cores(r.service.saturation.cpu.server)} / ${cores(r.service.saturation.cpu.client)} / ${cores(r.service.saturation.cpu.other)} |`
    ),
    '',
    ...(connection === undefined
      ? []
      : [
          `Targets: \`/connection\` at 90% or more of the bare route: ${percent(connection.ratio)}, ${target(connection.ratio >= 0.9)}; ` +
            `p99 at 80% of saturation within 1 ms of the bare route's: ${ms(connection.service.at80.latencyMs.p99)} against ${ms(connection.baseline.at80.latencyMs.p99)} ms, ` +
            `${target(connection.service.at80.latencyMs.p99 <= connection.baseline.at80.latencyMs.p99 + 1)}.`,
          ''
        ])
  ]
}

function profile(p: HotPathProfile): string[] {
  const total = (key: 'serviceUs' | 'baselineUs') => p.parts.reduce((sum, part) => sum + part[key], 0)
  const us = (n: number) => n.toFixed(1)
  return [
    `### 1b. Where the time of a GET ${p.route} request goes`,
    '',
    `One load run of each under the V8 sampling profiler (${int(p.requests.service)} requests to the service, ${int(p.requests.baseline)} to the bare route), ` +
      'each sample charged to the part of the request its stack shows. µs per request of the thread\'s time, which includes waiting for a CPU when preempted ' +
      '(mostly right after the socket write that wakes the client); the profiler slows both, so the split matters more than the totals.',
    '',
    '| Part | Service | Bare | Difference |',
    '|---|---|---|---|',
    ...p.parts.map((part) => `| ${part.part} | ${us(part.serviceUs)} | ${us(part.baselineUs)} | ${us(part.serviceUs - part.baselineUs)} |`),
    `| **Total** | **${us(total('serviceUs'))}** | **${us(total('baselineUs'))}** | **${us(total('serviceUs') - total('baselineUs'))}** |`,
    ''
  ]
}

function failover(f: Failover, svgPath: string): string[] {
  const p = f.policy
  const row = (name: string, minimum: string, s: { median: number; p95: number; max: number }) =>
    `| ${name} | ${minimum} | ${int(s.median)} | ${int(s.p95)} | ${int(s.max)} |`
  const intervalMs = p.intervalSeconds * 1000
  return [
    '### 3. Failover timeline',
    '',
    `${f.outages.length} outages against the emulator; interval ${p.intervalSeconds} s, ` +
      (p.suspectIntervalSeconds === null ? '' : `${p.suspectIntervalSeconds} s after a failed check (SUSPECT_CHECK_INTERVAL), `) +
      `timeout ${p.timeoutSeconds} s, threshold ${p.threshold}, delay ${p.delaySeconds} s, failover ${p.failoverSeconds} s. ` +
      `The minimum is what the policy allows at the earliest: (threshold − 1) × ${p.suspectIntervalSeconds === null ? 'interval' : 'suspect interval'} + delay to the PATCH, then the failover itself.`,
    '',
    '| Phase (ms) | Minimum | Median | p95 | Max |',
    '|---|---|---|---|---|',
    row('Outage → PATCH', int(f.minimumMs.outageToPatchMs), f.summary.outageToPatchMs),
    row('PATCH → COMPLETED seen', int(f.minimumMs.patchToCompletedMs), f.summary.patchToCompletedMs),
    row('COMPLETED → /connection switched', '0', f.summary.completedToSwitchMs),
    row('Outage → switched', int(f.minimumMs.totalMs), f.summary.totalMs),
    row('**Overhead beyond the minimum**', '0', f.summary.overheadMs),
    row('of which: outage → first failure counted', `0 to ${int(intervalMs)}`, f.summary.detectionMs),
    row('of which: the rest (checks, reads before the PATCH, polls)', '0', spread(f.outages.map((o) => o.overheadMs - o.detectionMs))),
    row('Cloud API requests, outage → PATCH (a count, not ms)', '—', f.summary.apiRequestsToPatch),
    '',
    `Target: median overhead under one interval (${int(intervalMs)} ms): ${int(f.summary.overheadMs.median)} ms, ${target(f.summary.overheadMs.median < intervalMs)}.`,
    '',
    `![Failover timeline](${svgPath})`,
    ''
  ]
}

function memory(m: Memory): string[] {
  const row = (name: string, run: Pick<Memory['requests'], 'samples' | 'growth'>) => {
    const [start, half, end] = run.samples
    const cell = (s: typeof start) => (s === undefined ? '' : `${s.rssBeforeGcBytes === null ? '?' : mb(s.rssBeforeGcBytes)} → ${mb(s.rssBytes)} / ${mb(s.heapUsedBytes)}`)
    const peak = end?.peakRssBytes ?? null
    return `| ${name} | ${cell(start)} | ${cell(half)} | ${cell(end)} | ${signedMb(run.growth.rssBytes)} / ${signedMb(run.growth.heapUsedBytes)} | ${peak === null ? '?' : mb(peak)} |`
  }
  const samples = [...m.requests.samples, ...m.monitorCycles.samples]
  const afterGc = Math.max(...samples.map((s) => s.rssBytes))
  const peaks = samples.map((s) => s.peakRssBytes).filter((p): p is number => p !== null)
  const worstGrowth = Math.max(m.requests.growth.rssBytes, m.monitorCycles.growth.rssBytes)
  const limit = 100 * 2 ** 20
  return [
    '### 4. Memory',
    '',
    'RSS as the OS saw it → RSS / heap used after a full GC, in MB; the peak is the most RSS the process ever held (VmHWM), GC or not. Growth is after a GC.',
    '',
    '| Run | After start | Halfway | At the end | Growth, halfway → end | Peak RSS |',
    '|---|---|---|---|---|---|',
    row(`${int(m.requests.samples[2]?.count ?? 0)} GET /connection (${m.requests.connections} connections)`, m.requests),
    row(`${int(m.monitorCycles.samples[2]?.count ?? 0)} monitor cycles (every ${m.monitorCycles.intervalSeconds * 1000} ms)`, m.monitorCycles),
    '',
    `Targets: RSS under 100 MB: ${mb(afterGc)} MB at most after a GC, ${target(afterGc < limit)}` +
      (peaks.length === 0 ? '; ' : `, ${mb(Math.max(...peaks))} MB at the peak, ${target(Math.max(...peaks) < limit)}; `) +
      `growth under 10 MB: ${signedMb(worstGrowth)} MB at most, ${target(worstGrowth < 10 * 2 ** 20)}.`,
    ''
  ]
}
