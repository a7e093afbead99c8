import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { startEmulator } from '../src/emulator/server.js'
import { DEFAULT_API_KEY, DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID } from '../src/emulator/seed.js'
import { waitFor } from '../tools/wait-for.js'

// npm run demo: the Cloud API emulator and the real service (src/server.ts, as a
// child process) on a fast timeline, then a disruption of the primary, the
// failover it causes, and /connection switching to the standby, measured.
// --no-outage leaves the pair healthy; --exit stops once the scenario is over.

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    'emulator-port': { type: 'string', default: '8090' },
    'no-outage': { type: 'boolean', default: false },
    exit: { type: 'boolean', default: false }
  }
})

const timeline = { interval: 1, timeout: 2, threshold: 3, delay: 2, failover: 5 }
const adminToken = 'demo-admin-token-change-me'
const service = `http://127.0.0.1:${args.port}`
const credentials = { 'x-db-username': 'app', 'x-db-password': 'demo-password' }

const emulator = await startEmulator({
  port: Number(args['emulator-port']),
  timings: { startingSeconds: 10, failoverSeconds: timeline.failover, lagSeconds: 2, disruptionApplySeconds: 1 }
})

const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
  cwd: new URL('..', import.meta.url),
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    COCKROACH_API_URL: emulator.url,
    COCKROACH_API_SECRET_KEY: DEFAULT_API_KEY,
    PRIMARY_CLUSTER_ID: DEFAULT_PRIMARY_ID,
    STANDBY_CLUSTER_ID: DEFAULT_STANDBY_ID,
    HEALTH_CHECK_INTERVAL: String(timeline.interval),
    HEALTH_CHECK_TIMEOUT: String(timeline.timeout),
    FAILURE_THRESHOLD: String(timeline.threshold),
    FAILOVER_DELAY: String(timeline.delay),
    ADMIN_TOKEN: adminToken,
    PORT: args.port,
    HOST: '127.0.0.1'
  }
})

async function stop(code: number): Promise<never> {
  child.removeAllListeners('exit')
  child.kill('SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
  await emulator.close()
  process.exit(code)
}
process.once('SIGINT', () => void stop(0))
process.once('SIGTERM', () => void stop(0))
child.once('exit', (code) => {
  process.stderr.write(`the service exited (${code})\n`)
  void emulator.close().then(() => process.exit(1))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

async function connectionCluster(): Promise<string | undefined> {
  try {
    const res = await fetch(`${service}/connection`, { headers: credentials })
    return res.ok ? ((await res.json()) as { cluster_id: string }).cluster_id : undefined
  } catch {
    return undefined
  }
}

// A wait that runs out stops everything.
async function giveUp(err: Error): Promise<never> {
  process.stderr.write(`demo: gave up waiting for ${err.message}\n`)
  return stop(1)
}

await waitFor('the service to be ready', async () => (await connectionCluster()) === DEFAULT_PRIMARY_ID, { timeoutMs: 30_000, intervalMs: 100 }).catch(giveUp)

console.log(`
pcr-sidecar is running against the built-in Cloud API emulator.

  service     ${service}   (OpenAPI: ${service}/docs)
  emulator    ${emulator.url}
  primary     ${DEFAULT_PRIMARY_ID}
  standby     ${DEFAULT_STANDBY_ID}
  timeline    check every ${timeline.interval} s, ${timeline.threshold} failures, ${timeline.delay} s delay, failover takes ${timeline.failover} s

Try:
  curl -s ${service}/health
  curl -s ${service}/clusters
  curl -s -H 'X-DB-Username: app' -H 'X-DB-Password: demo-password' ${service}/connection
  curl -s '${service}/events?limit=10'
  curl -s ${service}/metrics | grep ^pcr_
  curl -s -X POST -H 'Authorization: Bearer ${adminToken}' -H 'Content-Type: application/json' -d '{"dry_run":true}' ${service}/admin/failover
`)

async function recentEvents(): Promise<Array<{ id: number; at: string; message: string }>> {
  const body = (await (await fetch(`${service}/events?limit=50`)).json()) as { events: Array<{ id: number; at: string; message: string }> }
  return body.events.reverse()
}

if (!args['no-outage']) {
  console.log('Disrupting the primary region through the Cloud API in 3 s...')
  await sleep(3000)
  let lastEvent = (await recentEvents()).at(-1)?.id ?? 0
  const outageAt = Date.now()
  const res = await fetch(`${emulator.url}/api/v1/clusters/${DEFAULT_PRIMARY_ID}/disrupt`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${DEFAULT_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ regional_disruptor_specifications: [{ region_code: 'us-east1', is_whole_region: true }] })
  })
  await res.body?.cancel()
  console.log(`T+0.0 s  primary disrupted (HTTP ${res.status})`)
  let switchedAt: number | undefined
  await waitFor(
    '/connection to switch to the standby',
    async () => {
      for (const e of (await recentEvents()).filter((e) => e.id > lastEvent)) {
        console.log(`T+${seconds(Date.parse(e.at) - outageAt).padStart(7)}  ${e.message}`)
        lastEvent = e.id
      }
      if ((await connectionCluster()) === DEFAULT_STANDBY_ID) switchedAt = Date.now()
      return switchedAt !== undefined
    },
    { timeoutMs: 120_000, intervalMs: 100 }
  ).catch(giveUp)
  const minimum = (timeline.threshold * timeline.interval + timeline.delay + timeline.failover) * 1000
  console.log(`
/connection now names the standby.
  outage to switch      ${seconds((switchedAt as number) - outageAt)}
  configured minimum    ${seconds(minimum)}  (threshold × interval + delay + failover duration)
  overhead              ${seconds((switchedAt as number) - outageAt - minimum)}
`)
}

if (args.exit) await stop(0)
console.log('Press Ctrl-C to stop.')
