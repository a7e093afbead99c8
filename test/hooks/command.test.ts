import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createCommandRunner } from '../../src/hooks/command.js'
import { buildPayload } from '../../src/hooks/payload.js'
import { activeChanged, hookRig, step } from '../helpers/hook-rig.js'
import { PRIMARY, STANDBY, type Teardown } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { startReceiver, type Reply } from '../helpers/webhook-receiver.js'

const drain = 30_000

// A directory holding the script; the command runs it with that directory as $1.
function script(t: Teardown & { testdir(files: Record<string, string>): string }, body: string) {
  const dir = t.testdir({ 'hook.sh': `set -eu\ndir=$1\n${body}\n` })
  return { dir, command: `sh '${join(dir, 'hook.sh')}' '${dir}'`, read: (name: string) => readFileSync(join(dir, name), 'utf8') }
}

// Exited, or a zombie nobody reaps yet: either way it runs no more.
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

const baseEnv = { PATH: process.env.PATH as string }
// Every secret the sidecar may hold in its environment, and what else a pod's environment holds.
const secretVariables = [
  'COCKROACH_API_SECRET_KEY',
  'ADMIN_TOKEN',
  'ETCD_USERNAME',
  'ETCD_PASSWORD',
  'PGBOUNCER_ADMIN_URL',
  'WEBHOOK_URL',
  'PRIMARY_CLUSTER_ENDPOINT',
  'STANDBY_CLUSTER_ENDPOINT'
]
const secrets = Object.fromEntries(secretVariables.map((name, i) => [name, `leaked-secret-${i}`]))
const inherited = { ...baseEnv, ...secrets, HOME: '/home/sidecar', LANG: 'C.UTF-8', TZ: 'UTC', KEEP_ME: 'kept', KUBERNETES_SERVICE_HOST: '10.0.0.1' }

t.test('the event on stdin and as PCR_* variables; of the environment only what a program needs and what the operator names', async (t) => {
  const s = script(t, 'cat > "$dir/stdin-$PCR_EVENT_ID.json"\nenv > "$dir/env-$PCR_EVENT_ID.txt"\necho "ran $PCR_EVENT_TYPE"')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command, HOOK_ENV_PASSTHROUGH: 'KEEP_ME, NOT_SET' }, { env: inherited })
  const first = rig.emit(activeChanged(PRIMARY, 'primary.example.com'))
  const second = rig.emit({
    type: 'active_cluster_changed',
    severity: 'warn',
    message: `active cluster is ${STANDBY} at standby.example.com:26258 (was ${PRIMARY})`,
    data: { clusterId: STANDBY, host: 'standby.example.com', port: 26258, previousClusterId: PRIMARY, phase: 'completed' }
  })
  const third = rig.emit({ ...step('failover_completed'), data: { streamId: 'stream-1', estimatedDataLossSeconds: 1.5, timedOut: false } })
  await rig.hooks.close(drain)

  const env = (id: number) =>
    Object.fromEntries(
      s
        .read(`env-${id}.txt`)
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
    )
  t.same(JSON.parse(s.read('stdin-1.json')), buildPayload(first, { id: PRIMARY, host: 'primary.example.com', port: 26257 }))
  t.same(
    // Under tap, its coverage hooks add NODE_OPTIONS and _TAPJS_* to whatever a test spawns.
    Object.keys(env(1))
      .filter((name) => !name.startsWith('PCR_') && !name.startsWith('_TAPJS_') && name !== 'NODE_OPTIONS')
      .sort(),
    ['HOME', 'KEEP_ME', 'LANG', 'PATH', 'PWD', 'TZ'],
    'PATH, HOME, LANG and TZ, KEEP_ME as named, and the PWD the shell sets'
  )
  t.match(env(1), {
    KEEP_ME: 'kept',
    HOME: '/home/sidecar',
    PCR_EVENT_ID: '1',
    PCR_EVENT_TYPE: 'active_cluster_changed',
    PCR_EVENT_AT: first.at,
    PCR_EVENT_MESSAGE: first.message,
    PCR_ACTIVE_CLUSTER_ID: PRIMARY,
    PCR_ACTIVE_SQL_HOST: 'primary.example.com',
    PCR_ACTIVE_SQL_PORT: '26257',
    PCR_PREVIOUS_CLUSTER_ID: '',
    PCR_DATA_CLUSTER_ID: PRIMARY,
    PCR_DATA_HOST: 'primary.example.com',
    PCR_DATA_PORT: '26257',
    PCR_DATA_PREVIOUS_CLUSTER_ID: '',
    PCR_DATA_PHASE: 'normal'
  })
  t.match(env(second.id), { PCR_PREVIOUS_CLUSTER_ID: PRIMARY, PCR_ACTIVE_SQL_PORT: '26258', PCR_ACTIVE_SQL_HOST: 'standby.example.com' })
  t.match(env(third.id), {
    PCR_EVENT_TYPE: 'failover_completed',
    PCR_ACTIVE_CLUSTER_ID: STANDBY,
    PCR_PREVIOUS_CLUSTER_ID: '',
    PCR_DATA_STREAM_ID: 'stream-1',
    PCR_DATA_ESTIMATED_DATA_LOSS_SECONDS: '1.5',
    PCR_DATA_TIMED_OUT: 'false'
  })
  for (const id of [1, 2, 3]) {
    const text = s.read(`env-${id}.txt`)
    t.notOk(secretVariables.some((name) => text.includes(`${name}=`)) || text.includes('leaked-secret'), `event ${id}: no secret`)
  }
  t.same(rig.logged('command output').map((l) => [l.eventId, l.stdout]), [
    [1, 'ran active_cluster_changed\n'],
    [2, 'ran active_cluster_changed\n'],
    [3, 'ran failover_completed\n']
  ])
  t.same(rig.failures(), [])
})

