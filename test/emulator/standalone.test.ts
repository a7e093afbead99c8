import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import {
  DEFAULT_API_KEY,
  DEFAULT_PRIMARY_ID,
  DEFAULT_STANDBY_ID,
  DEFAULT_STREAM_ID,
  defaultClusterSeeds
} from '../../src/emulator/seed.js'
import { runnerExecArgv } from '../../tools/child-env.js'
import { baseUrl, startEmulator } from '../../src/emulator/server.js'
import { banner, parseEmulatorEnv } from '../../src/emulator/standalone.js'

t.test('no variables: the defaults', async (t) => {
  t.strictSame(parseEmulatorEnv({ PATH: '/usr/bin' }), {
    host: '127.0.0.1',
    port: 8090,
    options: { apiKey: DEFAULT_API_KEY, timings: {}, clusters: defaultClusterSeeds(), stream: 'replicating' }
  })
})

t.test('every variable', async (t) => {
  const config = parseEmulatorEnv({
    EMULATOR_HOST: '0.0.0.0',
    EMULATOR_PORT: '0',
    EMULATOR_API_KEY: 'k',
    EMULATOR_STARTING_SECONDS: '2.5',
    EMULATOR_FAILOVER_SECONDS: '3',
    EMULATOR_LAG_SECONDS: '0',
    EMULATOR_INITIAL_SCAN_SECONDS: '60',
    EMULATOR_STEP_SECONDS: '0.5',
    EMULATOR_CATCH_UP_RATE: '8',
    EMULATOR_STALL_CANCEL_SECONDS: '600',
    EMULATOR_PRIMARY_ID: 'p',
    EMULATOR_STANDBY_ID: 's',
    EMULATOR_PRIMARY_SQL_DNS: '127.0.0.1',
    EMULATOR_STANDBY_SQL_DNS: 'localhost',
    EMULATOR_STREAM: 'none'
  })
  t.strictSame(config, {
    host: '0.0.0.0',
    port: 0,
    options: {
      apiKey: 'k',
      timings: {
        startingSeconds: 2.5,
        failoverSeconds: 3,
        lagSeconds: 0,
        initialScanSeconds: 60,
        replicationStepSeconds: 0.5,
        catchUpRate: 8,
        stallCancelSeconds: 600
      },
      clusters: defaultClusterSeeds({ primary: { id: 'p', sqlDns: '127.0.0.1' }, standby: { id: 's', sqlDns: 'localhost' } }),
      stream: 'none'
    }
  })
})

t.test('a read-only key and the status of the rate limit', async (t) => {
  const config = parseEmulatorEnv({ EMULATOR_READONLY_API_KEY: 'reader', EMULATOR_RATE_LIMIT_STATUS: '503' })
  t.strictSame(config.options.apiKeys, [{ key: 'reader', roles: ['CLUSTER_DEVELOPER'] }])
  t.strictSame(config.options.rateLimit, { perSecond: 10, status: 503 })
  t.throws(() => parseEmulatorEnv({ EMULATOR_RATE_LIMIT_STATUS: '500' }), /EMULATOR_RATE_LIMIT_STATUS/)
  const text = banner('http://h:1', config)
  t.match(text, '  read-only: Bearer <the key in EMULATOR_READONLY_API_KEY> (CLUSTER_DEVELOPER)')
  t.notMatch(text, 'reader')

  const emulator = await startEmulator({ ...config.options, host: '127.0.0.1', port: 0 })
  t.teardown(() => emulator.close())
  const call = (method: string, path: string) =>
    fetch(`${emulator.url}/api/v1${path}`, { method, headers: { authorization: 'Bearer reader' }, body: method === 'GET' ? undefined : '{}' })
  t.equal((await call('GET', `/physical-replication-streams/${DEFAULT_STREAM_ID}`)).status, 200, 'it reads streams')
  t.equal((await call('PATCH', `/physical-replication-streams/${DEFAULT_STREAM_ID}`)).status, 403, 'and changes nothing')
})

