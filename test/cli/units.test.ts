import t from 'tap'
import { PassThrough } from 'node:stream'
import { CloudApiError } from '../../src/cloud/errors.js'
import type { Backend, ClustersJson, OperationJson } from '../../src/cli/backend.js'
import { createContext } from '../../src/cli/context.js'
import { openDirect } from '../../src/cli/direct.js'
import { CliError, exitCodeOf, messageOf, RemoteError } from '../../src/cli/errors.js'
import { startAndFollow } from '../../src/cli/follow.js'
import { checkLine, disruptionLines, failbackStatusLines, planText, statusLines } from '../../src/cli/format.js'
import { interruptible } from '../../src/cli/io.js'
import { openRemote } from '../../src/cli/remote.js'
import { serverCommand } from '../../src/cli/verbs/service.js'
import { ConfigError } from '../../src/config/index.js'
import { systemClock } from '../../src/engine/engine.js'
import { OperatorError } from '../../src/engine/operator.js'
import { SqlError } from '../../src/sql/connector.js'
import { startSilentServer } from '../helpers/fake-sql-server.js'
import { configFor, PRIMARY, STANDBY, startFakeCloud } from '../../tools/stack.js'

t.test('exit codes: 1 failed or refused, 2 usage or configuration, 3 unreachable', async (t) => {
  const cases: Array<[unknown, number]> = [
    [new CliError(130, 'interrupted'), 130],
    [new ConfigError(['A: bad']), 2],
    [new RangeError('invalid name'), 2],
    [new RemoteError(0, 'unreachable', 'no answer'), 3],
    [new RemoteError(502, 'api_error', 'the API failed'), 3],
    [new RemoteError(503, 'x', 'down'), 3],
    [new RemoteError(502, 'failover_failed', 'refused'), 1],
    [new RemoteError(503, 'failover_refused', 'the API did not apply the PATCH'), 1],
    [new RemoteError(400, 'invalid_request', 'bad'), 2],
    [new RemoteError(401, 'unauthorized', 'token'), 2],
    [new RemoteError(403, 'admin_disabled', 'off'), 2],
    [new RemoteError(404, 'unknown_operation', 'gone'), 2],
    [new RemoteError(409, 'data_loss', 'too much'), 1],
    [new RemoteError(409, 'api_unavailable', 'no API'), 3],
    [new OperatorError('unknown', 'active cluster unknown', 409), 3],
    [new OperatorError('stream_exists', 'live', 409), 1],
    [new SqlError('auth', 'password'), 2],
    [new SqlError('refused', 'refused'), 3],
    [new SqlError('timeout', 'slow'), 3],
    [new SqlError('other', 'syntax'), 1],
    [new CloudApiError('http', 'HTTP 401', { operation: 'getCluster', status: 401 }), 2],
    [new CloudApiError('http', 'HTTP 404', { operation: 'getCluster', status: 404 }), 2],
    [new CloudApiError('http', 'HTTP 400', { operation: 'getCluster', status: 400 }), 1],
    [new CloudApiError('refused', 'no', { operation: 'patchStream', status: 409 }), 1],
    [new CloudApiError('http', 'HTTP 500', { operation: 'getCluster', status: 500 }), 3],
    [new CloudApiError('network', 'ECONNREFUSED', { operation: 'getCluster' }), 3],
    [new Error('a bug'), 1],
    ['a string', 1]
  ]
  for (const [err, code] of cases) t.equal(exitCodeOf(err), code, messageOf(err))
  t.equal(messageOf(new Error('two\n  lines')), 'two; lines')
  t.equal(messageOf(new ConfigError(['A: bad', 'B: worse'])), 'invalid configuration: A: bad; B: worse')
  t.equal(messageOf('plain'), 'plain')
})

