import { execFile } from 'node:child_process'
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import { activeChanged, hookRig } from '../helpers/hook-rig.js'
import { STANDBY } from '../../tools/stack.js'

const script = resolve('proxy/route53/update-record.sh')

// An `aws` first on PATH that records its arguments (NUL-separated) and answers as the real one does.
function fakeAws(t: { testdir(files: Record<string, string>): string }, exitCode = 0) {
  const dir = t.testdir({
    aws: `#!/bin/sh\nprintf '%s\\0' "$@" > "$AWS_CALLS"\n${exitCode === 0 ? `echo '{"ChangeInfo":{"Id":"/change/C1","Status":"PENDING"}}'` : 'echo "An error occurred (AccessDenied)" >&2'}\nexit ${exitCode}\n`
  })
  chmodSync(join(dir, 'aws'), 0o755)
  const calls = join(dir, 'calls')
  return {
    env: { PATH: `${dir}:${process.env.PATH}`, AWS_CALLS: calls },
    args: () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\0').slice(0, -1) : undefined)
  }
}

const event = {
  PCR_EVENT_ID: '7',
  PCR_EVENT_TYPE: 'active_cluster_changed',
  PCR_ACTIVE_CLUSTER_ID: STANDBY,
  PCR_ACTIVE_SQL_HOST: 'standby-abc.aws-us-east-1.cockroachlabs.cloud',
  PCR_ACTIVE_SQL_PORT: '26257'
}
const settings = { ROUTE53_HOSTED_ZONE_ID: 'Z0123456789ABCDEFGHIJ', ROUTE53_RECORD_NAME: 'db.example.com' }

function run(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(script, [], { env }, (error, stdout, stderr) => done({ code: error === null ? 0 : Number(error.code), stdout, stderr }))
  })
}

const batch = (host: string, ttl: number) => ({
  Comment: `pcr-sidecar: active cluster ${STANDBY}`,
  Changes: [
    {
      Action: 'UPSERT',
      ResourceRecordSet: { Name: 'db.example.com', Type: 'CNAME', TTL: ttl, ResourceRecords: [{ Value: host }] }
    }
  ]
})

t.test('an UPSERT of the CNAME to the active cluster', async (t) => {
  const aws = fakeAws(t)
  const result = await run({ ...aws.env, ...settings, ...event })
  t.equal(result.code, 0)
  const args = aws.args()!
  t.same(args.slice(0, 4), ['route53', 'change-resource-record-sets', '--hosted-zone-id', 'Z0123456789ABCDEFGHIJ'])
  t.equal(args[4], '--change-batch')
  t.same(JSON.parse(args[5]!), batch(event.PCR_ACTIVE_SQL_HOST, 30))
  t.same(args.slice(6), ['--output', 'json'])
  t.match(result.stdout, `UPSERT CNAME db.example.com -> ${event.PCR_ACTIVE_SQL_HOST} (TTL 30) in hosted zone Z0123456789ABCDEFGHIJ`)
  t.match(result.stdout, /"Status":"PENDING"/, 'what aws answered')
  t.equal(result.stderr, '')
})

t.test('ROUTE53_TTL, and a note when the port is not 26257', async (t) => {
  const aws = fakeAws(t)
  const result = await run({ ...aws.env, ...settings, ...event, ROUTE53_TTL: '300', PCR_ACTIVE_SQL_PORT: '26258' })
  t.equal(result.code, 0)
  t.same(JSON.parse(aws.args()![5]!), batch(event.PCR_ACTIVE_SQL_HOST, 300))
  t.match(result.stderr, 'a CNAME carries no port; applications must use port 26258')
})

t.test('no active cluster: nothing to do', async (t) => {
  const aws = fakeAws(t)
  const result = await run({ ...aws.env, ...settings, ...event, PCR_ACTIVE_SQL_HOST: '', PCR_EVENT_TYPE: 'failover_requested' })
  t.equal(result.code, 0)
  t.equal(aws.args(), undefined, 'aws not called')
  t.match(result.stdout, 'event failover_requested names no active cluster: db.example.com left as it is')
})

t.test('a missing or bad setting is an error that says which', async (t) => {
  const aws = fakeAws(t)
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ ROUTE53_HOSTED_ZONE_ID: '' }, /ROUTE53_HOSTED_ZONE_ID is not set/],
    [{ ROUTE53_RECORD_NAME: '' }, /ROUTE53_RECORD_NAME is not set/],
    [{ ROUTE53_TTL: '30s' }, /ROUTE53_TTL must be a whole number of seconds, not '30s'/],
    [{ PCR_ACTIVE_SQL_HOST: 'x","Value":"evil' }, /holds a character a DNS name cannot/]
  ]
  for (const [override, message] of cases) {
    const result = await run({ ...aws.env, ...settings, ...event, ...override })
    t.equal(result.code, 1, Object.keys(override).join())
    t.match(result.stderr, message)
  }
  const unset = await run({ ...aws.env, ...event, ROUTE53_RECORD_NAME: 'db.example.com' })
  t.match(unset, { code: 1, stderr: /ROUTE53_HOSTED_ZONE_ID is not set/ }, 'unset as well as empty')
  t.equal(aws.args(), undefined, 'aws never called')
})

t.test('a failing aws call fails the script', async (t) => {
  const aws = fakeAws(t, 254)
  const result = await run({ ...aws.env, ...settings, ...event })
  t.equal(result.code, 254)
  t.match(result.stderr, 'AccessDenied')
})

t.test('run as ON_FAILOVER_COMMAND, it gets what it needs from the event', async (t) => {
  const aws = fakeAws(t)
  const command = `ROUTE53_HOSTED_ZONE_ID=${settings.ROUTE53_HOSTED_ZONE_ID} ROUTE53_RECORD_NAME=${settings.ROUTE53_RECORD_NAME} '${script}'`
  // The fake aws finds where to record through the environment, as the real one finds its credentials.
  const rig = hookRig(t, { ON_FAILOVER_COMMAND: command, HOOK_EVENTS: 'active_cluster_changed', HOOK_ENV_PASSTHROUGH: 'AWS_CALLS' }, { env: aws.env })
  rig.emit(activeChanged(STANDBY, 'standby-abc.aws-us-east-1.cockroachlabs.cloud'))
  await rig.hooks.close(30_000)
  t.same(rig.failures(), [])
  t.same(JSON.parse(aws.args()![5]!), batch('standby-abc.aws-us-east-1.cockroachlabs.cloud', 30))
  t.match(rig.logged('command output')[0].stdout, 'UPSERT CNAME db.example.com')
})
