import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { unusedPort } from '../../tools/unused-port.js'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'
import { directEnv, errors, pcr, remote, scratchDir } from './fixtures/pcr.js'

t.test('status in direct mode: an aligned table of both clusters, the stream and the phase', async (t) => {
  const cloud = await startFakeCloud(t)
  const run = await pcr(['status'], { env: directEnv(cloud) })
  t.equal(run.code, 0)
  const lines = run.stdout.split('\n')
  t.match(lines[0], `pcr status from the Cloud API ${cloud.url}`)
  t.match(lines[1], /^ {3}CLUSTER {2,}NAME {2,}CONFIGURED {2,}ROLE {2,}STATE {2,}NODES {2,}VERDICT {2,}REASON$/)
  t.match(lines[2], new RegExp(`^\\* {2}${PRIMARY} {2}pcr-primary {2}primary {5}primary {2}CREATED {2}3/3 {4}healthy {2}3 of 3 nodes live$`))
  t.match(lines[3], new RegExp(`^ {3}${STANDBY} {2}pcr-standby {2}standby {5}standby {2}CREATED {2}3/3 {4}healthy {2}3 of 3 nodes live$`))
  t.equal(lines[2]?.indexOf('healthy'), lines[1]?.indexOf('VERDICT'), 'columns line up')
  t.match(run.stdout, /^stream {2}5eed0000-0000-4000-8000-000000000000 REPLICATING, pcr-primary → pcr-standby, replicated \S+, lag 2 s$/m)
  t.match(run.stdout, new RegExp(`^active {2}${PRIMARY} \\(pcr-primary\\)$`, 'm'))
  t.match(run.stdout, /^phase {3}normal, 0 of 3 failures/m)
  t.equal(errors(run), '')
})

t.test('status --json is the /clusters answer, in direct and in remote mode', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const direct = await pcr(['status', '--json'], { env: directEnv(cloud) })
  const viaService = await pcr([...remote(svc), 'status', '--json'])
  t.equal(direct.code, 0)
  t.equal(viaService.code, 0)
  const served = (await svc.get('/clusters')).body
  const a = JSON.parse(direct.stdout)
  const b = JSON.parse(viaService.stdout)
  t.same(Object.keys(a).sort(), Object.keys(served).sort())
  t.same(Object.keys(b).sort(), Object.keys(served).sort())
  t.same(a.clusters.map((c: { id: string; verdict: string }) => [c.id, c.verdict]), [[PRIMARY, 'healthy'], [STANDBY, 'healthy']])
  t.equal(a.active_cluster_id, PRIMARY)
  t.equal(b.active_cluster_id, PRIMARY)
  t.equal(a.auto_failover, true, 'AUTO_FAILOVER as configured, not the CLI engine’s own')
  t.equal(viaService.stderr, '', 'remote mode needs no Cloud API configuration')
})

t.test('status says what is going on during and after a failover', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 30 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/failover', {}, { authorization: `Bearer ${svc.config.admin.token}` })).status, 202)
  const during = await pcr([...remote(svc), 'status'])
  t.equal(during.code, 0, 'failing over is a known state')
  // The API gives replicated_time only while REPLICATING.
  t.match(during.stdout, /^stream +5eed\S+ FAILING_OVER, pcr-primary → pcr-standby$/m)
  t.match(during.stdout, /^active +none while failing over$/m)
  t.match(during.stdout, /^phase +failing_over, 0 of 3 failures/m)
  t.match(during.stdout, /^failover +stream 5eed\S+ \(manual, admin API \(127\.0\.0\.1\)\): running since \S+$/m)
})

t.test('status after a completed failover, with activated_at and the flags shown', async (t) => {
  const cloud = await startFakeCloud(t)
  const run = await pcr(['failover', '--yes'], { env: directEnv(cloud, { AUTO_FAILOVER: 'false' }) })
  t.equal(run.code, 0, run.stderr)
  const after = await pcr(['status'], { env: directEnv(cloud, { AUTO_FAILOVER: 'false' }) })
  t.equal(after.code, 0)
  t.match(after.stdout, /COMPLETED, pcr-primary → pcr-standby, activated at \S+$/m)
  t.match(after.stdout, new RegExp(`^active {2}${STANDBY} \\(pcr-standby\\)$`, 'm'))
  // A process that never saw the stream replicate has no estimate (no replicated_time after COMPLETED).
  t.match(after.stdout, /^phase {3}completed, 0 of 3 failures, automatic failover off$/m)
})

