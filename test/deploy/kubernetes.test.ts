import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { parseConfig, variableNames } from '../../src/config/index.js'
import { root, runtimeArg } from '../helpers/deploy/dockerfile.js'

// Every manifest of deploy/kubernetes/, parsed as Kubernetes reads YAML (1.1), checked
// against the image, the configuration and the measured footprint.

type Obj = Record<string, any>

const dir = join(root, 'deploy/kubernetes')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
const texts = Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]))
const manifests = Object.fromEntries(
  files.map((f) => [f, parseAllDocuments(texts[f] as string, { version: '1.1' }).map((d) => ({ errors: d.errors, object: d.toJS() as Obj }))])
)
const kind = (file: string, k: string) => (manifests[file] ?? []).map((m) => m.object).filter((o) => o.kind === k)
const apps = ['app-with-sidecar.yaml', 'app-with-sidecar-etcd.yaml']

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string
const bench = JSON.parse(readFileSync(join(root, 'bench/results/results.json'), 'utf8'))
const peakRss = Math.max(...Object.values(bench.memory as Record<string, { samples: Array<{ peakRssBytes: number }> }>).flatMap((r) => r.samples.map((s) => s.peakRssBytes)))
const secretVariables = ['COCKROACH_API_SECRET_KEY', 'ADMIN_TOKEN']

function bytes(q: string): number {
  const [, n = '', unit = ''] = /^(\d+)(Ki|Mi|Gi)?$/.exec(q) ?? []
  return Number(n) * 1024 ** ['', 'Ki', 'Mi', 'Gi'].indexOf(unit)
}

function cores(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q)
}

t.test('every manifest parses, and names its kind', async (t) => {
  t.same(files.sort(), ['app-with-sidecar-etcd.yaml', 'app-with-sidecar.yaml', 'servicemonitor.yaml'])
  for (const [file, docs] of Object.entries(manifests)) {
    for (const { errors, object } of docs) {
      t.same(errors, [], `${file} is valid YAML`)
      t.ok(object.apiVersion && object.kind && object.metadata?.name, `${file}: ${object.kind} ${object.metadata?.name}`)
    }
  }
})

