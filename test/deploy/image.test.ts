import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { parseConfig } from '../../src/config/index.js'
import { untracedEnv } from '../../tools/child-env.js'
import { spawnNode, type ServerProcess } from '../../tools/spawn-server.js'
import { waitFor } from '../../tools/wait-for.js'
import { execForm, root, runtime, runtimeArg, stages, type Stage } from '../helpers/deploy/dockerfile.js'
import { contextFiles, isIgnored, parseDockerignore } from '../helpers/deploy/dockerignore.js'
import { environmentOf } from '../helpers/deploy/compose.js'

// No container engine here: the image's steps are performed by hand instead, from what
// the Dockerfile and .dockerignore say, so an image that would not build or start fails
// this test. Then the demo of docker-compose.yml runs from the result.

const run = promisify(execFile)
// A compile and an install, on a machine that may be busy with the rest of the suite.
t.setTimeout(300_000)
const rules = parseDockerignore(readFileSync(join(root, '.dockerignore'), 'utf8'))
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true })
const steps = (op: string, stage = runtime) => stage.steps.filter((s) => s.op === op).map((s) => s.args)
const demoAccount = { COCKROACH_API_SECRET_KEY: 'k', PRIMARY_CLUSTER_ID: 'c0ffee00-0000-4000-8000-000000000001', STANDBY_CLUSTER_ID: 'c0ffee00-0000-4000-8000-000000000002' }
const stateFile = '/var/lib/pcr-sidecar/state.json'
const stateDir = dirname(stateFile)

t.test('the Dockerfile: a slim Node 24 base, built with dev dependencies, run with production ones as a non-root user', async (t) => {
  t.same(stages.map((s) => s.name), ['build', 'deps', '2'], 'build, production dependencies, runtime')
  for (const stage of stages) t.match(stage.from, /^node:24-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/, `${stage.name} is on a slim Node 24`)
  t.same(new Set(stages.map((s) => s.from)).size, 1, 'one base for every stage')
  const [build, deps] = stages as [Stage, Stage]
  t.ok(steps('RUN', build).some((r) => /^npm ci\b(?!.*--omit)/.test(r)), 'the build installs the dev dependencies')
  t.ok(steps('RUN', deps).every((r) => /^npm ci --omit=dev\b/.test(r)), 'deps installs the production ones only')
  t.same(steps('COPY'), ['package.json ./', '--from=deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist'], 'only dist/ and production node_modules')
  t.same(steps('ENV'), ['NODE_ENV=production', `STATE_FILE=${stateFile}`])
  t.equal(parseConfig({ ...demoAccount, ...envOf(steps('ENV')) }).config.timeline.stateFile, stateFile, 'the image keeps its state')
  const [uid, gid] = runtimeArg('USER').split(':').map(Number)
  t.ok(Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0 && gid !== 0, 'a numeric, non-root user and group')
  t.same(steps('RUN'), [`mkdir -p ${stateDir} && chown ${runtimeArg('USER')} ${stateDir} && chmod 700 ${stateDir}`], "the runtime stage runs one thing, no package manager: STATE_FILE's directory, the user's alone")
  t.same(execForm(runtimeArg('VOLUME')), [stateDir], 'a volume, so the state outlives the container')
  const order = runtime.steps.map((s) => s.op)
  t.ok(order.indexOf('RUN') < order.indexOf('USER'), 'created as root, before the user switch')
  t.equal(runtimeArg('EXPOSE'), String(defaultPort()), 'EXPOSE is the default PORT')
  t.equal(runtimeArg('STOPSIGNAL'), 'SIGTERM', 'the signal close-with-grace handles')
  t.match(runtimeArg('HEALTHCHECK'), /^--interval=\S+ --timeout=\S+ --start-period=\S+ CMD \[/)
  t.same(execForm(runtimeArg('CMD')), ['node', '--max-semi-space-size=1', 'dist/src/server.js'])
  t.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start, execForm(runtimeArg('CMD')).join(' '), 'npm start runs what the image runs')
})