t.test('a non-zero exit is one hook_failed, its output logged, and no retry', async (t) => {
  const s = script(t, 'echo run >> "$dir/runs"\necho "about to fail"\necho "first problem" >&2\necho "zone is missing" >&2\nexit 3')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command }, { env: baseEnv })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.equal(s.read('runs'), 'run\n', 'ran once')
  t.same(rig.failures().map((e) => e.data), [
    { sink: 'command', eventId: 1, eventType: 'failover_requested', attempts: 1, reason: 'exited with code 3: zone is missing' }
  ])
  const [out] = rig.logged('command output')
  const [err] = rig.logged('command error output')
  t.match(out, { level: 30, stdout: 'about to fail\n', hook: 'command', eventType: 'failover_requested' })
  t.match(err, { level: 40, stderr: 'first problem\nzone is missing\n' })
  t.match(rig.logged('command finished'), [{ code: 3, signal: null }])
})

t.test('a command that outlives ON_FAILOVER_COMMAND_TIMEOUT is killed with all it started', async (t) => {
  const s = script(t, 'echo $$ > "$dir/shell"\nsleep 60 &\necho $! > "$dir/child"\nwait')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command, ON_FAILOVER_COMMAND_TIMEOUT: '2' }, { env: baseEnv })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.same(rig.failures().map((e) => e.data.reason), ['no exit within 2 s; killed'])
  for (const name of ['shell', 'child']) {
    const pid = Number(s.read(name))
    await waitFor(`${name} (pid ${pid}) gone`, () => gone(pid), { timeoutMs: 5000 })
    t.pass(`the ${name} is gone`)
  }
})

t.test('after a clean exit, what it left running is ended at the deadline, and that is no failure', async (t) => {
  const s = script(t, 'sleep 60 &\necho $! > "$dir/child"\necho done')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command, ON_FAILOVER_COMMAND_TIMEOUT: '2' }, { env: baseEnv })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.same(rig.failures(), [])
  t.same(rig.logged('command output').map((l) => l.stdout), ['done\n'])
  t.equal(rig.logged('command hook delivered failover_requested').length, 1)
  const pid = Number(s.read('child'))
  await waitFor(`the child (pid ${pid}) gone`, () => gone(pid), { timeoutMs: 5000 })
})

