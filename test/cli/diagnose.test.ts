import t from 'tap'
import { defaultClusterSeeds } from '../../src/emulator/seed.js'
import { unusedPort } from '../../tools/unused-port.js'
import { startPostgres } from '../../tools/postgres.js'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'
import { directEnv, errors, pcr, remote } from './fixtures/pcr.js'

// debug, test connection and test monitoring: the verbs that look and change nothing.

const stranger = 'c0ffee00-0000-4000-8000-00000000dead'

t.test('debug: the raw answers for both clusters, their nodes and disruptions, the streams; secrets masked', async (t) => {
  // A cluster named like a secret stands for an answer that happens to hold one.
  const cloud = await startFakeCloud(t, { clusters: defaultClusterSeeds({ primary: { name: 'hunter2-password' } }) })
  const run = await pcr(['debug'], { env: directEnv(cloud, { PRIMARY_CLUSTER_ENDPOINT: 'postgresql://app:hunter2-password@127.0.0.1:26257/defaultdb' }) })
  t.equal(run.code, 0, run.stderr)
  t.notMatch(run.stdout, 'hunter2-password')
  t.notMatch(run.stdout, 'emulator-secret-key')
  const report = JSON.parse(run.stdout)
  t.match(report, { api_url: cloud.url, primary_cluster_id: PRIMARY, standby_cluster_id: STANDBY, configured_stream_id: null })
  t.same(
    report.answers.map((a: { request: string; status: number }) => `${a.status} ${a.request}`),
    [
      `200 GET /api/v1/clusters/${PRIMARY}`,
      `200 GET /api/v1/clusters/${PRIMARY}/nodes`,
      `200 GET /api/v1/clusters/${PRIMARY}/disrupt`,
      `200 GET /api/v1/clusters/${STANDBY}`,
      `200 GET /api/v1/clusters/${STANDBY}/nodes`,
      `200 GET /api/v1/clusters/${STANDBY}/disrupt`,
      `200 GET /api/v1/physical-replication-streams?cluster_id=${PRIMARY}&show_completed=true`,
      `200 GET /api/v1/physical-replication-streams?cluster_id=${STANDBY}&show_completed=true`
    ]
  )
  t.equal(report.answers[0].body.name, '[REDACTED]')
  t.equal(report.answers[1].body.nodes.length, 3)
  t.equal(report.answers[6].body.physical_replication_streams[0].status, 'REPLICATING')

  await cloud.control('POST', '/faults', { operation: 'getDisruption', kind: 'malformed' })
  const odd = JSON.parse((await pcr(['debug'], { env: directEnv(cloud) })).stdout)
  t.equal(typeof odd.answers[2].body, 'string', 'an answer that is not JSON is shown as text')

  await cloud.control('POST', '/faults', { operation: 'getCluster', kind: 'hang', count: 1 })
  const slow = await pcr(['debug'], { env: directEnv(cloud, { HEALTH_CHECK_TIMEOUT: '0.2' }) })
  t.equal(slow.code, 3)
  t.match(JSON.parse(slow.stdout).answers[0], { request: `GET /api/v1/clusters/${PRIMARY}`, error: 'The operation was aborted due to timeout' })

  const port = await unusedPort()
  const down = await pcr(['debug'], { env: directEnv({ url: `http://127.0.0.1:${port}` } as never) })
  t.equal(down.code, 3)
  t.match(JSON.parse(down.stdout).answers[0], { request: `GET /api/v1/clusters/${PRIMARY}`, error: /ECONNREFUSED/ })
})