t.test('an empty variable counts as unset', async (t) => {
  t.strictSame(parseEmulatorEnv({ EMULATOR_PORT: '', EMULATOR_PRIMARY_ID: '' }), parseEmulatorEnv({}))
})

t.test('bad values: one line per problem', async (t) => {
  t.throws(
    () =>
      parseEmulatorEnv({
        EMULATOR_PORT: '70000',
        EMULATOR_LAG_SECONDS: '-1',
        EMULATOR_FAILOVER_SECONDS: 'soon',
        EMULATOR_STREAM: 'paused'
      }),
    {
      message: [
        'invalid emulator environment:',
        'EMULATOR_PORT: must be a port number',
        'EMULATOR_FAILOVER_SECONDS: must be a number of seconds',
        'EMULATOR_LAG_SECONDS: must be a number of seconds',
        'EMULATOR_STREAM: Invalid option: expected one of "replicating"|"starting"|"none"'
      ].join('\n')
    }
  )
  t.throws(() => parseEmulatorEnv({ EMULATOR_PORT: 'http' }), /EMULATOR_PORT: must be a port number/)
})

t.test('the banner shows the URL, the key when it is the default, and the clusters', async (t) => {
  const text = banner('http://127.0.0.1:8090', parseEmulatorEnv({}))
  t.equal(
    text,
    [
      'Cloud API emulator listening on http://127.0.0.1:8090',
      '  API:     http://127.0.0.1:8090/api/v1  (Authorization: Bearer emulator-secret-key)',
      '  control: http://127.0.0.1:8090/_emulator/state',
      `  primary: ${DEFAULT_PRIMARY_ID}  pcr-primary in us-east1`,
      `  standby: ${DEFAULT_STANDBY_ID}  pcr-standby in us-west2`,
      '  stream:  replicating'
    ].join('\n')
  )
  const secret = banner('http://h:1', parseEmulatorEnv({ EMULATOR_API_KEY: 'very-secret' }))
  t.notMatch(secret, 'very-secret')
  t.match(secret, 'Bearer <the key in EMULATOR_API_KEY>')
})

const main = fileURLToPath(new URL('../../src/emulator/main.ts', import.meta.url))

// The child runs under this test's own TypeScript loader (tsx for npm run
// emulator, tap's under tap), so its coverage maps onto the same sources.
function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [...runnerExecArgv(), main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  return { child, stdout: () => stdout, stderr: () => stderr }
}

t.test('npm run emulator: serves until SIGTERM', async (t) => {
  const proc = run({ EMULATOR_PORT: '0', EMULATOR_STREAM: 'starting', EMULATOR_API_KEY: 'k' })
  t.teardown(() => proc.child.kill('SIGKILL'))
  while (!proc.stdout().includes('stream:')) await once(proc.child.stdout, 'data')
  const url = /listening on (http:\S+)/.exec(proc.stdout())?.[1]
  t.ok(url, 'prints its URL')
  const answer = await fetch(`${url}/api/v1/physical-replication-streams`, { headers: { authorization: 'Bearer k' } })
  const body = (await answer.json()) as { physical_replication_streams: Array<{ status: string }> }
  t.equal(body.physical_replication_streams[0]?.status, 'STARTING')
  proc.child.kill('SIGTERM')
  const [code] = await once(proc.child, 'exit')
  t.equal(code, 0)
})

t.test('npm run emulator: a bad environment stops it with the problems', async (t) => {
  const proc = run({ EMULATOR_STREAM: 'sideways' })
  const [code] = await once(proc.child, 'exit')
  t.equal(code, 1)
  t.match(proc.stderr(), /EMULATOR_STREAM: Invalid option/)
})

t.test('the URL of a listening emulator', async (t) => {
  t.equal(baseUrl('127.0.0.1', 8090), 'http://127.0.0.1:8090')
  t.equal(baseUrl('localhost', 1), 'http://localhost:1')
  t.equal(baseUrl('::1', 8090), 'http://[::1]:8090')
})
