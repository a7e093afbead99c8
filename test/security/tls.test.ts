import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { DEFAULT_API_KEY } from '../../src/emulator/seed.js'
import { selfSigned } from '../helpers/certs.js'
import { untracedEnv } from '../../tools/child-env.js'
import { spawnServer } from '../../tools/spawn-server.js'
import { PRIMARY, STANDBY, startFakeCloud } from '../../tools/stack.js'

const run = (env: Record<string, string>) => spawnServer({ env: untracedEnv(env) })

t.test('with TLS_CERT_FILE and TLS_KEY_FILE the server answers over HTTPS', async (t) => {
  const cloud = await startFakeCloud(t)
  const { cert, key } = selfSigned()
  const p = run({
    COCKROACH_API_URL: cloud.url,
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    HEALTH_CHECK_INTERVAL: '0.1',
    HOST: '127.0.0.1',
    PORT: '0',
    TLS_CERT_FILE: cert,
    TLS_KEY_FILE: key
  })
  t.teardown(() => p.child.kill('SIGTERM'))
  const url = await p.listening()
  t.match(url, /^https:/)
  const dispatcher = new Agent({ connect: { ca: readFileSync(cert) } })
  t.teardown(() => dispatcher.close())
  const res = await request(`${url}/health`, { dispatcher })
  t.equal(res.statusCode, 200)
  t.match(await res.body.json(), { status: 'ok' })
  await t.rejects(request(`${url}/health`), /self-signed|certificate/i, 'an untrusted client is refused by TLS itself')
  p.child.kill('SIGTERM')
  t.equal(await p.exited, 0)
})

t.test('a TLS file that cannot be read stops the process with one line', async (t) => {
  const { dir, cert } = selfSigned()
  const p = run({
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    TLS_CERT_FILE: cert,
    TLS_KEY_FILE: join(dir, 'no-such-key.pem')
  })
  t.equal(await p.exited, 2)
  t.equal(p.stderr(), 'pcr-sidecar: invalid configuration:\nTLS_KEY_FILE: must be a readable file\n')
})

t.test('readable TLS files that are not a certificate and key stop the process with one line', async (t) => {
  const { dir, key } = selfSigned()
  const garbage = join(dir, 'garbage.pem')
  writeFileSync(garbage, 'not a certificate\n')
  const p = run({
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    PRIMARY_CLUSTER_ID: PRIMARY,
    STANDBY_CLUSTER_ID: STANDBY,
    TLS_CERT_FILE: garbage,
    TLS_KEY_FILE: key
  })
  t.equal(await p.exited, 2)
  t.match(p.stderr(), /^pcr-sidecar: TLS_CERT_FILE \/ TLS_KEY_FILE: not a usable certificate and key \(.+\)\n$/)
  t.notMatch(p.stderr(), /\n\s+at /, 'no stack trace')
})
