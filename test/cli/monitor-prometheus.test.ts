import t from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { PassThrough, Writable } from 'node:stream'
import { runCli } from '../../src/cli/run.js'
import { unusedPort } from '../../tools/unused-port.js'
import { PRIMARY, startFakeCloud } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { directEnv, errors, pcr, scratchDir } from './fixtures/pcr.js'

// `pcr monitor` with ENABLE_PROMETHEUS serves /metrics on PROMETHEUS_PORT, as the
// Python tool's monitor did: the same series as the service's /metrics.

function monitor(env: Record<string, string>) {
  const out = { stdout: '', stderr: '' }
  const sink = (key: 'stdout' | 'stderr') => new Writable({ write: (chunk, _e, done) => ((out[key] += String(chunk)), done()) })
  const stop = new AbortController()
  const done = runCli(['monitor'], { env, cwd: scratchDir(), stdin: new PassThrough(), stdout: sink('stdout'), stderr: sink('stderr'), signal: stop.signal })
  return { out, stop: () => stop.abort(), done }
}

t.test('ENABLE_PROMETHEUS: pcr monitor serves /metrics on PROMETHEUS_PORT until it stops', async (t) => {
  const cloud = await startFakeCloud(t)
  const run = monitor(directEnv(cloud, { ENABLE_PROMETHEUS: 'true', PROMETHEUS_PORT: '0', HOST: '127.0.0.1' }))
  const url = await waitFor('the metrics URL', () => /Prometheus metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(run.out.stderr)?.[1], { timeoutMs: 10_000 })
  t.match(run.out.stderr, /^pcr monitor: Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics \(ENABLE_PROMETHEUS\)$/m)
  // The first check counted, its Cloud API requests too.
  const body = await waitFor(
    'the first check counted',
    async () => {
      const res = await fetch(url)
      t.equal(res.status, 200)
      const text = await res.text()
      return text.includes('pcr_checks_total{') && text
    },
    { timeoutMs: 5000, intervalMs: 25 }
  )
  t.match(body, new RegExp(`^pcr_checks_total\\{cluster_id="${PRIMARY}",verdict="healthy"\\} \\d+$`, 'm'))
  t.match(body, /^pcr_cloud_api_requests_total\{operation="getCluster",status="200"\} \d+$/m)
  t.match(body, /^pcr_phase\{phase="normal"\} 1$/m)
  t.match(body, /^pcr_auto_failover_enabled 1$/m)
  t.match(body, /^process_cpu_seconds_total /m)
  t.equal((await fetch(url.replace('/metrics', '/clusters'))).status, 404, 'only /metrics')
  run.stop()
  t.equal(await run.done, 0, run.out.stderr)
  await t.rejects(fetch(url), 'closed when the monitor stops')
})

t.test('without ENABLE_PROMETHEUS nothing listens; a taken PROMETHEUS_PORT stops the monitor at once', async (t) => {
  const cloud = await startFakeCloud(t)
  const port = await unusedPort()
  const quiet = monitor(directEnv(cloud, { PROMETHEUS_PORT: String(port), HOST: '127.0.0.1' }))
  await waitFor('the monitor started', () => quiet.out.stdout.includes('monitor_started'), { timeoutMs: 10_000 })
  await t.rejects(fetch(`http://127.0.0.1:${port}/metrics`))
  quiet.stop()
  t.equal(await quiet.done, 0)
  t.notMatch(quiet.out.stderr, 'Prometheus')

  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const busy = (taken.address() as AddressInfo).port
  const run = await pcr(['monitor'], { env: directEnv(cloud, { ENABLE_PROMETHEUS: 'true', PROMETHEUS_PORT: String(busy), HOST: '127.0.0.1' }) })
  t.equal(run.code, 2)
  t.match(errors(run), new RegExp(`pcr: PROMETHEUS_PORT ${busy}: cannot serve metrics on 127\\.0\\.0\\.1:${busy}: .*EADDRINUSE`))
})

t.test('in remote mode the sidecar serves the metrics: the monitor reads no configuration for them', async (t) => {
  const run = await pcr(['--url', 'http://127.0.0.1:1', 'monitor'], { env: { ENABLE_PROMETHEUS: 'true', PROMETHEUS_PORT: 'x' } })
  t.equal(run.code, 3, 'the sidecar is unreachable; PROMETHEUS_PORT is not read')
  t.notMatch(run.stderr, 'PROMETHEUS_PORT')
})