for (const file of apps) {
  t.test(`${file}: the application with the sidecar`, async (t) => {
    const [configMap] = kind(file, 'ConfigMap')
    const [deployment] = kind(file, 'Deployment')
    const [service] = kind(file, 'Service')
    const pod = deployment?.spec.template.spec
    const sidecar = pod.initContainers.find((c: Obj) => c.name === 'pcr-sidecar')
    t.equal(sidecar.restartPolicy, 'Always', 'a native sidecar: an init container that would never finish otherwise')
    t.ok(pod.containers.length > 0, 'beside an application container')
    t.equal(sidecar.image, `pcr-sidecar:${version}`, 'the image of this version, never :latest')
    t.equal(pod.automountServiceAccountToken, false, 'no Kubernetes API token')

    const data = configMap?.data as Record<string, unknown>
    t.ok(Object.values(data).every((v) => typeof v === 'string'), 'ConfigMap values are strings')
    t.same(Object.keys(data).filter((k) => !variableNames.includes(k)), [], 'every ConfigMap key is a setting')
    t.same(Object.keys(data).filter((k) => !k.endsWith('_FILE') && (secretVariables.includes(k) || /PASSWORD|TOKEN|SECRET/.test(k))), [], 'no secret in the ConfigMap')
    t.same(sidecar.envFrom, [{ configMapRef: { name: configMap?.metadata.name } }], 'configuration from the ConfigMap')
    // Each secret a file of the Secret's volume, mounted read-only: never an environment variable.
    const secretMount = sidecar.volumeMounts.find((m: Obj) => pod.volumes.find((v: Obj) => v.name === m.name)?.secret?.secretName === 'pcr-sidecar')
    t.equal(secretMount?.readOnly, true, 'the Secret is mounted read-only')
    for (const name of secretVariables) {
      t.equal(data[`${name}_FILE`], `${secretMount?.mountPath}/${name}`, `${name}_FILE names its file in the mounted Secret`)
      t.notOk(sidecar.env.some((e: Obj) => e.name === name), `${name} is not in the environment`)
    }
    t.notOk(sidecar.env.some((e: Obj) => /KEY|TOKEN|PASSWORD/.test(e.name)), 'no secret in the environment at all')
    // What the Secrets provide: the etcd files are mounted from one, so stand-ins are read instead.
    const mounted = mkdtempSync(join(tmpdir(), 'pcr-k8s-'))
    const secrets: Record<string, string> = { COCKROACH_API_SECRET_KEY_FILE: 'key\n', ADMIN_TOKEN_FILE: 'an-admin-token-of-32-characters!\n', ETCD_PASSWORD_FILE: 'etcd-password\n' }
    const files = Object.fromEntries(
      Object.entries(data as Record<string, string>)
        .filter(([k]) => k.endsWith('_FILE'))
        .map(([k]) => {
          writeFileSync(join(mounted, k), secrets[k] ?? 'stand-in')
          return [k, join(mounted, k)]
        })
    )
    const inline = Object.fromEntries(sidecar.env.filter((e: Obj) => e.value !== undefined && !e.value.includes('$(')).map((e: Obj) => [e.name, e.value]))
    const { config, warnings } = parseConfig({ ...(data as Record<string, string>), ...files, ...inline })
    t.equal(config.pair.apiKey, 'key', 'the key read from its file')
    if (file.includes('etcd')) t.equal(config.coordination.etcd?.password, 'etcd-password', 'the etcd password from its file')
    t.same(warnings, [])

    // The state file: on a writable volume of the pod, since the root filesystem is read-only.
    t.ok(config.timeline.stateFile?.startsWith('/'), `STATE_FILE is set: ${config.timeline.stateFile}`)
    const stateMount = sidecar.volumeMounts.find((m: Obj) => m.mountPath === dirname(config.timeline.stateFile as string))
    t.ok(stateMount !== undefined && stateMount.readOnly !== true, "a writable volume is mounted at the state file's directory")
    const stateVolume = pod.volumes.find((v: Obj) => v.name === stateMount?.name)
    t.ok(stateVolume?.emptyDir !== undefined || stateVolume?.persistentVolumeClaim !== undefined, 'an emptyDir (it survives container restarts) or a claim')

    const port = (name: string) => sidecar.ports.find((p: Obj) => p.name === name)?.containerPort
    t.equal(port('pcr-http'), config.server.port, 'pcr-http is PORT')
    t.equal(String(config.server.port), runtimeArg('EXPOSE'), 'the port the image exposes')
    t.equal(config.server.host, '0.0.0.0', 'listening where the kubelet probes')
    t.ok(config.server.enablePrometheus && port('pcr-metrics') === config.server.prometheusPort, 'pcr-metrics is PROMETHEUS_PORT')
    t.same(sidecar.livenessProbe.httpGet, { path: '/health', port: 'pcr-http' }, 'liveness on /health')
    t.same(sidecar.readinessProbe.httpGet, { path: '/ready', port: 'pcr-http' }, 'readiness on /ready')
    t.same(sidecar.startupProbe.httpGet, { path: '/health', port: 'pcr-http' }, 'startup on /health, not /ready: a Cloud API outage must not restart it')
    const startupMs = sidecar.startupProbe.periodSeconds * sidecar.startupProbe.failureThreshold * 1000
    t.ok(startupMs >= 10 * bench.startup.readyMs.max, `startup allowance ${startupMs} ms, 10 × the measured startup`)

    const { requests, limits } = sidecar.resources
    t.ok(bytes(requests.memory) >= peakRss, `memory request ${requests.memory} covers the measured peak RSS (${peakRss} B)`)
    t.ok(bytes(limits.memory) >= 2 * peakRss, `memory limit ${limits.memory} is twice the peak or more`)
    t.ok(cores(requests.cpu) > 0 && cores(requests.cpu) <= cores(limits.cpu), 'a CPU request within the limit')

    const security = sidecar.securityContext
    t.equal(security.runAsNonRoot, true)
    t.equal(`${security.runAsUser}:${security.runAsGroup}`, runtimeArg('USER'), "the image's user")
    t.equal(security.readOnlyRootFilesystem, true)
    t.equal(security.allowPrivilegeEscalation, false)
    t.equal(security.privileged, false)
    t.same(security.capabilities, { drop: ['ALL'] }, 'every capability dropped, none added')
    t.same(security.seccompProfile, { type: 'RuntimeDefault' })

    t.same(service?.spec.selector, deployment?.spec.selector.matchLabels, 'the metrics Service selects these pods')
    t.same(deployment?.spec.template.metadata.labels, deployment?.spec.selector.matchLabels)
    t.same(service?.spec.ports, [{ name: 'pcr-metrics', port: config.server.prometheusPort, targetPort: 'pcr-metrics' }], 'only the metrics port')
    t.equal(service?.spec.publishNotReadyAddresses, true, 'unready sidecars are scraped too')
  })
}

