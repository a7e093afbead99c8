import t from 'tap'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { unusedPort } from '../../tools/unused-port.js'
import { waitFor } from '../../tools/wait-for.js'
import { ADMIN_TOKEN, PRIMARY, STANDBY, STREAM, startFakeCloud, startService } from '../../tools/stack.js'
import { directEnv, errors, pcr, remote, scratchDir } from './fixtures/pcr.js'

t.test('failover --dry-run shows the plan and changes nothing', async (t) => {
  const cloud = await startFakeCloud(t)
  const run = await pcr(['failover', '--dry-run'], { env: directEnv(cloud) })
  t.equal(run.code, 0)
  t.match(run.stdout, new RegExp(`^dry run, nothing changed: would fail over stream ${STREAM}: ${PRIMARY} → ${STANDBY}, to the latest consistent time, estimated data loss [\\d.]+ s\\n$`))
  const json = await pcr(['failover', '--dry-run', '--json'], { env: directEnv(cloud) })
  t.match(JSON.parse(json.stdout), { outcome: 'dry_run', plan: { stream_id: STREAM, from_cluster_id: PRIMARY, to_cluster_id: STANDBY, failover_at: null } })
  t.equal(await cloud.patches(), 0)
})

t.test('without a terminal and without --yes nothing is asked of the API: exit 2', async (t) => {
  const cloud = await startFakeCloud(t)
  const run = await pcr(['failover'], { env: directEnv(cloud) })
  t.equal(run.code, 2)
  t.equal(errors(run), 'pcr: refusing to fail over without confirmation: stdin is not a terminal, pass --yes')
  t.same(await cloud.requests(), [])
})

t.test('at a terminal: the plan, a question, and only "yes" goes ahead', async (t) => {
  const cloud = await startFakeCloud(t)
  const no = await pcr(['failover'], { env: directEnv(cloud), tty: 'y' })
  t.equal(no.code, 1)
  t.match(no.stderr, `Failing over stream ${STREAM}: ${PRIMARY} → ${STANDBY}`)
  t.match(no.stderr, 'Type yes to fail over: ')
  t.match(errors(no), /pcr: not confirmed \(expected yes\); nothing was changed$/)
  const eof = await pcr(['failover'], { env: directEnv(cloud), tty: '' })
  t.equal(eof.code, 1)
  t.equal(await cloud.patches(), 0)

  const yes = await pcr(['failover'], { env: directEnv(cloud), tty: 'yes' })
  t.equal(yes.code, 0, yes.stderr)
  t.match(yes.stdout, /^failover started: stream /m)
  t.match(yes.stdout, /^ +[\d.]+ s {2}failing_over {2}stream \S+ is FAILING_OVER$/m)
  t.match(yes.stdout, new RegExp(`^ +[\\d.]+ s {2}done {2}stream ${STREAM} COMPLETED; ${STANDBY} is active$`, 'm'))
  t.match(yes.stdout, /^failover completed: /m)
  t.equal(await cloud.patches(), 1)
})

t.test('failover --yes follows the failover to COMPLETED; the time it takes is the emulator’s', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 0.5 } })
  const started = Date.now()
  const run = await pcr(['failover', '--yes', '--json'], { env: directEnv(cloud) })
  t.equal(run.code, 0, run.stderr)
  t.ok(Date.now() - started >= 500, 'not before the failover took its time')
  const answer = JSON.parse(run.stdout)
  t.match(answer, {
    outcome: 'started',
    plan: { stream_id: STREAM, from_cluster_id: PRIMARY, to_cluster_id: STANDBY },
    stream: { id: STREAM, status: 'FAILING_OVER' },
    operation_id: String,
    operation: { kind: 'failover', status: 'succeeded', phase: 'done', stream_id: STREAM, error: null }
  })
  t.equal(answer.operation.id, answer.operation_id)
  t.match(run.stderr, /failing_over {2}stream \S+ is FAILING_OVER/, 'progress on stderr with --json')

  // A second failover is refused: the stream is COMPLETED.
  const again = await pcr(['failover', '--yes'], { env: directEnv(cloud) })
  t.equal(again.code, 1)
  t.match(errors(again), /^pcr: stream 5eed\S+ is COMPLETED; only a REPLICATING stream can fail over$/)
  t.equal(await cloud.patches(), 1)
})