t.test('something that left the group and holds the pipes does not hold the delivery', async (t) => {
  const s = script(t, 'setsid sleep 60 &\necho $! > "$dir/escaped"\necho done')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command, ON_FAILOVER_COMMAND_TIMEOUT: '1' }, { env: baseEnv })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.same(rig.failures(), [])
  t.equal(rig.logged('command hook delivered failover_requested').length, 1)
  // Out of reach of the deadline by design, so the test ends it (and never kills 0: its own group).
  const pid = Number(s.read('escaped'))
  if (!(pid > 1)) throw new Error(`no pid recorded: ${pid}`)
  process.kill(pid, 'SIGKILL')
})

t.test('killed by a signal', async (t) => {
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: 'kill -TERM $$' }, { env: baseEnv })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.same(rig.failures().map((e) => e.data.reason), ['killed by SIGTERM'])
})

t.test('output is bounded; stdin may go unread; variables stay within what exec takes', async (t) => {
  const s = script(t, 'printf %s "$PCR_EVENT_MESSAGE" | wc -c > "$dir/length"\nhead -c 20000 /dev/zero | tr "\\000" x')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command }, { env: baseEnv })
  // Far more than a pipe holds, to a command that never reads it.
  rig.emit(step('failover_requested', `a NUL\0 then ${'x'.repeat(256 * 1024)}`))
  await rig.hooks.close(drain)
  t.same(rig.failures(), [])
  t.same(rig.logged('command output').map((l) => l.stdout), [`${'x'.repeat(8192)} [truncated]`])
  t.equal(Number(s.read('length')), 32 * 1024)
})

t.test('a command that cannot start', async (t) => {
  const runner = createCommandRunner({ command: 'true', timeoutMs: 5000, log: { info() {}, warn() {}, error() {} } as never, passthrough: [], shell: '/nonexistent/sh' })
  const missing = await runner.deliver(buildPayload(hookRig(t, {}).emit(step('failover_requested')), null), new AbortController().signal)
  t.same(missing, { status: 'failed', attempts: 1, reason: 'could not start the command: spawn /nonexistent/sh ENOENT' })
  await runner.close()

  const rig = hookRig(t, { ON_FAILOVER_COMMAND: 'true', HOOK_ENV_PASSTHROUGH: 'HUGE' }, { env: { ...baseEnv, HUGE: 'x'.repeat(200 * 1024) } })
  rig.emit(step('failover_requested'))
  await rig.hooks.close(drain)
  t.same(rig.failures().map((e) => e.data.reason), ['could not start the command: spawn E2BIG'])
})

t.test('close() kills a running command without calling it a failure', async (t) => {
  const s = script(t, 'echo $$ > "$dir/shell"\nexec sleep 60')
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: s.command }, { env: baseEnv })
  rig.emit(step('failover_requested'))
  await waitFor('the command started', () => existsSync(join(s.dir, 'shell')), { timeoutMs: 5000 })
  await rig.hooks.close(0)
  t.same(rig.failures(), [])
  t.equal(rig.logged('command hook abandoned failover_requested: the service is stopping').length, 1)
  const pid = Number(s.read('shell'))
  await waitFor(`the shell (pid ${pid}) gone`, () => gone(pid), { timeoutMs: 5000 })
})

t.test('a slow command does not hold up the webhook', async (t) => {
  const receiver = await startReceiver(t, (): Reply => ({ status: 200 }))
  const s = script(t, 'exec sleep 60')
  const rig = hookRig(t, { WEBHOOK_URL: receiver.url, ON_FAILOVER_COMMAND: s.command }, { env: baseEnv })
  for (const type of ['failover_requested', 'failover_patched', 'failover_completed'] as const) rig.emit(step(type))
  await waitFor('three webhooks delivered', () => receiver.deliveredIds().length === 3, { timeoutMs: 5000 })
  t.same(receiver.deliveredIds(), [1, 2, 3])
  t.equal(rig.logged('command finished').length, 0, 'the command is still on the first event')
  await rig.hooks.close(0)
})