t.test('app-with-sidecar-etcd.yaml: the coordination settings', async (t) => {
  const file = 'app-with-sidecar-etcd.yaml'
  const data = kind(file, 'ConfigMap')[0]?.data
  const pod = kind(file, 'Deployment')[0]?.spec.template.spec
  t.ok(kind(file, 'Deployment')[0]?.spec.replicas > 1, 'several sidecars to elect from')
  const sidecar = pod.initContainers.find((c: Obj) => c.name === 'pcr-sidecar')
  t.equal(data.COORDINATION, 'etcd')
  t.ok(data.ETCD_ENDPOINTS.split(',').every((e: string) => /^https:\/\/[^/]+:\d+$/.test(e)), 'etcd over TLS')
  t.match(data.ETCD_PREFIX, /^\/.+\/$/)
  const env = (name: string) => sidecar.env.find((e: Obj) => e.name === name)?.valueFrom
  t.same(env('SIDECAR_ID'), { fieldRef: { fieldPath: 'metadata.name' } }, "SIDECAR_ID is the pod's name")
  t.same(env('POD_IP'), { fieldRef: { fieldPath: 'status.podIP' } })
  const url = sidecar.env.find((e: Obj) => e.name === 'SIDECAR_URL')?.value
  t.equal(url, `http://$(POD_IP):${data.PORT}`, "SIDECAR_URL: where followers send admin callers, the pod's own address")
  t.ok(
    sidecar.env.findIndex((e: Obj) => e.name === 'POD_IP') < sidecar.env.findIndex((e: Obj) => e.name === 'SIDECAR_URL'),
    'POD_IP is defined before SIDECAR_URL refers to it'
  )
  t.ok(pod.topologySpreadConstraints?.some((c: Obj) => c.topologyKey === 'kubernetes.io/hostname'), 'observers spread over nodes')
  t.equal(env('ETCD_PASSWORD'), undefined, 'the etcd password is a file, not a variable')
  const mount = sidecar.volumeMounts.find((m: Obj) => m.name === 'etcd-tls')
  t.equal(mount.readOnly, true)
  const volume = pod.volumes.find((v: Obj) => v.name === mount.name)
  t.equal(volume.secret.secretName, 'pcr-sidecar-etcd')
  t.equal(volume.secret.defaultMode, 0o440, 'readable by owner and group only')
  t.equal(pod.securityContext.fsGroup, sidecar.securityContext.runAsGroup, "the group is the sidecar's")
  for (const key of ['ETCD_CA_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE', 'ETCD_PASSWORD_FILE']) {
    const item = volume.secret.items.find((i: Obj) => `${mount.mountPath}/${i.path}` === data[key])
    t.ok(item, `${key} is a file of the mounted Secret`)
  }
})

t.test('servicemonitor.yaml scrapes the metrics Services as job pcr-sidecar', async (t) => {
  const [monitor] = kind('servicemonitor.yaml', 'ServiceMonitor')
  t.equal(monitor?.apiVersion, 'monitoring.coreos.com/v1')
  const [endpoint] = monitor?.spec.endpoints
  t.same([endpoint.port, endpoint.path], ['pcr-metrics', '/metrics'])
  for (const file of apps) {
    const [service] = kind(file, 'Service')
    const labels = service?.metadata.labels
    t.ok(Object.entries(monitor?.spec.selector.matchLabels).every(([k, v]) => labels[k] === v), `selects the Service of ${file}`)
    t.ok(service?.spec.ports.some((p: Obj) => p.name === endpoint.port), `its port ${endpoint.port}`)
    t.equal(labels[monitor?.spec.jobLabel], 'pcr-sidecar', 'job="pcr-sidecar"')
  }
  const rules = readFileSync(join(root, 'deploy/prometheus/pcr-sidecar.rules.yml'), 'utf8')
  t.same([...new Set([...rules.matchAll(/job="([^"]*)"/g)].map((m) => m[1]))], ['pcr-sidecar'], 'the job the alert rules expect')
})