t.test('the data-loss guard holds unless --allow-data-loss; --failover-at is passed on', async (t) => {
  const cloud = await startFakeCloud(t)
  const env = directEnv(cloud, { MAX_DATA_LOSS_SECONDS: '0.5' })
  const guarded = await pcr(['failover', '--yes'], { env })
  t.equal(guarded.code, 1)
  t.match(errors(guarded), /^pcr: data loss may reach [\d.]+ s \(at least [\d.]+ s\), more than MAX_DATA_LOSS_SECONDS=0\.5; a manual failover with allow_data_loss is needed$/)
  t.equal(await cloud.patches(), 0)

  const stream = (await cloud.control('GET', '/state')).streams[0]
  const at = new Date(Date.parse(stream.replicated_time) - 500).toISOString()
  const run = await pcr(['failover', '--yes', '--allow-data-loss', '--failover-at', at], { env })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, `to ${at}, estimated data loss`)
  const patch = (await cloud.requests()).filter((r) => r.method === 'PATCH')
  t.equal(patch.length, 1)
})

t.test('a failover the API refuses: one line, exit 1', async (t) => {
  const cloud = await startFakeCloud(t)
  await cloud.control('POST', '/faults', { operation: 'patchStream', kind: 'status', status: 400, count: 1 })
  const run = await pcr(['failover', '--yes'], { env: directEnv(cloud) })
  t.equal(run.code, 1)
  t.match(errors(run), /^pcr: patchStream: refused, HTTP 400/)
  t.equal(errors(run).split('\n').length, 1)
})

t.test('direct mode with the Cloud API down: exit 3', async (t) => {
  const port = await unusedPort()
  const run = await pcr(['failover', '--dry-run'], { env: directEnv({ url: `http://127.0.0.1:${port}` } as never) })
  t.equal(run.code, 3)
  t.match(errors(run), /^pcr: the active cluster is not known: streams not readable: listStreams: network error/)
})

t.test('giving up following, and being interrupted, both leave the failover running', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 60 } })
  const run = await pcr(['failover', '--yes', '--timeout', '0.2'], { env: directEnv(cloud) })
  t.equal(run.code, 1)
  t.match(errors(run), /^pcr: gave up following after 0\.2 s: operation \S+ is still failing_over \(stream \S+ is FAILING_OVER\)$/)
  t.equal((await cloud.control('GET', '/state')).streams[0].status, 'FAILING_OVER')
  const meanwhile = await pcr(['failover', '--dry-run'], { env: directEnv(cloud) })
  t.equal(meanwhile.code, 1, 'no active cluster while failing over, and no second failover')
  t.match(errors(meanwhile), /^pcr: a failover is already under way$/)

  const svc = await startService(t, await startFakeCloud(t, { timings: { failoverSeconds: 60 } }))
  await svc.fastify.engine.nextCheck()
  const stop = new AbortController()
  const printed = { stdout: '', stderr: '' }
  const following = pcr([...remote(svc), 'failover', '--yes'], { signal: stop.signal, output: printed })
  await waitFor('the CLI following the failover', () => printed.stdout.includes('failing_over'), { timeoutMs: 10_000 })
  stop.abort()
  const interrupted = await following
  t.equal(interrupted.code, 130)
  t.equal(interrupted.stderr, 'pcr: interrupted\n')
  t.match(interrupted.stdout, /failing_over/)
})

t.test('remote mode: the admin API does it, the CLI follows the operation', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()

  const dry = await pcr([...remote(svc), 'failover', '--dry-run', '--json'])
  t.equal(dry.code, 0)
  t.match(JSON.parse(dry.stdout), { outcome: 'dry_run', plan: { stream_id: STREAM } })

  const run = await pcr([...remote(svc), 'failover', '--yes'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /done {2}stream \S+ COMPLETED/)
  await svc.waitForEvent('failover_completed')
  const operation = svc.events().find((e) => e.type === 'operation_started')
  t.match(operation?.message, /\(failover\) started by admin API/)

  const again = await pcr([...remote(svc), 'failover', '--yes'])
  t.equal(again.code, 1)
  t.match(again.stderr, /^pcr: \/admin\/failover: stream \S+ is COMPLETED; only a REPLICATING stream can fail over\n$/)
})

