import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parse } from 'yaml'
import { parseConfig } from '../../src/config/index.js'
import { parseEmulatorEnv } from '../../src/emulator/standalone.js'
import { execForm, root, runtime, runtimeArg } from '../helpers/deploy/dockerfile.js'
import { isIgnored, parseDockerignore } from '../helpers/deploy/dockerignore.js'
import { environmentOf, type ComposeSecrets } from '../helpers/deploy/compose.js'

// docker-compose.yml against the Dockerfile, the configuration and Compose's profile rules:
// which services each documented command starts, and that each of them can work.

interface Service {
  build?: string
  image?: string
  profiles?: string[]
  command?: string[]
  env_file?: string
  environment?: Record<string, string>
  ports?: string[]
  depends_on?: string[]
  healthcheck?: { disable?: boolean }
  read_only?: boolean
  cap_drop?: string[]
  security_opt?: string[]
  stop_grace_period?: string
  volumes?: string[]
  secrets?: string[]
}

const file = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
  secrets?: ComposeSecrets
}
const services = file.services
const rules = parseDockerignore(readFileSync(join(root, '.dockerignore'), 'utf8'))
const commandOf = (s: Service) => s.command ?? execForm(runtimeArg('CMD'))
const runsServer = (s: Service) => commandOf(s).join(' ') === execForm(runtimeArg('CMD')).join(' ')
// What .env provides for the real services; the defaults of the configuration otherwise.
const account = { COCKROACH_API_SECRET_KEY: 'key', PRIMARY_CLUSTER_ID: 'c0ffee00-0000-4000-8000-000000000001', STANDBY_CLUSTER_ID: 'c0ffee00-0000-4000-8000-000000000002' }
const environment = (s: Service) => environmentOf(s, file.secrets)
const configOf = (s: Service) => parseConfig({ ...(s.env_file === undefined ? {} : account), ...environment(s) }).config
const isSidecar = (s: Service) => runsServer(s) || commandOf(s).at(-1) === 'monitor'
const decides = (s: Service) => isSidecar(s) && configOf(s).timeline.autoFailover

// Compose: services without profiles always; others when a profile is active or when named.
function selected(profiles: string[], named: string[] = []): string[] {
  return Object.keys(services).filter((name) => {
    const s = services[name] as Service
    return named.includes(name) || s.profiles === undefined || s.profiles.some((p) => profiles.includes(p))
  })
}

t.test('each documented command starts the right services, with exactly one decider', async (t) => {
  const commands: Array<[string, string[], string[]]> = [
    ['docker compose up failover-automation', selected([], ['failover-automation']), ['failover-automation']],
    ['docker compose --profile monitor up', selected(['monitor']), ['failover-automation']],
    ['docker compose --profile service up', selected(['service']), ['failover-automation', 'service']],
    ['docker compose --profile demo up', selected(['demo']), ['emulator', 'demo']]
  ]
  for (const [command, found, wanted] of commands) {
    t.same(found, wanted, command)
    t.equal(found.filter((name) => decides(services[name] as Service)).length, 1, `${command}: one service decides`)
    for (const name of found) {
      for (const dep of services[name]?.depends_on ?? []) t.ok(found.includes(dep), `${command}: ${name} finds ${dep}`)
    }
  }
  t.equal(services.service?.environment?.AUTO_FAILOVER, 'false', 'the HTTP service beside the monitor only reports')
})

t.test('with --profile service exactly one process acts on traffic: the HTTP service runs no hooks and no PgBouncer sync', async (t) => {
  // A .env that turns on every hook and PgBouncer. Compose: environment wins over env_file,
  // and an empty value is unset for the sidecar.
  const dotenv = {
    ...account,
    WEBHOOK_URL: 'https://hooks.example.com/pcr',
    ON_FAILOVER_COMMAND: 'proxy/route53/update-record.sh',
    PGBOUNCER_DATABASES_FILE: '/etc/pgbouncer/databases.ini',
    PGBOUNCER_ADMIN_URL: 'postgresql://admin@pgbouncer:6432/pgbouncer'
  }
  const configWith = (s: Service) => parseConfig({ ...(s.env_file === undefined ? {} : dotenv), ...s.environment }).config
  const acts = (s: Service) => {
    const c = configWith(s)
    return c.hooks.webhookUrl !== undefined || c.hooks.command !== undefined || c.pgbouncer !== undefined
  }
  for (const [command, found] of [
    ['docker compose up failover-automation', selected([], ['failover-automation'])],
    ['docker compose --profile service up', selected(['service'])]
  ] as const) {
    t.same(found.filter((name) => acts(services[name] as Service)), ['failover-automation'], `${command}: only the monitor moves traffic`)
  }
  const quiet = configWith(services.service as Service)
  t.same([quiet.hooks.webhookUrl, quiet.hooks.command, quiet.pgbouncer], [undefined, undefined, undefined], 'the service: no webhook, no command, no PgBouncer')
  t.equal(quiet.timeline.autoFailover, false, 'and so its failover_blocked (auto_disabled) on every outage reaches no hook')
  const monitor = configWith(services['failover-automation'] as Service)
  t.equal(monitor.hooks.webhookUrl, dotenv.WEBHOOK_URL, 'the monitor keeps what .env says')
  t.equal(monitor.pgbouncer?.databasesFile, dotenv.PGBOUNCER_DATABASES_FILE)
})

