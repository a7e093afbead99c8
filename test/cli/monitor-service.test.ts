import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { runCli } from '../../src/cli/run.js'
import { untracedEnv } from '../../tools/child-env.js'
import { PRIMARY, STANDBY, startFakeCloud, startService, type Cloud } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { directEnv, pcr, remote, scratchDir } from './fixtures/pcr.js'

async function streamStatus(cloud: Cloud): Promise<string> {
  return (await cloud.control('GET', '/state')).streams[0].status
}

t.test('monitor (direct): the engine in this process watches, fails over, and prints each decision until stopped', async (t) => {
  const cloud = await startFakeCloud(t)
  const stop = new AbortController()
  const printed = { stdout: '', stderr: '' }
  const running = pcr(['monitor'], { env: directEnv(cloud), signal: stop.signal, output: printed })
  // The outage comes once the monitor has found the primary serving.
  await waitFor('the primary named active', () => printed.stdout.includes('active_cluster_changed'), { timeoutMs: 10_000 })
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await waitFor('the stream completed', async () => (await streamStatus(cloud)) === 'COMPLETED', { timeoutMs: 10_000 })
  await waitFor('the completion printed', () => printed.stdout.includes('failover_completed'), { timeoutMs: 10_000 })
  stop.abort()
  const run = await running
  t.equal(run.code, 0)
  t.match(run.stderr, `pcr monitor: following the Cloud API ${cloud.url}; Ctrl-C stops`)
  const types = run.stdout.trimEnd().split('\n').map((line) => line.split(/ +/)[2])
  t.equal(types[0], 'monitor_started')
  for (const type of ['failure_counted', 'threshold_reached', 'failover_confirmed', 'failover_requested', 'failover_patched', 'failover_completed']) {
    t.ok(types.includes(type), `${type} printed`)
  }
  t.match(run.stdout, /^\S+Z {2}warn {3}failure_counted +cluster c0ffee\S+ unhealthy: failure 1 of 3$/m)
  t.equal(await cloud.patches(), 1)
})

t.test('monitor (direct) runs the failover command too: traffic moves whoever makes the failover', async (t) => {
  const cloud = await startFakeCloud(t)
  const record = join(scratchDir(), 'hook.log')
  const stop = new AbortController()
  const running = pcr(['monitor'], {
    env: {
      ...directEnv(cloud),
      HOOK_EVENTS: 'active_cluster_changed',
      ON_FAILOVER_COMMAND: `printf '%s\\n' "$PCR_EVENT_TYPE $PCR_ACTIVE_CLUSTER_ID" >> '${record}'`
    },
    signal: stop.signal
  })
  await waitFor('the command run for the primary', () => existsSync(record), { timeoutMs: 10_000 })
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await waitFor('the command run for the standby', () => existsSync(record) && readFileSync(record, 'utf8').includes(STANDBY), { timeoutMs: 10_000 })
  stop.abort()
  t.equal((await running).code, 0)
  t.same(readFileSync(record, 'utf8').trimEnd().split('\n'), [
    `active_cluster_changed ${PRIMARY}`,
    'active_cluster_changed ',
    `active_cluster_changed ${STANDBY}`
  ])
})

t.test('monitor --json prints one event per line; in remote mode, what the service decides from now on', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  // The history so far: none of it may be printed. The service goes on checking meanwhile,
  // so events after it (a check that fails on a loaded machine) may well be.
  const history = Math.max(...svc.events().map((e) => e.id))
  const stop = new AbortController()
  const printed = { stdout: '', stderr: '' }
  const running = pcr([...remote(svc), 'monitor', '--json'], { signal: stop.signal, output: printed })
  // Once it has read where the history stands, what follows is new to it.
  await waitFor('the history read', () => svc.lines.some((line) => line.includes('/events?limit=1')), { timeoutMs: 10_000 })
  await svc.post('/admin/pause', undefined, { authorization: `Bearer ${svc.config.admin.token}` })
  await waitFor('the service paused', () => svc.events().some((e) => e.type === 'paused'), { timeoutMs: 10_000 })
  await waitFor('the pause printed', () => printed.stdout.includes('"type":"paused"'), { timeoutMs: 10_000 })
  // Two more reads of the events, in which the pause would be printed again if it were.
  const polls = () => svc.lines.filter((line) => line.includes('/events?limit=500')).length
  const printedAt = polls()
  await waitFor('two more reads of the events', () => polls() >= printedAt + 2, { timeoutMs: 10_000 })
  stop.abort()
  const run = await running
  t.equal(run.code, 0)
  const events = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line))
  t.same(events.filter((e) => e.id <= history), [], 'the history before it started is not replayed')
  const paused = events.filter((e) => e.type === 'paused')
  t.equal(paused.length, 1, 'what the service decided meanwhile is printed once')
  t.match(paused[0], { id: Number, at: String, severity: 'info', message: /automatic failover paused by admin API/ })
})

t.test('service runs the HTTP service as src/server.ts does, until stopped', async (t) => {
  const cloud = await startFakeCloud(t)
  let stdout = ''
  let stderr = ''
  const stop = new AbortController()
  const running = runCli(['service', '--port', '0', '--host', '127.0.0.1'], {
    env: untracedEnv({ ...directEnv(cloud), LOG_LEVEL: 'info', PORT: '1' }),
    cwd: scratchDir(),
    stdin: new PassThrough(),
    stdout: new Writable({ write: (chunk, _e, done) => ((stdout += chunk), done()) }),
    stderr: new Writable({ write: (chunk, _e, done) => ((stderr += chunk), done()) }),
    signal: stop.signal
  })
  await waitFor('the listening line', () => /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.test(stdout), { timeoutMs: 30_000 })
  const port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]
  const clusters = await fetch(`http://127.0.0.1:${port}/clusters`)
  t.equal(clusters.status, 200)
  t.match(await clusters.json(), { clusters: [{ id: PRIMARY }, { id: STANDBY }] })
  stop.abort()
  t.equal(await running, 0, stderr)
  t.match(stdout, /"msg":"stopping"/)
  t.notMatch(stdout, 'emulator-secret-key')

  const stopped = new AbortController()
  stopped.abort()
  const early = await pcr(['service'], { env: untracedEnv(directEnv(cloud)), signal: stopped.signal })
  t.equal(early.code, 130, 'stopped before the service could handle the signal')

  const bad = await pcr(['service'], { env: untracedEnv({ ...directEnv(cloud), FAILURE_THRESHOLD: 'many' }) })
  t.equal(bad.code, 2, 'the service’s own exit code')
  t.match(bad.stderr, /pcr-sidecar: invalid configuration:\nFAILURE_THRESHOLD: must be a whole number from 1 to 1000/)
})