const clusters: ClustersJson = {
  active_cluster_id: PRIMARY,
  watched_cluster_id: PRIMARY,
  failover_target_id: STANDBY,
  phase: 'blocked',
  consecutive_failures: 4,
  failure_threshold: 3,
  delay_ends_at: '2025-06-02T12:01:00.000Z',
  blocked_reason: 'standby is unhealthy',
  paused: true,
  auto_failover: true,
  last_check_at: null,
  last_healthy_at: null,
  estimated_data_loss_seconds: null,
  data_loss_seconds: null,
  stale: null,
  pgbouncer: null,
  fence: null,
  clusters: [
    { id: PRIMARY, name: null, configured_role: 'primary', role: 'primary', state: null, operation_status: null, verdict: 'unhealthy', reason: '0 of 3 nodes live', nodes_live: null, nodes_total: null, sql_dns: null, last_checked_at: null },
    { id: STANDBY, name: 'pcr-standby', configured_role: 'standby', role: 'standby', state: 'CREATED', operation_status: null, verdict: 'healthy', reason: '3 of 3 nodes live', nodes_live: 3, nodes_total: 3, sql_dns: 'standby.example', last_checked_at: null }
  ],
  stream: {
    id: 'stream-1',
    status: 'STARTING',
    primary_cluster_id: PRIMARY,
    standby_cluster_id: STANDBY,
    created_at: '2025-06-02T12:00:00.000Z',
    replicated_time: null,
    retained_time: null,
    replication_lag_seconds: null,
    activated_at: null,
    failover_at: null
  },
  failover: {
    stream_id: 'stream-0',
    trigger: 'auto',
    requested_by: 'monitor',
    started_at: '2025-06-02T11:00:00.000Z',
    failover_at: null,
    completed_at: '2025-06-02T11:01:00.000Z',
    timed_out: true
  }
}

t.test('formatting: what the tables show when fields are missing or flags are set', async (t) => {
  const lines = statusLines(clusters)
  t.match(lines[1], new RegExp(`^\\* {2}${PRIMARY} {2}- +primary +primary +- +- +unhealthy {2}0 of 3 nodes live$`))
  t.match(lines.join('\n'), `stream    stream-1 STARTING, ${PRIMARY} → pcr-standby\n`)
  t.match(lines.join('\n'), `active    ${PRIMARY}\n`, 'a cluster without a name is shown by its id')
  t.match(lines.join('\n'), 'phase     blocked, 4 of 3 failures, double-check at 2025-06-02T12:01:00.000Z, blocked: standby is unhealthy, automatic failover paused\n')
  t.match(lines.join('\n'), 'failover  stream stream-0 (auto, monitor): completed at 2025-06-02T11:01:00.000Z, past FAILOVER_TIMEOUT')
  t.notMatch(lines.join('\n'), /fence|pgbouncer/, 'no fence and no PgBouncer: no line')
  const since = '2025-06-02T12:00:00.000Z'
  const switching = statusLines({
    ...clusters,
    fence: { cluster_id: PRIMARY, operation_id: 'op-1', since },
    pgbouncer: { database: 'app', state: 'paused', reason: 'switchover op-1', since }
  }).join('\n')
  t.match(switching, `fence      writes fenced on ${PRIMARY} since ${since} (switchover op-1)\npgbouncer  app paused since ${since} (switchover op-1)`)
  t.match(statusLines({ ...clusters, pgbouncer: { database: 'app', state: 'serving', reason: null, since: null } }).join('\n'), /pgbouncer +app serving$/)

  t.equal(
    planText({ outcome: 'dry_run', plan: { stream_id: 's', from_cluster_id: 'a', to_cluster_id: 'b', failover_at: '2025-06-02T12:00:00Z', estimated_data_loss_seconds: null, data_loss_seconds: null } }),
    'stream s: a → b, to 2025-06-02T12:00:00Z, estimated data loss unknown'
  )
  t.same(
    disruptionLines({
      clusters: [
        { cluster_id: 'a', regional_disruptor_specifications: [{ region_code: 'r1', is_whole_region: false, pods: ['p1'] }] },
        { cluster_id: 'bb', regional_disruptor_specifications: [{ region_code: 'r2', is_whole_region: false, azs: ['z1'] }] }
      ]
    }),
    ['a   p1 in r1', 'bb  z1 in r2']
  )
  t.same(failbackStatusLines({ stream: null, active_cluster_id: null, ready: false, reason: 'failing over' }), [
    'stream  none',
    'active  none while failing over',
    'ready   no: failing over'
  ])
  t.same(failbackStatusLines({ stream: clusters.stream, active_cluster_id: STANDBY, ready: true, reason: 'replicating with 2 s of lag' }), [
    `stream  stream-1 STARTING, ${PRIMARY} → ${STANDBY}`,
    `active  ${STANDBY}`,
    'ready   yes: replicating with 2 s of lag'
  ])
  t.equal(checkLine(clusters), `phase blocked; ${PRIMARY} unhealthy (0 of 3 nodes live); pcr-standby healthy (3 of 3 nodes live); stream STARTING`)
})