t.test('every service runs the one image, with a command the build produces', async (t) => {
  for (const [name, s] of Object.entries(services)) {
    t.equal(s.image, 'pcr-sidecar', `${name}: the pcr-sidecar image`)
    t.equal(s.build, '.', `${name}: built from the Dockerfile here`)
    const [node, ...args] = commandOf(s)
    t.equal(node, 'node')
    // Node's own flags come before the script.
    const script = args.find((arg) => !arg.startsWith('--')) ?? ''
    const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts')
    t.ok(existsSync(join(root, source)) && !isIgnored(rules, source), `${name}: ${script} is built from ${source}`)
  }
  t.ok(existsSync(join(root, 'Dockerfile')))
})

t.test('the real services read .env; the demo needs none', async (t) => {
  for (const name of ['failover-automation', 'service']) t.equal(services[name]?.env_file, '.env', `${name} reads .env`)
  for (const name of ['emulator', 'demo']) t.equal(services[name]?.env_file, undefined, `${name} needs no .env`)
  const emulator = parseEmulatorEnv(services.emulator?.environment ?? {})
  // Throws when the demo's own environment is not a whole configuration.
  const demo = parseConfig(environment(services.demo as Service))
  t.equal(demo.config.pair.apiUrl, `http://emulator:${emulator.port}`, 'the demo asks the emulator service')
  t.equal(demo.config.pair.apiKey, emulator.options.apiKey, "with the emulator's key")
  t.same([demo.config.pair.primaryClusterId, demo.config.pair.standbyClusterId], emulator.options.clusters.map((c) => c.id), "for the emulator's clusters")
  t.same(services.demo?.depends_on, ['emulator'])
})

t.test('the demo takes its key and admin token as Compose secrets, through the _FILE settings', async (t) => {
  const demo = services.demo as Service
  const env = demo.environment ?? {}
  t.notOk('COCKROACH_API_SECRET_KEY' in env || 'ADMIN_TOKEN' in env, 'neither in the environment')
  for (const name of ['COCKROACH_API_SECRET_KEY_FILE', 'ADMIN_TOKEN_FILE']) {
    const secret = /^\/run\/secrets\/(.+)$/.exec(env[name] ?? '')?.[1] as string
    t.ok(demo.secrets?.includes(secret), `${name} is the mount of a secret the demo lists`)
    t.ok(existsSync(join(root, file.secrets?.[secret]?.file ?? 'missing')), `the file of ${secret} is in the repository`)
  }
  t.equal(configOf(demo).admin.token, 'demo-admin-token-change-me', 'the token docs/deployment.md uses')
})

t.test('ports: published on loopback only, each to the port its process listens on', async (t) => {
  const hostPorts: string[] = []
  for (const [name, s] of Object.entries(services)) {
    const listens = runsServer(s) ? configOf(s).server.port : name === 'emulator' ? parseEmulatorEnv(s.environment ?? {}).port : undefined
    if (runsServer(s)) {
      t.equal(String(listens), runtimeArg('EXPOSE'), `${name}: the port the image exposes`)
      t.equal(s.environment?.PORT, runtimeArg('EXPOSE'), `${name}: PORT pinned over .env`)
      t.equal(configOf(s).server.host, '0.0.0.0', `${name}: reachable from outside its container`)
    }
    for (const mapping of s.ports ?? []) {
      const [ip, host = '', container] = mapping.split(':')
      t.equal(ip, '127.0.0.1', `${name}: ${mapping} is on loopback`)
      t.equal(Number(container), listens, `${name}: ${mapping} reaches the process`)
      hostPorts.push(host)
    }
  }
  t.equal(new Set(hostPorts).size, hostPorts.length, 'no two services publish the same host port')
})

t.test("health checks: the image's /health where the HTTP service runs, none elsewhere", async (t) => {
  for (const [name, s] of Object.entries(services)) {
    t.same(s.healthcheck, runsServer(s) ? undefined : { disable: true }, name)
  }
})

t.test('hardened like the Kubernetes manifests, and stopped only after close-with-grace had its time', async (t) => {
  const delayMs = Number(/closeWithGrace\(\{ delay: ([\d_]+)/.exec(readFileSync(join(root, 'src/server.ts'), 'utf8'))?.[1]?.replace(/_/g, ''))
  t.ok(delayMs > 0, 'the grace delay of src/server.ts')
  for (const [name, s] of Object.entries(services)) {
    t.equal(s.read_only, true, `${name}: read-only root filesystem`)
    t.same(s.cap_drop, ['ALL'], `${name}: no capabilities`)
    t.ok(s.security_opt?.includes('no-new-privileges:true'), `${name}: no privilege escalation`)
    t.ok(Number(/^(\d+)s$/.exec(s.stop_grace_period ?? '')?.[1]) * 1000 > delayMs, `${name}: stop_grace_period beyond ${delayMs} ms`)
  }
})

t.test("each sidecar keeps the image's state file on a named volume of its own", async (t) => {
  // What the image sets (ENV); .env and the service's environment come over it.
  const imageEnv = Object.fromEntries(runtime.steps.filter((s) => s.op === 'ENV').map((s) => s.args.split('=')))
  const owners = new Map<string, string>()
  for (const [name, s] of Object.entries(services).filter(([, s]) => isSidecar(s))) {
    const stateFile = parseConfig({ ...imageEnv, ...(s.env_file === undefined ? {} : account), ...environment(s) }).config.timeline.stateFile
    t.ok(stateFile !== undefined, `${name}: keeps a state file`)
    const mount = (s.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === dirname(stateFile as string))
    t.ok(mount, `${name}: a volume holds ${stateFile}, writable under read_only: true`)
    const [volume = ''] = mount ?? []
    t.ok(file.volumes !== undefined && volume in file.volumes, `${name}: ${volume} is a named volume, kept across containers`)
    t.notOk(owners.has(volume), `${name}: ${volume} is no other service's: one writer per state file`)
    owners.set(volume, name)
  }
  t.same([...owners.values()].sort(), ['demo', 'failover-automation', 'service'])
})
