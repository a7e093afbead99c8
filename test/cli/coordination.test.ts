import t from 'tap'
import { roleOf, startFleet } from '../../tools/fleet.js'
import { waitFor } from '../../tools/wait-for.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'
import { directEnv, errors, pcr } from './fixtures/pcr.js'

// The CLI in direct mode joins the fleet like a sidecar: it acts only when it leads.

t.test('with a sidecar leading, a direct failover is refused and names the leader', async (t) => {
  const fleet = await startFleet(t)
  const a = await fleet.start('sidecar-a')
  await waitFor('sidecar-a leads', () => roleOf(a) === 'leader')
  const env = directEnv(fleet.cloud, { ...fleet.env, SIDECAR_ID: 'operator-laptop' })
  const run = await pcr(['failover', '--yes'], { env })
  t.equal(run.code, 1, run.stderr)
  t.match(errors(run), /sidecar sidecar-a leads and decides; this sidecar \(operator-laptop\) does not act/)
  t.equal(await fleet.cloud.patches(), 0)
  const status = await pcr(['status', '--json'], { env })
  t.equal(status.code, 0, status.stderr)
  t.equal(JSON.parse(status.stdout).active_cluster_id, PRIMARY, "a follower's status comes from the leader's view")
})

t.test('alone in the fleet, the CLI leads and fails over', async (t) => {
  const fleet = await startFleet(t)
  const run = await pcr(['failover', '--yes', '--json'], { env: directEnv(fleet.cloud, { ...fleet.env, SIDECAR_ID: 'operator-laptop' }) })
  t.equal(run.code, 0, run.stderr)
  t.equal(await fleet.cloud.patches(), 1)
  t.match(run.stdout, STANDBY)
})
