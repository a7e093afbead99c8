import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { haproxyBin, haproxyConfig } from '../../tools/haproxy.js'
import { landsOn, openVia, startProxiedPair, within } from '../../tools/proxied-pair.js'
import { PRIMARY, STANDBY, admin } from '../../tools/stack.js'

const exampleEnv = Object.fromEntries(
  readFileSync(new URL('../../proxy/haproxy/haproxy.env.example', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
)

function check(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(haproxyBin, ['-c', '-f', haproxyConfig], { env: { PATH: process.env.PATH, ...env } }, (err, stdout, stderr) => {
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, output: stdout + stderr })
    })
  })
}

t.test('haproxy.cfg is valid with the example environment', async (t) => {
  const { code, output } = await check(exampleEnv)
  t.equal(code, 0, output)
  t.match(output, /Configuration file is valid/)
})

t.test('haproxy.cfg names what is missing', async (t) => {
  const { PRIMARY_SQL_ADDR: _, ...rest } = exampleEnv
  for (const env of [rest, { ...rest, PRIMARY_SQL_ADDR: '' }]) {
    const { code, output } = await check(env)
    t.equal(code, 1, output)
    t.match(output, /PRIMARY_CLUSTER_ID, STANDBY_CLUSTER_ID, PRIMARY_SQL_ADDR, STANDBY_SQL_ADDR and SIDECAR_ADDR are required/)
  }
})

t.test('SQL through HAProxy follows the failover and old sessions are cut', async (t) => {
  const failoverSeconds = 0.5
  const pair = await startProxiedPair(t, { timings: { failoverSeconds } })
  const { primary, standby, cloud, svc, proxy } = pair

  // Right after HAProxy starts both servers still count as up, and it refuses
  // connections until the standby's first check has failed.
  const first = await pair.until('a connection through HAProxy', () => landsOn(proxy))
  t.equal(first, primary.port, 'lands on the primary')
  const ports = []
  for (let i = 0; i < 10; i++) ports.push(await landsOn(proxy))
  t.same(ports, Array(10).fill(primary.port), 'the standby takes nothing while the primary is active')

  const held = await openVia(proxy)
  t.equal(held.port, primary.port)

  // A planned failover: the primary keeps serving SQL throughout (its endpoint stays
  // open, a cluster that lost its majority would refuse), so the held session can
  // only end because HAProxy cut it.
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  const landed: number[] = []
  const switchedAt = await pair.until('a new connection through HAProxy reaches the standby', async () => {
    const port = await landsOn(proxy)
    landed.push(port)
    return port === standby.port ? Date.now() : undefined
  })
  for (let i = 0; i < 10; i++) landed.push(await landsOn(proxy))
  const back = landed.findIndex((port, i) => port === primary.port && landed.slice(0, i).includes(standby.port))
  t.equal(back, -1, 'once on the standby, no connection goes back to the primary')
  t.same(landed.slice(-10), Array(10).fill(standby.port), 'every new connection lands on the standby')

  const cut = await within(held.ended, 60_000, 'the held session to the primary ends')
  t.match(cut?.message, /Connection terminated unexpectedly/, 'the held session was cut')
  await t.rejects(held.client.query('select 1'), 'the held session is unusable')
  const direct = new pg.Client({ connectionString: primary.url() })
  await direct.connect()
  t.same((await direct.query('select 1 as one')).rows, [{ one: 1 }], "the primary's PostgreSQL itself is still up")
  await direct.end()
  t.match(proxy.output(), new RegExp(`Server cockroach/${PRIMARY} is DOWN`))
  t.match(proxy.output(), new RegExp(`Server cockroach/${STANDBY} is UP`))

  const completed = await svc.waitForEvent('failover_completed')
  const patch = (await cloud.requests()).find((r) => r.method === 'PATCH') as { at: string } | undefined
  const completedAt = Date.parse(patch!.at) + failoverSeconds * 1000
  t.comment(
    `stream COMPLETED (emulator) → sidecar saw it ${Date.parse(completed.at) - completedAt} ms, ` +
      `first connection on the standby ${switchedAt - completedAt} ms`
  )
})
