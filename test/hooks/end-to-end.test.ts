import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ADMIN_TOKEN, PRIMARY, STANDBY, startFakeCloud, startService } from '../../tools/stack.js'
import { waitFor } from '../../tools/wait-for.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

// The command appends one line per run: the id and type from its environment,
// then the JSON it read on stdin.
const recorder = 'line="$PCR_EVENT_ID $PCR_EVENT_TYPE $(cat)"\nprintf "%s\\n" "$line" >> "$1"\n'

t.test('a failover: every hookable event reaches the webhook and the command exactly once, in order', async (t) => {
  // The first attempt of every even event fails, so retries happen throughout.
  const tries = new Map<number, number>()
  const receiver = await startReceiver(t, (r) => {
    const id = r.body.event.id as number
    tries.set(id, (tries.get(id) ?? 0) + 1)
    return { status: id % 2 === 0 && tries.get(id) === 1 ? 503 : 200 }
  })
  const dir = t.testdir({ 'record.sh': recorder })
  const calls = join(dir, 'calls')
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {
    WEBHOOK_URL: receiver.url,
    WEBHOOK_RETRY_BACKOFF: '0.02',
    ON_FAILOVER_COMMAND: `sh '${join(dir, 'record.sh')}' '${calls}'`
  })
  const commandRuns = () =>
    existsSync(calls)
      ? readFileSync(calls, 'utf8')
          .split('\n')
          // The last piece is empty, or a line still being written.
          .slice(0, -1)
          .map((l) => {
            const [id, type, ...json] = l.split(' ')
            return { id: Number(id), type, payload: JSON.parse(json.join(' ')) }
          })
      : []
  const hookable = () =>
    svc
      .events()
      .reverse()
      .filter((e) => (svc.config.hooks.events as string[]).includes(e.type))
  const caughtUp = () => {
    const ids = hookable().map((e) => e.id)
    return receiver.deliveredIds().length === ids.length && commandRuns().length === ids.length
  }

  await svc.fastify.engine.nextCheck()
  await cloud.setNodes(PRIMARY, 'NOT_READY')
  await svc.waitForEvent('failover_completed')
  await waitFor('every hookable event delivered and run', caughtUp, { timeoutMs: 20_000 })
  await svc.close()

  const expected = hookable()
  const ids = expected.map((e) => e.id)
  const types = expected.map((e) => e.type)
  for (const type of ['threshold_reached', 'failover_requested', 'failover_patched', 'failover_completed']) {
    t.equal(types.filter((x) => x === type).length, 1, `one ${type}`)
  }
  t.equal(types.filter((x) => x === 'active_cluster_changed').length, 3, 'primary, none while failing over, standby')
  t.same(receiver.deliveredIds(), ids, 'webhook: each event once, in order')
  t.same(commandRuns().map((r) => r.id), ids, 'command: each event once, in order')
  t.ok(receiver.requests.length > ids.length, `retries happened (${receiver.requests.length} requests for ${ids.length} events)`)
  for (const run of commandRuns()) t.equal(run.payload.event.id, run.id, `event ${run.id}: stdin and environment agree`)
  const last = expected.filter((e) => e.type === 'active_cluster_changed').at(-1)!
  const lastPayload = receiver.requests.find((r) => r.body.event.id === last.id)!.body
  t.match(lastPayload.active_cluster, { id: STANDBY, port: 26257 })
  t.same(svc.events().filter((e) => e.type === 'hook_failed'), [])
  t.notOk(svc.lines.join('\n').includes('secret-token'), 'the webhook URL is not logged')
})

t.test("a command's failure reaches the history and the log without the secrets it printed", async (t) => {
  // A credential the operator passes on to the command, and the admin token written into its command line.
  process.env.HOOK_TEST_API_TOKEN = 'passed-on-secret-0123'
  t.teardown(() => {
    delete process.env.HOOK_TEST_API_TOKEN
  })
  const cloud = await startFakeCloud(t)
  const svc = await startService(t, cloud, {
    ON_FAILOVER_COMMAND: `echo "refused: key $HOOK_TEST_API_TOKEN, admin ${ADMIN_TOKEN}" >&2; exit 3`,
    HOOK_ENV_PASSTHROUGH: 'HOOK_TEST_API_TOKEN',
    HOOK_EVENTS: 'active_cluster_changed'
  })
  const failed = await svc.waitForEvent('hook_failed')
  t.equal(failed.data.reason, 'exited with code 3: refused: key [REDACTED], admin [REDACTED]')
  t.notMatch(JSON.stringify(svc.events()), /passed-on-secret|admin-token-for-tests/)
  await waitFor('the command output logged', () => svc.lines.some((l) => l.includes('command error output')))
  t.notMatch(svc.lines.join('\n'), /passed-on-secret|admin-token-for-tests/)
})
