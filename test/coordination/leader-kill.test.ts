import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startSidecar, type Sidecar } from '../../tools/chaos/sidecar.js'
import { startFleet } from '../../tools/fleet.js'
import { waitFor } from '../../tools/wait-for.js'
import { PRIMARY, STANDBY, STREAM } from '../../tools/stack.js'

// Three real sidecar processes; the leader is killed with SIGKILL in the middle
// of the failover it requested. Its lease has to run out before another leads,
// and the one that does must finish that failover without asking again.

async function getJson(url: string): Promise<any> {
  const res = await request(url)
  return res.body.json()
}

t.test('the leader killed mid-failover: a new leader within the TTL, the failover completes, one PATCH', async (t) => {
  const fleet = await startFleet(t, { cloudTimings: { failoverSeconds: 8 } })
  const cwd = await mkdtemp(join(tmpdir(), 'pcr-leader-kill-'))
  t.teardown(() => rm(cwd, { recursive: true, force: true }))
  const envOf = (id: string) => fleet.processEnv(id)
  const sidecars = new Map<string, Sidecar>()
  t.teardown(() => Promise.all([...sidecars.values()].map((s) => s.stop())))
  const coordinationOf = async (id: string) => (await getJson(`${sidecars.get(id)?.url()}/clusters`)).coordination

  sidecars.set('a', await startSidecar(envOf('a'), cwd))
  await waitFor('a leads', async () => (await coordinationOf('a')).role === 'leader')
  sidecars.set('b', await startSidecar(envOf('b'), cwd))
  sidecars.set('c', await startSidecar(envOf('c'), cwd))
  await waitFor('b and c follow', async () => (await coordinationOf('b')).role === 'follower' && (await coordinationOf('c')).role === 'follower')

  await fleet.cloud.setNodes(PRIMARY, 'NOT_READY')
  await fleet.primarySql.stop()
  await waitFor(
    'a requests the failover',
    async () => (await getJson(`${sidecars.get('a')?.url()}/events?limit=500`)).events.some((e: { type: string }) => e.type === 'failover_patched'),
    { timeoutMs: 30_000 }
  )
  const killedAt = performance.now()
  await sidecars.get('a')?.stop()

  let elected: string | undefined
  await waitFor(
    'b or c leads',
    async () => {
      for (const id of ['b', 'c']) if ((await coordinationOf(id)).role === 'leader') elected = id
      return elected !== undefined
    },
    { timeoutMs: 15_000 }
  )
  const electedAfterMs = performance.now() - killedAt
  t.comment(`new leader ${elected} ${Math.round(electedAfterMs)} ms after the SIGKILL (lease TTL ${fleet.env.ETCD_LEASE_TTL} s)`)
  const stream = (await fleet.cloud.control('GET', '/state')).streams.find((s: { id: string }) => s.id === STREAM)
  t.equal(stream.status, 'FAILING_OVER', 'the new leader took over while the failover was still running')

  for (const id of ['b', 'c']) {
    await waitFor(
      `${id} hands out the standby`,
      async () => {
        const res = await request(`${sidecars.get(id)?.url()}/connection`, { headers: { 'x-db-username': 'app', 'x-db-password': 'pw-of-the-app' } })
        const body = (await res.body.json()) as { cluster_id?: string }
        return res.statusCode === 200 && body.cluster_id === STANDBY
      },
      { timeoutMs: 30_000 }
    )
  }
  t.equal(await fleet.cloud.patches(), 1, 'the stream was asked to fail over once, across the leader change')
  const events = (await getJson(`${sidecars.get(elected as string)?.url()}/events?limit=500`)).events as Array<{ type: string }>
  t.notOk(events.some((e) => e.type === 'failover_requested'), 'the new leader never requested a failover of its own')
  t.ok(events.some((e) => e.type === 'failover_completed'), 'and saw the one in progress complete')
})
