import t from 'tap'
import { Etcd3 } from 'etcd3'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { startEtcdCluster } from '../../tools/etcd.js'

// A client per step, with connections of its own: etcd3's circuit breakers and
// grpc's shared connections back off from members that were down.
async function withClient<T>(hosts: string[], use: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3({ hosts, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } })
  try {
    return await use(client)
  } finally {
    client.close()
  }
}

const put = (hosts: string[], key: string, value: string) =>
  withClient(hosts, (client) =>
    client
      .put(key)
      .value(value)
      .options({ deadline: Date.now() + 1000 })
      .exec()
  )

/** Milliseconds until a put succeeds; writes fail while a new leader is elected. */
async function writable(hosts: string[], key: string): Promise<number> {
  const started = performance.now()
  for (;;) {
    try {
      await put(hosts, key, 'v')
      return Math.round(performance.now() - started)
    } catch (err) {
      if (performance.now() - started > 10_000) throw err
    }
  }
}

function commandLinesMentioning(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`)
    } catch {
      // The process exited while we looked.
    }
  }
  return found
}

t.test('a cluster keeps its data and loses and regains quorum as members stop and start', async (t) => {
  let started = performance.now()
  const etcd = await startEtcdCluster(t)
  t.comment(`three members healthy: ${Math.round(performance.now() - started)} ms`)
  const [one, two, three] = etcd.members
  if (one === undefined || two === undefined || three === undefined) throw new Error('expected three members')
  t.same(etcd.endpoints, [one.clientUrl, two.clientUrl, three.clientUrl])
  for (const url of [...etcd.endpoints, one.peerUrl]) t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(new Set([...etcd.endpoints, ...etcd.members.map((m) => m.peerUrl)]).size, 6, 'six distinct ports')
  t.ok(etcd.members.every((m) => m.running()), 'all running')

  await put([one.clientUrl], 'greeting', 'hello')
  t.equal(await withClient([three.clientUrl], (client) => client.get('greeting').string()), 'hello')

  started = performance.now()
  await one.stop()
  t.comment(`stop: ${Math.round(performance.now() - started)} ms`)
  t.notOk(one.running(), 'stopped')
  await one.stop()
  t.comment(`writable with two of three after ${await writable(etcd.endpoints, 'after-one')} ms`)

  await two.stop()
  started = performance.now()
  await t.rejects(put(etcd.endpoints, 'after-two', 'v'), { message: /DEADLINE_EXCEEDED/ }, 'no quorum with one')
  t.comment(`write without quorum failed after ${Math.round(performance.now() - started)} ms`)

  started = performance.now()
  await two.start()
  t.comment(`restart: ${Math.round(performance.now() - started)} ms`)
  t.ok(two.running(), 'running again')
  await two.start()
  await etcd.healthy()
  t.comment(`healthy again after ${Math.round(performance.now() - started)} ms`)
  t.comment(`writable again after ${await writable(etcd.endpoints, 'after-restart')} ms`)
  t.equal(
    await withClient([two.clientUrl], (client) => client.get('greeting').string()),
    'hello',
    'the restarted member kept its data'
  )

  t.equal(commandLinesMentioning(etcd.dir).length, 2, 'two members running')
  await etcd.destroy()
  t.same(commandLinesMentioning(etcd.dir), [], 'no etcd process left')
  t.notOk(existsSync(etcd.dir), 'data removed')
  t.notOk(two.running(), 'stopped')
  await etcd.destroy()
})

t.test('a port taken meanwhile moves the cluster to other ports', async (t) => {
  const squatter = createServer()
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
  t.teardown(() => squatter.close())
  const taken = (squatter.address() as AddressInfo).port
  const real = await import('../../tools/unused-port.js')
  let handedOut = false
  const unusedPort = async () => {
    if (handedOut) return real.unusedPort()
    handedOut = true
    return taken
  }
  // Mocks reach only the imported module's own imports, hence the two steps.
  const daemon = await t.mockImport('../../tools/daemon.js', { '../../tools/unused-port.js': { unusedPort } })
  const { startEtcdCluster } = await t.mockImport<typeof import('../../tools/etcd.js')>('../../tools/etcd.js', { '../../tools/daemon.js': daemon })
  const etcd = await startEtcdCluster(t, { size: 1 })
  t.ok(handedOut, 'the taken port was tried')
  t.not(etcd.endpoints[0], `http://127.0.0.1:${taken}`)
  t.equal(await withClient(etcd.endpoints, (client) => client.get('absent').string()), null, 'serving')
})
