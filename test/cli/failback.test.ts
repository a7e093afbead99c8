import t from 'tap'
import { ADMIN_TOKEN, PRIMARY, STANDBY, startFakeCloud, startService, type Cloud } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { directEnv, errors, pcr, remote } from './fixtures/pcr.js'

// Failover, failback and setup from the CLI, end to end against the emulator.

const activeOf = async (args: string[], env?: Record<string, string>) =>
  JSON.parse((await pcr([...args, 'status', '--json'], { env })).stdout).active_cluster_id

// REPLICATING with a replicated_time: its initial scan has ended.
async function replicating(cloud: Cloud, id: string): Promise<void> {
  await waitFor(
    `stream ${id} replicating past its initial scan`,
    async () => {
      const stream = (await cloud.control('GET', '/state')).streams.find((s: { id: string }) => s.id === id)
      return stream.status === 'REPLICATING' && stream.replicated_time !== undefined
    },
    { intervalMs: 50 }
  )
}

t.test('direct mode: failover → failback step by step → setup → failover → failback full', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.3 } })
  const env = directEnv(cloud)

  const early = await pcr(['failback', 'status'], { env })
  t.equal(early.code, 0)
  t.match(early.stdout, /^stream {2}none\nactive {2}c0ffee00-\S+1\nready {3}no: no failback stream: create one first\n$/)
  const noFailover = await pcr(['failback', 'create-stream', '--yes'], { env })
  t.equal(noFailover.code, 1)
  t.match(errors(noFailover), /^pcr: stream 5eed\S+ is already REPLICATING$/)
  const noStream = await pcr(['failback', 'initiate', '--yes'], { env })
  t.equal(noStream.code, 1)
  t.match(errors(noStream), /^pcr: no failback stream between the clusters: create one first$/)

  t.equal((await pcr(['failover', '--yes'], { env })).code, 0)
  t.equal(await activeOf([], env), STANDBY)
  t.same(JSON.parse((await pcr(['failback', 'status', '--json'], { env })).stdout), {
    stream: null,
    active_cluster_id: STANDBY,
    ready: false,
    reason: 'no failback stream: create one first'
  })

  const refused = await pcr(['failback', 'create-stream'], { env, tty: 'no' })
  t.equal(refused.code, 1)
  t.match(refused.stderr, 'The original primary is wiped and re-seeded from the active cluster.\nType yes to create the failback stream: ')
  const created = await pcr(['failback', 'create-stream', '--yes'], { env })
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, new RegExp(`^failback stream created: (\\S+) STARTING, ${STANDBY} → ${PRIMARY}\n$`))
  const streamId = /created: (\S+)/.exec(created.stdout)?.[1] as string
  const starting = await pcr(['failback', 'status', '--max-lag', '5'], { env })
  t.match(starting.stdout, /^ready {3}no: the failback stream is STARTING$/m)
  await replicating(cloud, streamId)
  const ready = await pcr(['failback', 'status', '--json'], { env })
  t.match(JSON.parse(ready.stdout), { stream: { id: streamId, status: 'REPLICATING' }, ready: true, reason: /^replicating with \d+ s of lag$/ })
  const tooFar = await pcr(['failback', 'status', '--max-lag', '0.5'], { env })
  t.match(tooFar.stdout, /^ready {3}no: replication lag 2 s is above 0\.5 s$/m)

  const initiated = await pcr(['failback', 'initiate', '--yes'], { env })
  t.equal(initiated.code, 0, initiated.stderr)
  t.match(initiated.stdout, new RegExp(`^failback started: stream ${streamId}: ${STANDBY} → ${PRIMARY}`, 'm'))
  t.match(initiated.stdout, new RegExp(`^failback completed: stream ${streamId} COMPLETED; ${PRIMARY} is active$`, 'm'))
  t.equal(await activeOf([], env), PRIMARY)

  const setup = await pcr(['setup', '--yes', '--wait'], { env })
  t.equal(setup.code, 0, setup.stderr)
  // --wait waits for the initial scan to end (a scan shorter than a poll may pass unseen).
  t.match(
    setup.stdout,
    new RegExp(`^stream created: (\\S+) STARTING, ${PRIMARY} → ${STANDBY}\n(stream \\1 is REPLICATING, initial scan \\(a full copy onto ${STANDBY}; no replicated_time yet\\)\n)?stream \\1 is REPLICATING, replicated to \\S+\n$`)
  )
  const twice = await pcr(['setup', '--yes'], { env })
  t.equal(twice.code, 1)
  t.match(errors(twice), /^pcr: stream \S+ is already REPLICATING$/)

  t.equal((await pcr(['failover', '--yes'], { env })).code, 0)
  t.equal(await activeOf([], env), STANDBY)
  const full = await pcr(['failback', 'full', '--yes', '--max-lag', '60'], { env })
  t.equal(full.code, 0, full.stderr)
  t.match(full.stdout, /^failback started: operation \S+$/m)
  // Phases shorter than a poll may pass unseen; these last long enough to be seen.
  t.match(full.stdout, /stream_starting {2}stream \S+ is STARTING \(network setup\), for [\d.]+ s; [\d.]+ s of at most 6 h 00 min$/m)
  t.match(full.stdout, /^failback completed: stream \S+ COMPLETED; c0ffee\S+1 is active$/m)
  t.equal(await activeOf([], env), PRIMARY)
  t.equal(await cloud.patches(), 4, 'two failovers, two failbacks')
})