t.test('status with the Cloud API unreachable: what is known, then exit 3', async (t) => {
  const port = await unusedPort()
  const cloud = { url: `http://127.0.0.1:${port}` }
  const run = await pcr(['status'], { env: directEnv(cloud as never) })
  t.equal(run.code, 3)
  t.match(run.stdout, /^active {2}unknown$/m)
  t.match(run.stdout, /^stream {2}none between the two clusters$/m)
  t.match(errors(run), /^pcr: the active cluster is not known: streams not readable: listStreams: network error: .*ECONNREFUSED/)
  t.equal(errors(run).split('\n').length, 1, 'one line')
})

t.test('configuration: the same environment and .env as the service; bad configuration is exit 2', async (t) => {
  const cloud = await startFakeCloud(t)
  const cwd = scratchDir()
  writeFileSync(join(cwd, '.env'), Object.entries(directEnv(cloud)).map(([k, v]) => `${k}=${v}`).join('\n'))
  const fromFile = await pcr(['status', '--json'], { cwd })
  t.equal(fromFile.code, 0)
  t.equal(JSON.parse(fromFile.stdout).active_cluster_id, PRIMARY)

  const bad = await pcr(['status'], { env: { COCKROACH_API_SECRET_KEY: 'k3y-never-echoed', PRIMARY_CLUSTER_ID: 'nope', HEALTH_CHECK_INTERVAL: 'soon' } })
  t.equal(bad.code, 2)
  t.equal(
    bad.stderr,
    'pcr: invalid configuration: PRIMARY_CLUSTER_ID: must be a cluster UUID (8-4-4-4-12 hexadecimal digits); STANDBY_CLUSTER_ID: is required (the standby cluster UUID); HEALTH_CHECK_INTERVAL: must be a number of seconds greater than 0\n'
  )
  t.equal(bad.stdout, '')
})

t.test('usage: help on every verb (exit 0), mistakes in one line (exit 2)', async (t) => {
  const top = await pcr(['--help'])
  t.equal(top.code, 0)
  for (const verb of ['status', 'monitor', 'service', 'failover', 'failback', 'simulate', 'setup', 'test', 'settings', 'debug', 'drill']) {
    t.match(top.stdout, new RegExp(`^  ${verb}\\b`, 'm'), `${verb} is listed`)
  }
  t.match(top.stdout, /Exit codes: 0 ok, 1 operation failed or refused, 2 bad usage or configuration, 3 Cloud API, sidecar or SQL unreachable/)
  const verbs = [
    ['status'], ['monitor'], ['service'], ['failover'], ['setup'], ['settings'], ['debug'], ['drill'],
    ['failback', 'full'], ['failback', 'create-stream'], ['failback', 'initiate'], ['failback', 'status'],
    ['simulate', 'disrupt'], ['simulate', 'restore'], ['simulate', 'status'],
    ['test', 'connection'], ['test', 'monitoring'], ['test', 'failover'], ['test', 'automated']
  ]
  for (const verb of verbs) {
    const help = await pcr([...verb, '--help'])
    t.equal(help.code, 0, `${verb.join(' ')} --help`)
    t.match(help.stdout, `Usage: pcr ${verb.join(' ')} [options]`)
  }

  for (const [args, message] of [
    [['stauts'], "pcr: unknown command 'stauts' (Did you mean status?)\n"],
    [['status', '--bogus'], "pcr: unknown option '--bogus'\n"],
    [['failover', '--failover-at', 'tomorrow'], "pcr: option '--failover-at <time>' argument 'tomorrow' is invalid. must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z, or one without an offset (2026-01-02T15:04:05), taken as UTC\n"],
    [['failback', 'full', '--max-lag', '-1'], "pcr: option '--max-lag <seconds>' argument '-1' is invalid. must be a number of seconds greater than 0\n"],
    [['test', 'monitoring', '--checks', '0'], "pcr: option '--checks <n>' argument '0' is invalid. must be a whole number from 1 to 1000\n"],
    [['simulate', 'disrupt', '--pods', ' , '], "pcr: option '--pods <names>' argument ' , ' is invalid. must be a comma-separated list\n"],
    [['service', '--port', '70000'], "pcr: option '--port <port>' argument '70000' is invalid. must be a TCP port (0 to 65535)\n"],
    [['settings', '--value', 'x'], "pcr: required option '--setting <name>' not specified\n"],
    [['--url', 'ftp://x', 'status'], 'pcr: --url/PCR_URL must be the sidecar\'s http(s) URL, not "ftp://x"\n']
  ] as const) {
    const run = await pcr([...args])
    t.equal(run.code, 2, args.join(' '))
    t.equal(run.stderr, message)
  }
  const group = await pcr(['failback'])
  t.equal(group.code, 2, 'a group without its verb')
  t.match(group.stderr, /Usage: pcr failback \[options\] \[command\]/)
})
