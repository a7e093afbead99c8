import t from 'tap'
import { PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'
import { directEnv, errors, pcr, remote } from './fixtures/pcr.js'

const disruptionOf = async (cloud: Awaited<ReturnType<typeof startFakeCloud>>, id: string) =>
  (await cloud.control('GET', '/state')).clusters.find((c: { id: string }) => c.id === id).disruption

t.test('simulate disrupt needs the cluster id repeated: --confirm, or typed at a terminal', async (t) => {
  const cloud = await startFakeCloud(t)
  const env = directEnv(cloud)

  const noTty = await pcr(['simulate', 'disrupt'], { env })
  t.equal(noTty.code, 2)
  t.equal(errors(noTty), 'pcr: refusing to disrupt a cluster without confirmation: stdin is not a terminal, pass --yes')
  t.same(await cloud.requests(), [], 'nothing was asked of the API')

  const mistyped = await pcr(['simulate', 'disrupt'], { env, tty: STANDBY })
  t.equal(mistyped.code, 1)
  t.match(mistyped.stderr, `This takes cluster ${PRIMARY} (pcr-primary) down through the Cloud API.\nType its id to disrupt it: `)
  t.match(errors(mistyped), /pcr: not confirmed \(the id typed differs\); nothing was changed$/)

  const wrongFlag = await pcr(['simulate', 'disrupt', '--confirm', STANDBY], { env })
  t.equal(wrongFlag.code, 2)
  t.equal(errors(wrongFlag), `pcr: a disruption takes cluster ${PRIMARY} down: repeat its id in "confirm"`)
  t.same(await disruptionOf(cloud, PRIMARY), [])

  const typed = await pcr(['simulate', 'disrupt'], { env, tty: PRIMARY })
  t.equal(typed.code, 0, typed.stderr)
  t.equal(typed.stdout, `${PRIMARY}  whole region us-east1\n`)
  t.same(await disruptionOf(cloud, PRIMARY), [{ region_code: 'us-east1', is_whole_region: true }])

  const status = await pcr(['simulate', 'status'], { env })
  t.equal(status.stdout, `${PRIMARY}  whole region us-east1\n${STANDBY}  not disrupted\n`)

  const restored = await pcr(['simulate', 'restore'], { env })
  t.equal(restored.code, 0)
  t.equal(restored.stdout, `${PRIMARY}  not disrupted\n`, 'every disrupted cluster, and only those')
  const nothing = await pcr(['simulate', 'restore'], { env })
  t.equal(nothing.stdout, 'no cluster is disrupted; nothing to restore\n')
})

t.test('simulate disrupt of pods, azs, another cluster; JSON answers', async (t) => {
  const cloud = await startFakeCloud(t)
  const env = directEnv(cloud)
  const pods = await pcr(['simulate', 'disrupt', '--confirm', PRIMARY, '--pods', 'cockroachdb-0,cockroachdb-1'], { env })
  t.equal(pods.code, 0, pods.stderr)
  t.equal(pods.stdout, `${PRIMARY}  cockroachdb-0, cockroachdb-1 in us-east1\n`)
  const azs = await pcr(['simulate', 'disrupt', '--cluster', STANDBY, '--confirm', STANDBY, '--azs', 'us-west2-a', '--region', 'us-west2', '--json'], { env })
  t.equal(azs.code, 0, azs.stderr)
  t.same(JSON.parse(azs.stdout), { clusters: [{ cluster_id: STANDBY, regional_disruptor_specifications: [{ region_code: 'us-west2', is_whole_region: false, azs: ['us-west2-a'] }] }] })

  const status = JSON.parse((await pcr(['simulate', 'status', '--json'], { env })).stdout)
  t.same(status.clusters.map((c: { cluster_id: string }) => c.cluster_id), [PRIMARY, STANDBY])
  t.equal(status.clusters[0].regional_disruptor_specifications[0].pods.length, 2)

  const one = await pcr(['simulate', 'restore', '--cluster', STANDBY, '--json'], { env })
  t.same(JSON.parse(one.stdout), { clusters: [{ cluster_id: STANDBY, regional_disruptor_specifications: [] }] })
  t.same(await disruptionOf(cloud, STANDBY), [])
  t.equal((await disruptionOf(cloud, PRIMARY)).length, 1, 'the other one stays disrupted')
  const none = await pcr(['simulate', 'restore', '--json'], { env })
  t.same(JSON.parse(none.stdout), { clusters: [{ cluster_id: PRIMARY, regional_disruptor_specifications: [] }] })

  const stranger = 'c0ffee00-0000-4000-8000-00000000dead'
  const unknown = await pcr(['simulate', 'disrupt', '--cluster', stranger, '--confirm', stranger], { env })
  t.equal(unknown.code, 2)
  t.equal(errors(unknown), `pcr: cluster ${stranger} is neither configured cluster`)
})

t.test('simulate in remote mode: the service disrupts, reports and restores', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const args = remote(svc)
  const disrupted = await pcr([...args, 'simulate', 'disrupt', '--confirm', PRIMARY])
  t.equal(disrupted.code, 0, disrupted.stderr)
  t.equal(disrupted.stdout, `${PRIMARY}  whole region us-east1\n`)
  await svc.waitForEvent('disruption_changed')
  const status = await pcr([...args, 'simulate', 'status'])
  t.equal(status.stdout, `${PRIMARY}  whole region us-east1\n${STANDBY}  not disrupted\n`)
  const restored = await pcr([...args, 'simulate', 'restore'])
  t.equal(restored.stdout, `${PRIMARY}  not disrupted\n`)
  t.same(await disruptionOf(cloud, PRIMARY), [])
})