t.test('.dockerignore lets through what the build copies and nothing else', async (t) => {
  for (const path of ['package.json', 'package-lock.json', 'tsconfig.build.json', 'src/server.ts', 'src/routes/health.ts']) {
    t.notOk(isIgnored(rules, path), `${path} is in the context`)
  }
  for (const path of ['.env', '.env.production', 'test/deploy/image.test.ts', 'node_modules/x/index.js', 'dist/src/server.js', '.git/HEAD', 'bench/run.ts', 'tools/stack.ts', 'scripts/demo.ts', 'deploy/kubernetes/app-with-sidecar.yaml', 'docs/deployment.md', 'coverage/lcov.info']) {
    t.ok(isIgnored(rules, path), `${path} stays out`)
  }
  t.ok(rules.every((r) => !r.negate || !r.pattern.includes('/')), 'no exception inside an ignored directory (contextFiles relies on it)')
})

t.test('the image built by hand from the context serves /health with the demo configuration', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'pcr-image-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const context = join(work, 'context')
  const files = contextFiles(root, rules)
  for (const file of files) cpSync(join(root, file), join(context, file))
  t.notOk(files.some((f) => /(^|\/)(\.env|test|tools|bench)(\/|$)/.test(f)), 'no .env, tests, test tooling or benchmarks in the context')

  // As BuildKit does: stages run side by side, a COPY --from waits for its stage.
  const built = new Map<string, Promise<string>>()
  // Where the runtime stage's directories outside /app are made (the image's /).
  const imageRoot = join(work, 'image-root')
  for (const stage of stages) {
    built.set(stage.name, (async () => {
      const dir = join(work, stage.name)
      mkdirSync(dir)
      for (const { op, args } of stage.steps) {
        if (op === 'WORKDIR') t.equal(args, '/app', `${stage.name} works in /app`)
        if (op === 'COPY') await copy(args, context, built, dir)
        if (op === 'RUN') await runStep(args, dir, imageRoot)
      }
      return dir
    })())
  }
  await Promise.all(built.values())
  const app = join(work, runtime.name)
  const before = snapshot(app)
  const scratch = join(work, 'home')
  mkdirSync(scratch)
  // A container's environment: PATH and what the image and Compose set. HOME and TMPDIR
  // point to an empty directory that must stay empty (read-only root filesystem).
  const { PATH = '', _TAPJS_PROCESSINFO_COVERAGE_ = '' } = untracedEnv()
  const base = { PATH, _TAPJS_PROCESSINFO_COVERAGE_, HOME: scratch, TMPDIR: scratch, ...envOf(steps('ENV')) }
  // Each container gets its own copy of the image's VOLUME, as Docker gives it an anonymous one.
  const containers: string[] = []
  const start = (argv: string[], env: Record<string, string>) => {
    const container = join(work, `container-${containers.length + 1}`)
    containers.push(container)
    for (const volume of execForm(runtimeArg('VOLUME'))) cpSync(join(imageRoot, volume), join(container, volume), { recursive: true })
    return startProcess(t, argv, app, { ...base, STATE_FILE: join(container, stateFile), ...env })
  }

  const emulator = start(compose.services.emulator.command, { ...compose.services.emulator.environment, EMULATOR_HOST: '127.0.0.1', EMULATOR_PORT: '0' })
  const cloudUrl = (await emulator.waitForOutput(/listening on (http:\/\/\S+)/))[1] as string
  const demoEnv = { ...environmentOf(compose.services.demo, compose.secrets), COCKROACH_API_URL: cloudUrl, HOST: '127.0.0.1', PORT: '0' }
  const service = start(execForm(runtimeArg('CMD')), demoEnv)
  const port = (await service.waitForOutput(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/))[1] as string

  const healthcheck = () => start(execForm(runtimeArg('HEALTHCHECK').replace(/^.* CMD /, '')), { PORT: port }).exited
  t.equal(await healthcheck(), 0, 'the HEALTHCHECK passes')
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200)
  t.equal(((await health.json()) as { status: string }).status, 'ok')
  const ready = waitFor('/ready to answer 200', async () => (await statusOf(`http://127.0.0.1:${port}/ready`)) === 200, { timeoutMs: 10_000, intervalMs: 100 })
  await t.resolves(ready, 'ready once the emulator has answered')

  // failover-automation: pcr monitor, from the same files.
  const monitor = start(compose.services['failover-automation'].command, demoEnv)
  await monitor.waitForOutput(/monitor_started/)
  monitor.child.kill('SIGTERM')
  t.equal(await monitor.exited, 0, 'pcr monitor stops cleanly on SIGTERM')

  service.child.kill(runtimeArg('STOPSIGNAL') as NodeJS.Signals)
  t.equal(await service.exited, 0, 'stops cleanly on the STOPSIGNAL')
  t.equal(await healthcheck(), 1, 'the HEALTHCHECK fails once the service is gone')
  emulator.child.kill('SIGTERM')
  t.equal(await emulator.exited, 0, 'the emulator stops cleanly too')
  t.same(snapshot(app), before, 'nothing written under /app')
  t.same(readdirSync(scratch), [], 'nothing written to HOME or TMPDIR')
  for (const container of containers) {
    t.ok(readdirSync(join(container, stateDir)).every((f) => f === basename(stateFile)), 'nothing in the volume but the state file')
  }
})

