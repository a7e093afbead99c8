import t from 'tap'
import { PRIMARY, startFakeCloud, type Cloud } from '../../tools/stack.js'
import { directEnv, errors, pcr } from './fixtures/pcr.js'

// FAILOVER_AT_TIMESTAMP and --failover-at as a user of the Python tool writes them
// (no offset: UTC), and checked against what the stream can fail over to.

// The stream as the emulator shows it now.
async function streamTimes(cloud: Cloud): Promise<{ replicated: number; retained: number }> {
  const stream = (await cloud.control('GET', '/state')).streams[0]
  return { replicated: Date.parse(stream.replicated_time), retained: Date.parse(stream.retained_time) }
}

// 2026-01-02T15:04:05.123, the way Python's datetime.isoformat() writes a naive time.
const withoutOffset = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '')

t.test('a FAILOVER_AT_TIMESTAMP without an offset no longer stops every command: it is UTC, and the CLI says so', async (t) => {
  const cloud = await startFakeCloud(t)
  const { replicated } = await streamTimes(cloud)
  const at = withoutOffset(replicated)
  const env = directEnv(cloud, { FAILOVER_TO_LATEST: 'false', FAILOVER_AT_TIMESTAMP: at })
  const status = await pcr(['status'], { env })
  t.equal(status.code, 0, status.stderr)
  t.match(status.stderr, `pcr: warning: FAILOVER_AT_TIMESTAMP ${at} has no UTC offset: taken as UTC (${at}Z)`)

  const dry = await pcr(['failover', '--dry-run', '--json'], { env })
  t.equal(dry.code, 0, dry.stderr)
  t.equal(JSON.parse(dry.stdout).plan.failover_at, `${at}Z`, 'the time the API is sent')
})

t.test('--failover-at without an offset is UTC too; the help says so', async (t) => {
  const cloud = await startFakeCloud(t)
  const { replicated } = await streamTimes(cloud)
  const at = withoutOffset(replicated - 500)
  const run = await pcr(['failover', '--yes', '--failover-at', at], { env: directEnv(cloud) })
  t.equal(run.code, 0, run.stderr)
  const patch = (await cloud.requests()).find((r) => r.method === 'PATCH') as unknown as { body: unknown }
  t.same(patch.body, { status: 'FAILING_OVER', failover_at: `${at}Z` })

  const help = await pcr(['failover', '--help'])
  t.match(help.stdout.replace(/\s+/g, ' '), 'RFC 3339 time to fail over to (without an offset: UTC)')
  const bad = await pcr(['failover', '--failover-at', '2026-01-02 15:04:05'])
  t.equal(bad.code, 2)
  t.equal(
    bad.stderr,
    "pcr: option '--failover-at <time>' argument '2026-01-02 15:04:05' is invalid. must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z, or one without an offset (2026-01-02T15:04:05), taken as UTC\n"
  )
})

t.test('a time outside [retained_time, now + 1 h] is refused before anything is sent, with the reason', async (t) => {
  const cloud = await startFakeCloud(t)
  const { retained } = await streamTimes(cloud)
  const old = withoutOffset(retained - 3_600_000)
  const early = await pcr(['failover', '--yes', '--failover-at', old], { env: directEnv(cloud) })
  t.equal(early.code, 1)
  t.match(errors(early), new RegExp(`^pcr: failover_at ${old}Z is before the retained time \\S+ of stream 5eed\\S+, the oldest time it can fail over to$`))

  const late = new Date(Date.now() + 2 * 3_600_000).toISOString()
  const ahead = await pcr(['failover', '--yes', '--failover-at', late], { env: directEnv(cloud) })
  t.equal(ahead.code, 1)
  t.match(errors(ahead), new RegExp(`^pcr: failover_at ${late} is more than one hour ahead \\(after \\S+\\): the Cloud API schedules a failover at most one hour ahead$`))

  const configured = await pcr(['failover', '--yes'], { env: directEnv(cloud, { FAILOVER_TO_LATEST: 'false', FAILOVER_AT_TIMESTAMP: old }) })
  t.equal(configured.code, 1)
  t.match(errors(configured), new RegExp(`^pcr: FAILOVER_AT_TIMESTAMP ${old}Z is before the retained time`))
  t.equal(await cloud.patches(), 0, 'nothing was sent')
  t.equal((await cloud.control('GET', '/state')).streams[0].primary_cluster_id, PRIMARY)
})