t.test('test connection: one line per check, ✓ or ✗', async (t) => {
  const cloud = await startFakeCloud(t)
  const run = await pcr(['test', 'connection'], { env: directEnv(cloud) })
  t.equal(run.code, 0, run.stderr)
  const lines = run.stdout.trimEnd().split('\n')
  t.match(lines, [
    new RegExp(`^✓ Cloud API reachable at ${cloud.url} \\(\\d+ ms\\)$`),
    '✓ API key accepted',
    `✓ primary cluster ${PRIMARY} readable: pcr-primary, CREATED, 3 of 3 nodes LIVE`,
    `✓ standby cluster ${STANDBY} readable: pcr-standby, CREATED, 3 of 3 nodes LIVE`,
    '✓ replication stream 5eed0000-0000-4000-8000-000000000000 readable: REPLICATING'
  ])
  t.equal(lines.length, 5)

  const wrongKey = await pcr(['test', 'connection'], { env: directEnv(cloud, { COCKROACH_API_SECRET_KEY: 'not-the-key' }) })
  t.equal(wrongKey.code, 2)
  t.match(wrongKey.stdout, /^✓ Cloud API reachable.*\n✗ API key refused: getCluster: HTTP 401.*\n$/)

  const unknown = await pcr(['test', 'connection'], { env: directEnv(cloud, { STANDBY_CLUSTER_ID: stranger }) })
  t.equal(unknown.code, 2)
  t.match(unknown.stdout, new RegExp(`^✗ standby cluster ${stranger} not readable: getCluster: HTTP 404.*$`, 'm'))
  t.match(unknown.stdout, /^· no replication stream between the two clusters \(pcr setup creates one\)$/m)

  const noPrimary = await pcr(['test', 'connection'], { env: directEnv(cloud, { PRIMARY_CLUSTER_ID: stranger }) })
  t.equal(noPrimary.code, 2)
  t.match(noPrimary.stdout, /^✓ API key accepted$/m, 'a 404 is an answer to an accepted key')
  t.match(noPrimary.stdout, new RegExp(`^✗ primary cluster ${stranger} not readable: getCluster: HTTP 404`, 'm'))

  await cloud.control('POST', '/faults', { operation: 'listStreams', kind: 'status', status: 500, count: 1 })
  const streams = await pcr(['test', 'connection'], { env: directEnv(cloud) })
  t.equal(streams.code, 3)
  t.match(streams.stdout, /^✗ replication streams not readable: listStreams: HTTP 500/m)

  const port = await unusedPort()
  const down = await pcr(['test', 'connection'], { env: directEnv({ url: `http://127.0.0.1:${port}` } as never) })
  t.equal(down.code, 3)
  t.match(down.stdout, new RegExp(`^✗ Cloud API not reachable at http://127.0.0.1:${port}: getCluster: network error: .*ECONNREFUSED.*\\n$`))
})

t.test('test connection probes the SQL endpoints that are configured', async (t) => {
  const cloud = await startFakeCloud(t)
  const pg = await startPostgres()
  t.teardown(pg.destroy)
  const port = await unusedPort()
  const run = await pcr(['test', 'connection'], {
    env: directEnv(cloud, { PRIMARY_CLUSTER_ENDPOINT: pg.url(), STANDBY_CLUSTER_ENDPOINT: `postgresql://root@127.0.0.1:${port}/defaultdb` })
  })
  t.equal(run.code, 3)
  t.match(run.stdout, /^✓ primary SQL endpoint answers SELECT 1 \(\d+ ms\)$/m)
  t.match(run.stdout, new RegExp(`^✗ standby SQL endpoint: refused: connection refused by 127.0.0.1:${port}$`, 'm'))
})

t.test('test monitoring: a few checks, each verdict printed; the exit code says what the checks saw', async (t) => {
  const cloud = await startFakeCloud(t)
  const healthy = await pcr(['test', 'monitoring'], { env: directEnv(cloud) })
  t.equal(healthy.code, 0, healthy.stderr)
  const lines = healthy.stdout.trimEnd().split('\n')
  t.equal(lines.length, 4)
  for (const [i, line] of lines.slice(0, 3).entries()) {
    t.equal(line, `check ${i + 1}/3: phase normal; pcr-primary healthy (3 of 3 nodes live); pcr-standby healthy (3 of 3 nodes live); stream REPLICATING, lag 2 s`)
  }
  t.equal(lines[3], 'monitoring works: 3 checks, the watched cluster is healthy')
  t.equal(await cloud.patches(), 0)

  await cloud.setNodes(PRIMARY, 'NOT_READY')
  const down = await pcr(['test', 'monitoring', '--checks', '4'], { env: directEnv(cloud, { FAILOVER_DELAY: '60' }) })
  t.equal(down.code, 1)
  t.match(down.stdout, /^check 4\/4: phase delay; pcr-primary unhealthy \(0 of 3 nodes live\);/m)
  t.match(down.stdout, /^monitoring sees a problem: see the checks above$/m)
  t.equal(await cloud.patches(), 0, 'a test never fails over')

  const svc = await startService(t, await startFakeCloud(t))
  await svc.fastify.engine.nextCheck()
  const viaService = await pcr([...remote(svc), 'test', 'monitoring', '--checks', '2'])
  t.equal(viaService.code, 0)
  t.match(viaService.stdout, /^check 2\/2: phase normal;/m)

  const port = await unusedPort()
  const unreachable = await pcr(['test', 'monitoring', '--checks', '1'], { env: directEnv({ url: `http://127.0.0.1:${port}` } as never) })
  t.equal(unreachable.code, 3)
  t.match(unreachable.stdout, new RegExp(`^check 1/1: phase normal; ${PRIMARY} unknown \\(streams not readable: listStreams: network error: .*\\); ${STANDBY} unknown \\(not checked yet\\); no stream$`, 'm'))
  t.equal(errors(unreachable), '')
})