t.test('remote mode refusals: no token, a wrong token, a disabled admin API, no sidecar, not a sidecar', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const noToken = await pcr(['--url', svc.url, 'failover', '--yes'])
  t.equal(noToken.code, 2)
  t.equal(noToken.stderr, 'pcr: remote mode needs the admin token for this: --token-file, PCR_ADMIN_TOKEN or ADMIN_TOKEN\n')

  const wrong = await pcr([...remote(svc, 'not-the-token-at-all'), 'failover', '--yes'])
  t.equal(wrong.code, 2)
  t.equal(wrong.stderr, 'pcr: /admin/failover: a valid admin bearer token is required\n')

  const fromEnv = await pcr(['failover', '--dry-run'], { env: { PCR_URL: svc.url, ADMIN_TOKEN } })
  t.equal(fromEnv.code, 0, 'PCR_URL and ADMIN_TOKEN from the environment')

  const disabled = await startService(t, cloud, { ADMIN_TOKEN: '' })
  const off = await pcr([...remote(disabled), 'failover', '--dry-run'])
  t.equal(off.code, 2)
  t.match(off.stderr, /the admin API is disabled/)

  const port = await unusedPort()
  const gone = await pcr(['--url', `http://127.0.0.1:${port}`, 'status'])
  t.equal(gone.code, 3)
  t.match(gone.stderr, new RegExp(`^pcr: cannot reach the sidecar at http://127.0.0.1:${port}: .*ECONNREFUSED`))

  const elsewhere = await pcr(['--url', `${cloud.url}/_emulator/nothing-here/`, 'status'])
  t.equal(elsewhere.code, 2)
  t.equal(elsewhere.stderr, 'pcr: /clusters: HTTP 404\n')

  const web = createServer((_req, res) => res.end('<html>hello</html>'))
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  t.teardown(() => web.close())
  const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`
  const notSidecar = await pcr(['--url', url, 'status'])
  t.equal(notSidecar.code, 2)
  t.equal(notSidecar.stderr, `pcr: GET /clusters: HTTP 200, not JSON: is ${url} a pcr-sidecar?\n`)
})

t.test('the admin token from a file or PCR_ADMIN_TOKEN, never needed on the command line', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  const dir = scratchDir()
  const file = join(dir, 'token')
  writeFileSync(file, `${ADMIN_TOKEN}\n`)
  const fromFile = await pcr(['--url', svc.url, '--token-file', file, 'failover', '--dry-run'])
  t.equal(fromFile.code, 0, fromFile.stderr)
  const fromEnv = await pcr(['failover', '--dry-run'], { env: { PCR_URL: svc.url, PCR_ADMIN_TOKEN: ADMIN_TOKEN, ADMIN_TOKEN: 'the-service-token-not-mine' } })
  t.equal(fromEnv.code, 0, 'PCR_ADMIN_TOKEN wins over ADMIN_TOKEN')
  // In the sidecar's own container, where the token is a mounted file (ADMIN_TOKEN_FILE).
  const inPod = await pcr(['failover', '--dry-run'], { env: { PCR_URL: svc.url, ADMIN_TOKEN_FILE: file } })
  t.equal(inPod.code, 0, inPod.stderr)
  const unreadable = await pcr(['failover', '--dry-run'], { env: { PCR_URL: svc.url, ADMIN_TOKEN_FILE: join(dir, 'nothing') } })
  t.equal(unreadable.stderr, `pcr: ADMIN_TOKEN_FILE ${join(dir, 'nothing')}: cannot be read (ENOENT)\n`)

  const both = await pcr(['--url', svc.url, '--token', ADMIN_TOKEN, '--token-file', file, 'failover', '--dry-run'])
  t.equal(both.code, 2)
  t.equal(both.stderr, 'pcr: --token and --token-file exclude each other\n')
  const missing = await pcr(['--url', svc.url, '--token-file', join(dir, 'nothing'), 'failover', '--dry-run'])
  t.equal(missing.code, 2)
  t.equal(missing.stderr, `pcr: --token-file ${join(dir, 'nothing')}: cannot be read (ENOENT)\n`)
  writeFileSync(join(dir, 'empty'), '\n')
  const empty = await pcr(['--url', svc.url, '--token-file', join(dir, 'empty'), 'failover', '--dry-run'])
  t.equal(empty.code, 2)
  t.equal(empty.stderr, `pcr: --token-file ${join(dir, 'empty')}: is empty\n`)

  const help = await pcr(['--help'])
  t.match(help.stdout, /--token-file <path>/)
  t.match(help.stdout, /PCR_ADMIN_TOKEN/)
  t.match(help.stdout.replace(/\s+/g, ' '), /--token <token> [^-]*shows in ps and shell history/)
})
