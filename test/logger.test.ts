import t from 'tap'
import { parseConfig } from '../src/config/index.js'
import { createLogger, scrubber, secretsOf } from '../src/logger.js'

t.test('secretsOf: the API key, the admin and read tokens and the endpoint passwords', async (t) => {
  const { config } = parseConfig({
    COCKROACH_API_SECRET_KEY: 'key-1234567',
    PRIMARY_CLUSTER_ID: '00000000-0000-4000-8000-000000000001',
    STANDBY_CLUSTER_ID: '00000000-0000-4000-8000-000000000002',
    ADMIN_TOKEN: 'token-0123456789abcdef',
    READ_TOKEN: 'reader-0123456789abcdef',
    PRIMARY_CLUSTER_ENDPOINT: 'postgresql://root:p%40ss%2Fword@db:26257/x',
    STANDBY_CLUSTER_ENDPOINT: 'postgresql://root@db:26257/x'
  })
  t.same(secretsOf(config), ['key-1234567', 'token-0123456789abcdef', 'reader-0123456789abcdef', 'p@ss/word', 'p%40ss%2Fword'])
})

t.test('secretsOf: the passed-on variables whose names say they hold a credential', async (t) => {
  const { config } = parseConfig({
    COCKROACH_API_SECRET_KEY: 'key-1234567',
    PRIMARY_CLUSTER_ID: '00000000-0000-4000-8000-000000000001',
    STANDBY_CLUSTER_ID: '00000000-0000-4000-8000-000000000002',
    HOOK_ENV_PASSTHROUGH: 'AWS_REGION,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,PAGER_PASSWORD,UNSET_TOKEN'
  })
  const env = { AWS_REGION: 'us-east-1', AWS_SECRET_ACCESS_KEY: 'aws-secret-xyz', AWS_SESSION_TOKEN: 'session-abc', PAGER_PASSWORD: 'pager-pw' }
  t.same(secretsOf(config, env), ['key-1234567', 'aws-secret-xyz', 'session-abc', 'pager-pw'])
})

t.test('scrubber removes every form of a secret, longest first', async (t) => {
  const scrub = scrubber(['abcd', 'abcdef', 'q"uo\\te'])
  t.equal(scrub('x abcdef y abcd z'), 'x [REDACTED] y [REDACTED] z')
  t.equal(scrub(JSON.stringify({ m: 'q"uo\\te' })), '{"m":"[REDACTED]"}', 'the JSON-escaped form too')
  t.equal(scrub('nothing here'), 'nothing here')
})

t.test('createLogger scrubs and redacts every line', async (t) => {
  const lines: string[] = []
  const log = createLogger({ level: 'info', secrets: ['s3cr3t-value'] }, { write: (l: string) => lines.push(l) })
  log.info({ req: { headers: { authorization: 'Bearer x', 'x-db-password': 'pw' } }, other: 'has s3cr3t-value inside' }, 'msg s3cr3t-value')
  log.error(new Error('failed with s3cr3t-value'))
  const text = lines.join('')
  t.notMatch(text, /s3cr3t-value/)
  t.notMatch(text, /Bearer x/)
  t.notMatch(text, /"pw"/)
  t.equal(lines.length, 2)
  t.equal(JSON.parse(lines[0] as string).msg, 'msg [REDACTED]')
})
