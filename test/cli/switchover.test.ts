import t from 'tap'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { directEnv, errors, pcr, remote } from './fixtures/pcr.js'

// pcr switchover end to end against the emulator, without PgBouncer: it is refused
// unless told to go on unfenced, then runs as an operation, step by step.

const activeOf = async (args: string[], env?: Record<string, string>) =>
  JSON.parse((await pcr([...args, 'status', '--json'], { env })).stdout).active_cluster_id

t.test('direct mode: refused without a fence, then unfenced to the standby with each step timed', async (t) => {
  const cloud = await startFakeCloud(t)
  const env = directEnv(cloud, { SWITCHOVER_TIMEOUT: '20' })

  const noTty = await pcr(['switchover'], { env })
  t.equal(noTty.code, 2)
  t.equal(errors(noTty), 'pcr: refusing to switch over without confirmation: stdin is not a terminal, pass --yes')
  const answeredNo = await pcr(['switchover'], { env, tty: 'no' })
  t.equal(answeredNo.code, 1)
  t.match(answeredNo.stderr, 'Switching over: writes are held while the standby catches up')

  const unfencedNeeded = await pcr(['switchover', '--yes'], { env })
  t.equal(unfencedNeeded.code, 1)
  t.match(errors(unfencedNeeded), /^pcr: no PgBouncer to fence writes with \(PGBOUNCER_\* unset, or PGBOUNCER_MAX_PAUSE=0\)/)

  const done = await pcr(['switchover', '--yes', '--unfenced'], { env })
  t.equal(done.code, 0, done.stderr)
  t.match(done.stdout, /^switchover started: operation \S+\n/)
  t.match(done.stdout, /\n {2}fencing: \d+ ms\n {2}waiting_for_replication: \d+ ms\n {2}failing_over: \d+ ms\n/)
  t.match(done.stdout, new RegExp(`switchover completed: stream \\S+ COMPLETED; ${STANDBY} is active\\n$`))
  t.equal(await activeOf([], env), STANDBY)
})

t.test('remote mode: the operation as JSON; a switchover that runs out of time leaves the primary active', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await waitFor('the stream replicating past its initial scan', () => svc.fastify.engine.snapshot().stream?.replicatedTime !== null, { timeoutMs: 30_000 })
  const args = remote(svc)

  const late = await pcr([...args, 'switchover', '--yes', '--unfenced', '--timeout', '0.2', '--json'])
  t.equal(late.code, 1)
  t.match(JSON.parse(late.stdout), { kind: 'switchover', status: 'failed', error: /did not replicate up to the fence .* within 0\.2 s/ })
  t.match(late.stderr, /^ {2}waiting_for_replication: \d+ ms\npcr: switchover failed: stream \S+ did not replicate up to the fence/m, 'progress and steps on stderr with --json')
  t.equal(await activeOf(args), PRIMARY)

  const json = await pcr([...args, 'switchover', '--yes', '--unfenced', '--json'], { env: { SWITCHOVER_TIMEOUT: '20' } })
  t.equal(json.code, 0, json.stderr)
  const op = JSON.parse(json.stdout)
  t.match(op, { kind: 'switchover', status: 'succeeded', phase: 'done', error: null })
  t.same(op.steps.map((s: { phase: string }) => s.phase).slice(0, 3), ['fencing', 'waiting_for_replication', 'failing_over'])
  t.equal(await activeOf(args), STANDBY)
})