function defaultPort(): number {
  return parseConfig(demoAccount).config.server.port
}

function envOf(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => l.split('=')))
}

// COPY [--from=stage] source... destination, sources from the context or from /app of that stage.
async function copy(args: string, context: string, built: Map<string, Promise<string>>, dir: string): Promise<void> {
  const words = args.split(/\s+/)
  const from = words[0]?.startsWith('--from=') ? await built.get((words.shift() as string).slice('--from='.length)) : undefined
  const dest = words.pop() as string
  for (const source of words) {
    const path = from === undefined ? join(context, source) : join(from, relative('/app', source))
    cpSync(path, dest.endsWith('/') ? join(dir, dest, basename(source)) : join(dir, dest), { recursive: true })
  }
}

// The RUN steps this Dockerfile may have; anything else must be taught to this test first.
async function runStep(command: string, dir: string, imageRoot: string): Promise<void> {
  const env = untracedEnv({ npm_config_prefer_offline: 'true' })
  const stateDirectory = /^mkdir -p (\/\S+) && chown \d+:\d+ \1 && chmod 700 \1$/.exec(command)?.[1]
  if (stateDirectory !== undefined) {
    // No chown: the test's own user stands in for the image's.
    mkdirSync(join(imageRoot, stateDirectory), { recursive: true, mode: 0o700 })
  } else if (/^npm ci --omit=dev( --no-audit| --no-fund)*$/.test(command)) {
    await run('npm', command.split(' ').slice(1), { cwd: dir, env })
  } else if (/^npm ci( --no-audit| --no-fund)*$/.test(command)) {
    // The checkout's full install from the same lockfile stands in for a second one.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  } else if (command === 'npm run build') {
    await run('npm', ['run', 'build'], { cwd: dir, env })
  } else {
    throw new Error(`the image test does not know how to perform RUN ${command}`)
  }
}

function snapshot(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort().map((f) => {
    const s = statSync(join(dir, f))
    return `${f} ${s.size} ${s.mtimeMs}`
  })
}

function startProcess(t: Test, argv: string[], cwd: string, env: Record<string, string>): ServerProcess {
  const [command, ...args] = argv
  t.equal(command, 'node', `${argv.join(' ')} runs node`)
  const started = spawnNode(args, { cwd, env })
  t.teardown(() => started.child.kill('SIGKILL'))
  return started
}

async function statusOf(url: string): Promise<number> {
  const res = await fetch(url)
  await res.body?.cancel()
  return res.status
}
