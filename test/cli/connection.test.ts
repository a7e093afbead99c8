import t from 'tap'
import { spawnSync } from 'node:child_process'
import { unusedPort } from '../../tools/unused-port.js'
import { PRIMARY, STANDBY, admin, startFakeCloud, startService } from '../../tools/stack.js'
import { directEnv, errors, pcr, remote } from './fixtures/pcr.js'

// `pcr connection`: where applications connect now, for scripts and legacy
// applications (the Python tool's environment-variable pattern), from the Cloud
// API directly or from a running sidecar. A password only when asked for.

// What a shell sees after eval "$(pcr connection --env)".
function evaluated(script: string): Record<string, string> {
  const run = spawnSync('/bin/sh', ['-c', `${script}\nenv`], { env: { PATH: process.env.PATH }, encoding: 'utf8' })
  return Object.fromEntries(
    run.stdout
      .split('\n')
      .filter((line) => line.startsWith('PG'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  )
}

t.test('the connection string of the active cluster, the same from the Cloud API and from a sidecar; no password unless asked', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const active = (await svc.get('/active')).body
  const plain = `postgresql://${active.host}:${active.port}/defaultdb?sslmode=verify-full`

  const direct = await pcr(['connection'], { env: directEnv(cloud, { PGPASSWORD: 'never-shown' }) })
  t.equal(direct.code, 0, direct.stderr)
  t.equal(direct.stdout, `${plain}\n`)
  const viaSidecar = await pcr([...remote(svc), 'connection'], { env: { PGPASSWORD: 'never-shown' } })
  t.equal(viaSidecar.code, 0, viaSidecar.stderr)
  t.equal(viaSidecar.stdout, direct.stdout, 'remote mode: the sidecar’s /active')
  t.notOk(svc.lines.some((line) => line.includes('never-shown')), 'the password is not sent to the sidecar')

  const user = await pcr(['connection'], { env: directEnv(cloud, { PGUSER: 'app', PGPASSWORD: 'never-shown' }) })
  t.equal(user.stdout, `postgresql://app@${active.host}:${active.port}/defaultdb?sslmode=verify-full\n`, 'PGUSER, no password')
  t.notMatch(user.stdout + user.stderr, 'never-shown')

  // The password, when asked for, encoded as the sidecar's /connection encodes it.
  const password = "p@ss:w/rd'!"
  const withPassword = await pcr(['connection', '--user', 'app user', '--with-password'], { env: directEnv(cloud, { PGPASSWORD: password }) })
  t.equal(withPassword.code, 0, withPassword.stderr)
  const served = (await svc.get('/connection', { 'x-db-username': 'app user', 'x-db-password': password })).body
  t.equal(withPassword.stdout, `${served.connection_string}\n`)
  const url = new URL(withPassword.stdout.trim())
  t.equal(decodeURIComponent(url.password), password)

  const json = await pcr(['connection', '--json'], { env: directEnv(cloud) })
  t.same(JSON.parse(json.stdout), { ...active, connection_string: plain }, '--json: the /active answer and the string')
})

t.test('--env: lines a shell can eval, from either mode; quoting survives any password', async (t) => {
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  const active = (await svc.get('/active')).body
  const direct = await pcr(['connection', '--env'], { env: directEnv(cloud) })
  t.equal(direct.code, 0, direct.stderr)
  t.same(direct.stdout.trimEnd().split('\n'), [
    `export PGHOST='${active.host}'`,
    `export PGPORT='${active.port}'`,
    "export PGDATABASE='defaultdb'",
    "export PGSSLMODE='verify-full'"
  ])
  t.same(evaluated(direct.stdout), { PGHOST: active.host, PGPORT: String(active.port), PGDATABASE: 'defaultdb', PGSSLMODE: 'verify-full' })
  const viaSidecar = await pcr([...remote(svc), 'connection', '--env'])
  t.equal(viaSidecar.stdout, direct.stdout)

  const password = `it's "$(rm -rf /)" \`x\``
  const full = await pcr(['connection', '--env', '--user', 'app', '--with-password'], { env: directEnv(cloud, { PGPASSWORD: password }) })
  t.equal(full.code, 0, full.stderr)
  t.match(evaluated(full.stdout), { PGUSER: 'app', PGPASSWORD: password, PGHOST: active.host })
  const noPassword = await pcr(['connection', '--env'], { env: directEnv(cloud, { PGUSER: 'app', PGPASSWORD: password }) })
  t.notMatch(noPassword.stdout, 'PGPASSWORD')
  t.match(noPassword.stdout, "export PGUSER='app'")
})

t.test('after a failover it names the standby; while failing over there is none to name (exit 1)', async (t) => {
  const cloud = await startFakeCloud(t, { timings: { failoverSeconds: 30 } })
  const svc = await startService(t, cloud)
  await svc.fastify.engine.nextCheck()
  t.equal((await svc.post('/admin/failover', {}, admin)).status, 202)
  const during = await pcr([...remote(svc), 'connection'])
  t.equal(during.code, 1)
  t.equal(during.stdout, '')
  t.equal(errors(during), 'pcr: no cluster is handed to applications now: a failover is under way; try again shortly')
  const direct = await pcr(['connection'], { env: directEnv(cloud) })
  t.equal(direct.code, 1)
  t.equal(errors(direct), 'pcr: no cluster is handed to applications now: a failover is under way; try again shortly')

  const done = await startFakeCloud(t)
  const failover = await pcr(['failover', '--yes'], { env: directEnv(done) })
  t.equal(failover.code, 0, failover.stderr)
  const after = await pcr(['connection', '--json'], { env: directEnv(done) })
  t.equal(after.code, 0, after.stderr)
  t.match(JSON.parse(after.stdout), { cluster_id: STANDBY, role: 'standby' })
  t.not(JSON.parse(after.stdout).cluster_id, PRIMARY)
})

t.test('unreachable Cloud API or sidecar: exit 3; a missing password or user: exit 2; --help says when a password is printed', async (t) => {
  const port = await unusedPort()
  const down = await pcr(['connection'], { env: directEnv({ url: `http://127.0.0.1:${port}` } as never) })
  t.equal(down.code, 3)
  t.match(errors(down), /^pcr: the active cluster is not known: streams not readable: listStreams: network error/)
  const noSidecar = await pcr(['--url', `http://127.0.0.1:${port}`, 'connection'])
  t.equal(noSidecar.code, 3)
  t.match(errors(noSidecar), /^pcr: cannot reach the sidecar at http:\/\/127\.0\.0\.1:\d+/)

  const cloud = await startFakeCloud(t)
  const noPassword = await pcr(['connection', '--with-password', '--user', 'app'], { env: directEnv(cloud) })
  t.equal(noPassword.code, 2)
  t.equal(errors(noPassword), 'pcr: --with-password takes the password from PGPASSWORD, which is not set (it is never read from the command line)')
  const noUser = await pcr(['connection', '--with-password'], { env: directEnv(cloud, { PGPASSWORD: 'x' }) })
  t.equal(noUser.code, 2)
  t.equal(errors(noUser), 'pcr: --with-password needs a user: --user or PGUSER')
  const both = await pcr(['connection', '--env', '--json'], { env: directEnv(cloud) })
  t.equal(both.code, 2)

  const help = await pcr(['connection', '--help'])
  t.equal(help.code, 0)
  const text = help.stdout.replace(/\s+/g, ' ')
  t.match(text, 'Usage: pcr connection [options]')
  t.match(text, 'eval "$(pcr connection --env)"')
  t.match(text, 'The password is never printed without --with-password')
  t.match(text, '--with-password include the password (with --env, a PGPASSWORD line), taken from PGPASSWORD, never from the command line')
  const top = await pcr(['--help'])
  t.match(top.stdout, /^ {2}connection\b/m)
})