t.test('remote mode: the same cycle through a running service', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 0.3 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const args = remote(svc)

  t.equal((await pcr([...args, 'failover', '--yes'])).code, 0)
  await svc.waitForEvent('failover_completed')
  const created = await pcr([...args, 'failback', 'create-stream', '--yes', '--json'])
  t.equal(created.code, 0, created.stderr)
  const stream = JSON.parse(created.stdout).stream
  t.match(stream, { status: 'STARTING', primary_cluster_id: STANDBY, standby_cluster_id: PRIMARY })
  await replicating(cloud, stream.id)
  const status = await pcr([...args, 'failback', 'status', '--json'])
  t.match(JSON.parse(status.stdout), { ready: true, stream: { id: stream.id } })
  const initiated = await pcr([...args, 'failback', 'initiate', '--yes', '--json'])
  t.equal(initiated.code, 0, initiated.stderr)
  t.match(JSON.parse(initiated.stdout), { outcome: 'started', plan: { from_cluster_id: STANDBY, to_cluster_id: PRIMARY }, operation: { kind: 'failback', status: 'succeeded' } })

  const setup = await pcr([...args, 'setup', '--yes', '--wait', '--json'])
  t.equal(setup.code, 0, setup.stderr)
  t.match(JSON.parse(setup.stdout), { stream: { status: 'STARTING', primary_cluster_id: PRIMARY } })
  t.match(setup.stderr, /is REPLICATING/, 'progress on stderr with --json')

  t.equal((await pcr([...args, 'failover', '--yes'])).code, 0)
  const full = await pcr([...args, 'failback', 'full', '--yes', '--json'])
  t.equal(full.code, 0, full.stderr)
  t.match(JSON.parse(full.stdout), { kind: 'failback', status: 'succeeded', phase: 'done', error: null })
  t.equal(await activeOf(args), PRIMARY)
})

t.test('failback refusals and failures: confirmation, a full failback with nothing to fail back, setup that never replicates', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { startingSeconds: 300 } })
  const env = directEnv(cloud)
  const noTty = await pcr(['failback', 'full'], { env })
  t.equal(noTty.code, 2)
  t.equal(errors(noTty), 'pcr: refusing to fail back without confirmation: stdin is not a terminal, pass --yes')
  const answeredNo = await pcr(['failback', 'initiate'], { env, tty: 'nope' })
  t.equal(answeredNo.code, 1)

  const nothing = await pcr(['failback', 'full', '--yes'], { env })
  t.equal(nothing.code, 1)
  t.match(nothing.stdout, /starting\n.*failed: stream \S+ is already REPLICATING\n/s)
  t.match(errors(nothing), /^pcr: failback failed: stream \S+ is already REPLICATING$/)

  const svc = await startService(t, cloud)
  const json = await pcr([...remote(svc), 'failback', 'full', '--yes', '--json'])
  t.equal(json.code, 1)
  t.match(JSON.parse(json.stdout), { status: 'failed', error: /is already REPLICATING/ })

  await pcr(['failover', '--yes'], { env })
  // --timeout bounds the wait for the reverse stream; the operation itself reports it.
  const slow = await pcr(['failback', 'full', '--yes', '--timeout', '1'], { env })
  t.equal(slow.code, 1)
  t.match(errors(slow), /^pcr: failback failed: the failback stream did not reach REPLICATING with lag under 60 s within 1 s .*last: stream \S+ is STARTING/)

  const other = await startFakeCloud(t, { stream: 'none', timings: { startingSeconds: 300 } })
  const setup = await pcr(['setup', '--yes', '--wait', '--timeout', '0.2'], { env: directEnv(other) })
  t.equal(setup.code, 1)
  t.match(errors(setup), /^pcr: stream \S+ is STARTING after 0\.2 s$/)
  const plain = await pcr(['setup', '--yes'], { env: directEnv(await startFakeCloud(t, { stream: 'none' })) })
  t.equal(plain.code, 0)
  t.match(plain.stdout, /^stream created: \S+ STARTING, \S+ → \S+\n$/)
  const needsYes = await pcr([...remote(svc, ADMIN_TOKEN), 'setup'])
  t.equal(needsYes.code, 2)
})
