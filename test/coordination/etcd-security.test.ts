import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Etcd3 } from 'etcd3'
import { certificateAuthority } from '../helpers/certs.js'
import { roleOf, startFleet } from '../../tools/fleet.js'
import { waitFor } from '../../tools/wait-for.js'
import type { Service } from '../../tools/stack.js'

// The etcd client's TLS and authentication settings against a real etcd: with
// the right ones a sidecar leads, with wrong ones it never reaches etcd, and a
// password never shows in what the sidecar logs or serves.

const coordination = async (svc: Service) => (await svc.get('/clusters')).body.coordination

// Unreachable is what a sidecar with wrong settings reports, from its first round on.
async function neverConnected(t: Test, svc: Service, what: string) {
  t.match(svc.fastify.coordination?.status(), { connected: false, role: 'none', leader: null }, `${what}: not connected, leads nothing`)
  t.match(await coordination(svc), { connected: false, role: 'none' }, `${what}: /clusters says so`)
}

t.test('TLS: with the CA and a client certificate a sidecar leads; without the certificate it never connects', async (t) => {
  const certs = certificateAuthority()
  t.teardown(() => rmSync(certs.dir, { recursive: true, force: true }))
  const fleet = await startFleet(t, {
    etcd: {
      size: 1,
      tls: { caFile: certs.ca, certFile: certs.server.cert, keyFile: certs.server.key, clientCertFile: certs.client.cert, clientKeyFile: certs.client.key }
    }
  })
  t.match(fleet.env.ETCD_ENDPOINTS, /^https:\/\/127\.0\.0\.1:\d+$/, 'the member is reached over https')

  // Started first and alone: had it reached etcd it would lead.
  const anonymous = await fleet.start('sidecar-anonymous', { ETCD_CA_FILE: certs.ca })
  await neverConnected(t, anonymous, 'CA only, no client certificate')

  const a = await fleet.start('sidecar-a', { ETCD_CA_FILE: certs.ca, ETCD_CERT_FILE: certs.client.cert, ETCD_KEY_FILE: certs.client.key })
  await waitFor('sidecar-a leads over TLS', () => roleOf(a) === 'leader')
  t.match(await coordination(a), { connected: true, role: 'leader', leader_id: 'sidecar-a' }, '/clusters says it leads')
  // That it never connects can only be shown over time: one more of its rounds, a third of
  // the lease TTL, changes nothing either.
  await sleep((Number(fleet.env.ETCD_LEASE_TTL) * 1000) / 3)
  await neverConnected(t, anonymous, 'still, a round later')
})

t.test('authentication: the right user and password lead; a wrong password never connects and no password leaks', async (t) => {
  const fleet = await startFleet(t, { etcd: { size: 1 } })
  const prefix = fleet.env.ETCD_PREFIX as string
  const rootPassword = `root-${randomUUID()}`
  const password = `pcr-${randomUUID()}`
  const wrongPassword = `wrong-${randomUUID()}`

  const setup = new Etcd3({ hosts: fleet.etcd.endpoints, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } })
  try {
    // etcd enables authentication only with a root user holding the root role.
    await setup.user('root').create(rootPassword)
    await setup.user('root').addRole('root')
    await setup.role('pcr').create()
    await setup.role('pcr').grant({ permission: 'Readwrite', range: setup.range({ prefix }) })
    await setup.user('pcr').create(password)
    await setup.user('pcr').addRole('pcr')
    await setup.auth.authEnable()
  } finally {
    setup.close()
  }

  // Started first and alone: had it reached etcd it would lead.
  const wrong = await fleet.start('sidecar-wrong', { ETCD_USERNAME: 'pcr', ETCD_PASSWORD: wrongPassword })
  await neverConnected(t, wrong, 'wrong password')
  const anonymous = await fleet.start('sidecar-anonymous')
  await neverConnected(t, anonymous, 'no credentials')

  const a = await fleet.start('sidecar-a', { ETCD_USERNAME: 'pcr', ETCD_PASSWORD: password })
  await waitFor('sidecar-a leads as pcr', () => roleOf(a) === 'leader')
  t.match(await coordination(a), { connected: true, role: 'leader', leader_id: 'sidecar-a' }, '/clusters says it leads')
  // Observations and the leader's view are written under the prefix too.
  await waitFor('sidecar-a has finished a check', () => a.fastify.engine.snapshot().checks >= 1)
  t.equal(roleOf(a), 'leader', 'still leads after writing under the prefix')
  await neverConnected(t, wrong, 'wrong password, once another leads')

  for (const [svc, secret] of [
    [a, password],
    [wrong, wrongPassword]
  ] as const) {
    const id = svc.config.coordination.etcd?.sidecarId
    t.ok(svc.lines.length > 0, `${id} logged`)
    t.notOk(
      svc.lines.some((line) => line.includes(secret)),
      `${id}: the password is in none of its log lines`
    )
    for (const path of ['/clusters', '/metrics', '/events', '/events?limit=500']) {
      const res = await svc.get(path)
      t.equal(res.status, 200, `${id} ${path}`)
      const body = typeof res.body === 'string' ? res.body : JSON.stringify(res.body)
      t.notOk(body.includes(secret), `${id}: the password is not in ${path}`)
      t.notOk(body.includes(rootPassword), `${id}: nor the root password`)
    }
  }
})