t.test('a stop signal already given stops a wait before it starts', async (t) => {
  const stop = new AbortController()
  stop.abort()
  await t.rejects(interruptible(stop.signal, new Promise(() => {})), { exitCode: 130, message: 'interrupted' })
})

t.test('the service runs from dist when built, through tsx from the sources', async (t) => {
  t.same(serverCommand('file:///app/dist/src/cli/verbs/service.js'), ['/app/dist/src/server.js'])
  const [flag, tsx, server] = serverCommand(new URL('../../src/cli/verbs/service.ts', import.meta.url).href)
  t.equal(flag, '--import')
  t.match(tsx, /^file:.*\/tsx\//)
  t.match(server, /\/src\/server\.ts$/)
})

t.test('direct mode knows only the operations it started', async (t) => {
  const cloud = await startFakeCloud(t)
  const backend = await openDirect({ config: configFor(cloud), clock: systemClock, start: false, autoFailover: false, pollMs: 50, requestedBy: 'test' })
  t.teardown(() => backend.close())
  await t.rejects(backend.operation('nope'), { code: 'unknown_operation', status: 404 })
})

t.test('remote mode: a sidecar that never answers is unreachable after the request timeout', async (t) => {
  const silent = await startSilentServer()
  t.teardown(() => silent.close())
  const backend = openRemote({ url: `http://127.0.0.1:${silent.port}/`, pollMs: 50, sleep: async () => undefined, requestTimeoutMs: 100 })
  await t.rejects(backend.clusters(), { status: 0, code: 'unreachable', message: `cannot reach the sidecar at http://127.0.0.1:${silent.port}: The operation was aborted due to timeout` })
  await backend.close()
})

t.test('a followed operation that ends failed is exit 1 with its error', async (t) => {
  const operation: OperationJson = {
    id: 'op-1',
    kind: 'failover',
    requested_by: 'test',
    status: 'failed',
    phase: 'failing_over',
    progress: '',
    stream_id: 's',
    started_at: '2025-06-02T12:00:00.000Z',
    updated_at: '2025-06-02T12:00:00.000Z',
    finished_at: '2025-06-02T12:00:00.000Z',
    error: 'the stream was canceled',
        steps: []
  }
  const backend = { pollMs: 1, operation: async () => operation } as unknown as Backend
  const printed: string[] = []
  const ctx = createContext({ env: {}, cwd: '/', stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), clock: systemClock })
  ctx.out.line = (text = '') => void printed.push(text)
  const run = startAndFollow(ctx, backend, {
    what: 'failover',
    json: false,
    timeoutSeconds: 1,
    start: async () => ({ outcome: 'started', plan: { stream_id: 's', from_cluster_id: 'a', to_cluster_id: 'b', failover_at: null, estimated_data_loss_seconds: 1, data_loss_seconds: { lower: 0, upper: 1 } }, operation_id: 'op-1' })
  })
  await t.rejects(run, { exitCode: 1, message: 'failover failed: the stream was canceled' })
  t.same(printed, ['failover started: stream s: a → b, to the latest consistent time, estimated data loss 1 s', '    0.0 s  failing_over  failed: the stream was canceled'])
})
