import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, hookableEvents, loadConfig, parseConfig } from '../src/config/index.js'

const required = {
  COCKROACH_API_SECRET_KEY: 'CCDB1_secretvalue',
  PRIMARY_CLUSTER_ID: '3f2a8b1c-0d4e-4f5a-9b6c-7d8e9f0a1b2c',
  STANDBY_CLUSTER_ID: '9c8b7a6f-5e4d-4c3b-8a29-180f7e6d5c4b'
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('configuration was accepted')
}

t.test('the Python tool defaults are kept', async (t) => {
  const { config, warnings } = parseConfig(required)
  t.match(config, {
    pair: {
      apiKey: required.COCKROACH_API_SECRET_KEY,
      primaryClusterId: required.PRIMARY_CLUSTER_ID,
      standbyClusterId: required.STANDBY_CLUSTER_ID
    },
    timeline: {
      intervalSeconds: 30,
      checkTimeoutSeconds: 10,
      failureThreshold: 3,
      failoverDelaySeconds: 60,
      failoverToLatest: true
    },
    server: {
      enablePrometheus: false,
      prometheusPort: 8000
    }
  })
  t.equal(config.pair.streamId, undefined, 'PCR_STREAM_ID is discovered when unset')
  t.equal(config.timeline.failoverAtTimestamp, undefined)
  t.equal(config.sql.primaryEndpoint, undefined)
  t.same(warnings, [])
})

t.test('the added variables have their documented defaults', async (t) => {
  const { config } = parseConfig(required)
  t.match(config, {
    pair: { apiUrl: 'https://cockroachlabs.cloud' },
    server: {
      port: 8080,
      host: '0.0.0.0',
      trustProxy: false,
      logLevel: 'info'
    },
    timeline: {
      autoFailover: true,
      failoverTimeoutSeconds: 900,
      activationTimeoutSeconds: 60,
      failbackTimeoutSeconds: 21600,
      failbackProgressIntervalSeconds: 300,
      switchoverTimeoutSeconds: 90,
      switchoverDrainSeconds: 0,
      unhealthyEvidence: 'both'
    },
    sql: {
      databaseName: 'defaultdb',
      sslmode: 'verify-full'
    }
  })
  t.equal(config.admin.token, undefined, 'admin routes disabled by default')
  t.match(config, { admin: { maxFailures: 5, failureWindowSeconds: 60, lockoutSeconds: 60 } })
  t.equal(config.tls, undefined, 'plain HTTP by default')
  t.equal(config.timeline.maxDataLossSeconds, undefined, 'no data-loss guard by default')
})

t.test('every variable is read, with fractions for durations', async (t) => {
  const tlsDir = mkdtempSync(join(tmpdir(), 'pcr-tls-'))
  writeFileSync(join(tlsDir, 'cert.pem'), 'cert')
  writeFileSync(join(tlsDir, 'key.pem'), 'key')
  const { config } = parseConfig({
    ...required,
    PCR_STREAM_ID: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    HEALTH_CHECK_INTERVAL: '0.2',
    SUSPECT_CHECK_INTERVAL: '0.1',
    HEALTH_CHECK_TIMEOUT: '0.1',
    FAILURE_THRESHOLD: '5',
    FAILOVER_DELAY: '0',
    FAILOVER_TO_LATEST: 'False',
    FAILOVER_AT_TIMESTAMP: '2026-01-02T15:04:05Z',
    PRIMARY_CLUSTER_ENDPOINT: 'postgresql://root:pw@primary.example:26257/defaultdb',
    STANDBY_CLUSTER_ENDPOINT: 'postgres://root:pw@standby.example:26257/defaultdb',
    PRIMARY_SQL_DNS: 'primary.example',
    STANDBY_SQL_DNS: '[::1]:5433',
    ENABLE_PROMETHEUS: 'yes',
    PROMETHEUS_PORT: '9100',
    COCKROACH_API_URL: 'http://127.0.0.1:8090/',
    PORT: '0',
    HOST: '127.0.0.1',
    TRUST_PROXY: ' 10.0.0.0/8, loopback,fd00::/8 ',
    LOG_LEVEL: 'DEBUG',
    ADMIN_TOKEN: 'a-long-enough-admin-token',
    ADMIN_MAX_FAILURES: '3',
    ADMIN_FAILURE_WINDOW: '0.5',
    ADMIN_LOCKOUT: '2.5',
    TLS_CERT_FILE: join(tlsDir, 'cert.pem'),
    TLS_KEY_FILE: join(tlsDir, 'key.pem'),
    AUTO_FAILOVER: '0',
    MAX_DATA_LOSS_SECONDS: '30.5',
    FAILOVER_TIMEOUT: '1.5',
    ACTIVATION_TIMEOUT: '2.5',
    FAILBACK_TIMEOUT: '7200',
    FAILBACK_PROGRESS_INTERVAL: '0.5',
    SWITCHOVER_TIMEOUT: '2.5',
    SWITCHOVER_DRAIN: '1.5',
    DATABASE_NAME: 'app',
    DB_SSLMODE: 'require',
    UNHEALTHY_EVIDENCE: 'Either',
    WEBHOOK_URL: 'https://hooks.example/services/T000/B000/XXXX',
    WEBHOOK_TIMEOUT: '2.5',
    WEBHOOK_RETRIES: '0',
    WEBHOOK_RETRY_BACKOFF: '0.1',
    ON_FAILOVER_COMMAND: '/opt/hooks/notify.sh --all',
    ON_FAILOVER_COMMAND_TIMEOUT: '3',
    HOOK_ENV_PASSTHROUGH: ' AWS_REGION, ROUTE53_RECORD_NAME,,AWS_REGION ',
    HOOK_EVENTS: ' Active_Cluster_Changed, failover_completed,active_cluster_changed ',
    PGBOUNCER_DATABASES_FILE: '/etc/pgbouncer/pcr-databases.ini',
    PGBOUNCER_ADMIN_URL: 'postgresql://admin:pw@127.0.0.1:6432/pgbouncer',
    PGBOUNCER_DATABASE: 'app_rw',
    PGBOUNCER_DATABASE_OPTIONS: 'pool_size=20 pool_mode=transaction',
    PGBOUNCER_MAX_PAUSE: '7.5',
    COORDINATION: 'ETCD',
    ETCD_ENDPOINTS: 'https://etcd-0.etcd:2379, https://etcd-1.etcd:2379/,',
    ETCD_PREFIX: '/pcr/app',
    SIDECAR_ID: 'app-7d9f-x2',
    SIDECAR_URL: 'http://10.0.0.7:8080/',
    ETCD_USERNAME: 'pcr',
    ETCD_PASSWORD: 'etcd-password-value',
    ETCD_CA_FILE: join(tlsDir, 'cert.pem'),
    ETCD_CERT_FILE: join(tlsDir, 'cert.pem'),
    ETCD_KEY_FILE: join(tlsDir, 'key.pem'),
    ETCD_LEASE_TTL: '5',
    QUORUM: '2',
    HTTPS_PROXY: 'http://egress:pw@proxy.internal:3128/',
    http_proxy: 'http://proxy.internal:3128',
    NO_PROXY: 'localhost,.svc.cluster.local',
    COORDINATION_STALE_AFTER: '12.5',
    STATE_FILE: ' /var/lib/pcr-sidecar/state.json ',
    STATE_MAX_AGE: '600.5',
    CLOUD_API_RATE_LIMIT: '2.5'
  })
  t.same(config, {
    pair: {
      apiKey: required.COCKROACH_API_SECRET_KEY,
      apiUrl: 'http://127.0.0.1:8090',
      primaryClusterId: required.PRIMARY_CLUSTER_ID,
      standbyClusterId: required.STANDBY_CLUSTER_ID,
      streamId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      apiRateLimit: 2.5
    },
    timeline: {
      intervalSeconds: 0.2,
      suspectIntervalSeconds: 0.1,
      checkTimeoutSeconds: 0.1,
      failureThreshold: 5,
      failoverDelaySeconds: 0,
      failoverToLatest: false,
      failoverAtTimestamp: '2026-01-02T15:04:05Z',
      autoFailover: false,
      maxDataLossSeconds: 30.5,
      failoverTimeoutSeconds: 1.5,
      activationTimeoutSeconds: 2.5,
      failbackTimeoutSeconds: 7200,
      failbackProgressIntervalSeconds: 0.5,
      switchoverTimeoutSeconds: 2.5,
      switchoverDrainSeconds: 1.5,
      unhealthyEvidence: 'either',
      stateFile: '/var/lib/pcr-sidecar/state.json',
      stateMaxAgeSeconds: 600.5
    },
    sql: {
      primaryEndpoint: 'postgresql://root:pw@primary.example:26257/defaultdb',
      standbyEndpoint: 'postgres://root:pw@standby.example:26257/defaultdb',
      primaryDns: 'primary.example',
      primaryPort: undefined,
      standbyDns: '::1',
      standbyPort: 5433,
      databaseName: 'app',
      sslmode: 'require'
    },
    server: {
      enablePrometheus: true,
      prometheusPort: 9100,
      port: 0,
      host: '127.0.0.1',
      trustProxy: ['10.0.0.0/8', 'loopback', 'fd00::/8'],
      logLevel: 'debug'
    },
    admin: {
      token: 'a-long-enough-admin-token',
      maxFailures: 3,
      failureWindowSeconds: 0.5,
      lockoutSeconds: 2.5
    },
    tls: { certFile: join(tlsDir, 'cert.pem'), keyFile: join(tlsDir, 'key.pem') },
    hooks: {
      webhookUrl: 'https://hooks.example/services/T000/B000/XXXX',
      webhookTimeoutSeconds: 2.5,
      webhookRetries: 0,
      webhookRetryBackoffSeconds: 0.1,
      command: '/opt/hooks/notify.sh --all',
      commandTimeoutSeconds: 3,
      envPassthrough: ['AWS_REGION', 'ROUTE53_RECORD_NAME'],
      events: ['active_cluster_changed', 'failover_completed']
    },
    pgbouncer: {
      databasesFile: '/etc/pgbouncer/pcr-databases.ini',
      adminUrl: 'postgresql://admin:pw@127.0.0.1:6432/pgbouncer',
      database: 'app_rw',
      options: 'pool_size=20 pool_mode=transaction',
      maxPauseSeconds: 7.5
    },
    coordination: {
      mode: 'etcd',
      etcd: {
        endpoints: ['https://etcd-0.etcd:2379', 'https://etcd-1.etcd:2379'],
        prefix: '/pcr/app/',
        sidecarId: 'app-7d9f-x2',
        sidecarUrl: 'http://10.0.0.7:8080',
        leaseTtlSeconds: 5,
        quorum: 2,
        staleAfterSeconds: 12.5,
        username: 'pcr',
        password: 'etcd-password-value',
        caFile: join(tlsDir, 'cert.pem'),
        certFile: join(tlsDir, 'cert.pem'),
        keyFile: join(tlsDir, 'key.pem')
      }
    },
    proxy: {
      httpsProxy: 'http://egress:pw@proxy.internal:3128',
      httpProxy: 'http://proxy.internal:3128',
      noProxy: 'localhost,.svc.cluster.local'
    }
  })
  t.equal(parseConfig({ ...required, HTTP_PROXY: 'http://upper:3128', http_proxy: 'http://lower:3128' }).config.proxy.httpProxy, 'http://upper:3128', 'the uppercase name wins')
  t.same(problemsOf({ ...required, https_proxy: 'socks5://proxy:1080' }), ['HTTPS_PROXY: must be an http(s) URL'])
})

t.test('nothing is kept across restarts unless STATE_FILE is set', async (t) => {
  const { config } = parseConfig(required)
  t.equal(config.timeline.stateFile, undefined)
  t.equal(config.timeline.stateMaxAgeSeconds, 3600, 'an hour: a rolling restart through a Cloud API outage, not longer')
  // Created at run time: a file that does not exist yet, in a directory that may not either, is accepted.
  t.equal(parseConfig({ ...required, STATE_FILE: 'no-such-dir/state.json' }).config.timeline.stateFile, 'no-such-dir/state.json')
  t.equal(parseConfig({ ...required, STATE_FILE: ' ' }).config.timeline.stateFile, undefined, 'empty is unset')
  for (const bad of ['0', '-5', 'an hour', 'Infinity']) {
    t.same(problemsOf({ ...required, STATE_MAX_AGE: bad }), ['STATE_MAX_AGE: must be a number of seconds greater than 0'], bad)
  }
})

t.test('coordination is off unless asked for, and has safe defaults when it is', async (t) => {
  t.equal(parseConfig(required).config.coordination.etcd, undefined, 'one process decides alone by default')
  t.equal(parseConfig({ ...required, ETCD_ENDPOINTS: 'http://127.0.0.1:2379' }).config.coordination.etcd, undefined, 'endpoints alone do not turn it on')
  const { config } = parseConfig({ ...required, COORDINATION: 'etcd', ETCD_ENDPOINTS: 'http://127.0.0.1:2379' })
  t.same(config.coordination.etcd, {
    endpoints: ['http://127.0.0.1:2379'],
    prefix: '/pcr-sidecar/',
    sidecarId: hostname(),
    sidecarUrl: undefined,
    leaseTtlSeconds: 10,
    quorum: 'majority',
    // Three intervals of 30 s: a follower reads the API itself only after the leader missed several.
    staleAfterSeconds: 90,
    username: undefined,
    password: undefined,
    caFile: undefined,
    certFile: undefined,
    keyFile: undefined
  })
  const short = parseConfig({ ...required, COORDINATION: 'etcd', ETCD_ENDPOINTS: 'http://127.0.0.1:2379', HEALTH_CHECK_INTERVAL: '1' })
  t.equal(short.config.coordination.etcd?.staleAfterSeconds, 20, 'never less than two lease TTLs')
})

t.test('coordination settings are checked', async (t) => {
  const etcd = { ...required, COORDINATION: 'etcd', ETCD_ENDPOINTS: 'http://127.0.0.1:2379' }
  t.same(problemsOf({ ...required, COORDINATION: 'zookeeper' }), ['COORDINATION: must be one of local, etcd'])
  t.same(problemsOf({ ...required, COORDINATION: 'etcd' }), ['ETCD_ENDPOINTS: is required when COORDINATION is etcd'])
  t.same(problemsOf({ ...etcd, ETCD_ENDPOINTS: 'etcd-0:2379' }), ['ETCD_ENDPOINTS: must be an http(s) URL'])
  t.same(problemsOf({ ...etcd, ETCD_ENDPOINTS: ' , ' }), ['ETCD_ENDPOINTS: must name at least one etcd member'])
  t.same(problemsOf({ ...etcd, ETCD_PREFIX: 'pcr' }), ['ETCD_PREFIX: must be a key prefix starting with / (letters, digits, _ . - and /)'])
  t.same(problemsOf({ ...etcd, SIDECAR_ID: 'pod name' }), ['SIDECAR_ID: must be 1 to 128 letters, digits, _ . or -'])
  t.same(problemsOf({ ...etcd, ETCD_LEASE_TTL: '0.5' }), ['ETCD_LEASE_TTL: must be a whole number of seconds from 1 to 3600'])
  t.same(problemsOf({ ...etcd, QUORUM: 'most' }), ['QUORUM: must be majority or a whole number from 1 to 1000'])
  t.same(problemsOf({ ...etcd, QUORUM: '0' }), ['QUORUM: must be majority or a whole number from 1 to 1000'])
  t.same(problemsOf({ ...etcd, ETCD_USERNAME: 'pcr' }), ['ETCD_PASSWORD: is required when ETCD_USERNAME is given (etcd authentication needs both)'])
  t.same(problemsOf({ ...etcd, ETCD_KEY_FILE: '/dev/null' }), [
    'ETCD_KEY_FILE: must be a readable file',
    'ETCD_CERT_FILE: is required when ETCD_KEY_FILE is given (a client certificate needs its key)'
  ])
  t.equal(parseConfig({ ...etcd, QUORUM: ' Majority ' }).config.coordination.etcd?.quorum, 'majority')
})

t.test('hooks and PgBouncer have safe defaults', async (t) => {
  const { config } = parseConfig(required)
  t.match(config.hooks, {
    webhookTimeoutSeconds: 5,
    webhookRetries: 5,
    webhookRetryBackoffSeconds: 1,
    commandTimeoutSeconds: 30,
    envPassthrough: [],
    events: hookableEvents
  })
  t.equal(config.hooks.webhookUrl, undefined)
  t.equal(config.hooks.command, undefined)
  t.equal(config.pgbouncer, undefined, 'PgBouncer is left alone unless configured')
  const aliasDefault = parseConfig({
    ...required,
    DATABASE_NAME: 'bank',
    PGBOUNCER_DATABASES_FILE: '/tmp/db.ini',
    PGBOUNCER_ADMIN_URL: 'postgres://127.0.0.1:6432/pgbouncer'
  }).config
  t.same(aliasDefault.pgbouncer, {
    databasesFile: '/tmp/db.ini',
    adminUrl: 'postgres://127.0.0.1:6432/pgbouncer',
    database: 'bank',
    options: undefined,
    maxPauseSeconds: 100
  }, 'the alias defaults to DATABASE_NAME')
})

t.test('SQL host overrides take an optional port', async (t) => {
  const read = (value: string) => {
    const { config } = parseConfig({ ...required, PRIMARY_SQL_DNS: value })
    return [config.sql.primaryDns, config.sql.primaryPort]
  }
  t.same(read('sql.example.com'), ['sql.example.com', undefined])
  t.same(read('sql.example.com:26258'), ['sql.example.com', 26258])
  t.same(read('10.0.0.7:5432'), ['10.0.0.7', 5432])
  t.same(read('[2001:db8::1]:26257'), ['2001:db8::1', 26257])
  for (const bad of ['sql.example.com:0', 'sql.example.com:70000', 'host:port', 'a b', 'postgres://x', '2001:db8::1']) {
    t.same(problemsOf({ ...required, PRIMARY_SQL_DNS: bad }), [
      'PRIMARY_SQL_DNS: must be a host name or address, optionally followed by :port'
    ], bad)
  }
})

t.test('empty values mean unset', async (t) => {
  const { config } = parseConfig({ ...required, HEALTH_CHECK_INTERVAL: '', ADMIN_TOKEN: '  ', PCR_STREAM_ID: '' })
  t.equal(config.timeline.intervalSeconds, 30)
  t.equal(config.admin.token, undefined)
  t.equal(config.pair.streamId, undefined)
})

t.test('one line per problem, naming the variable', async (t) => {
  const problems = problemsOf({
    PRIMARY_CLUSTER_ID: 'not-a-uuid',
    STANDBY_CLUSTER_ID: required.STANDBY_CLUSTER_ID,
    HEALTH_CHECK_INTERVAL: 'soon',
    HEALTH_CHECK_TIMEOUT: '0',
    FAILURE_THRESHOLD: '2.5',
    FAILOVER_DELAY: '-1',
    FAILOVER_TO_LATEST: 'maybe',
    FAILOVER_AT_TIMESTAMP: 'yesterday',
    PORT: '70000',
    LOG_LEVEL: 'loud',
    DB_SSLMODE: 'sometimes',
    UNHEALTHY_EVIDENCE: 'one',
    COCKROACH_API_URL: 'ftp://example.com',
    WEBHOOK_URL: 'slack',
    WEBHOOK_RETRIES: '-1',
    HOOK_EVENTS: 'failover_completed,hook_failed',
    PGBOUNCER_DATABASE: 'a;b',
    PGBOUNCER_DATABASE_OPTIONS: 'pool_size=1;'
  })
  t.same(problems, [
    'COCKROACH_API_SECRET_KEY: is required (the CockroachDB Cloud service account API key)',
    'PRIMARY_CLUSTER_ID: must be a cluster UUID (8-4-4-4-12 hexadecimal digits)',
    'HEALTH_CHECK_INTERVAL: must be a number of seconds greater than 0',
    'HEALTH_CHECK_TIMEOUT: must be a number of seconds greater than 0',
    'FAILURE_THRESHOLD: must be a whole number from 1 to 1000',
    'FAILOVER_DELAY: must be a number of seconds, 0 or more',
    'FAILOVER_TO_LATEST: must be true or false',
    'FAILOVER_AT_TIMESTAMP: must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z, or one without an offset (2026-01-02T15:04:05), taken as UTC',
    'COCKROACH_API_URL: must be an http(s) URL',
    'PORT: must be a TCP port (0 to 65535)',
    'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    'UNHEALTHY_EVIDENCE: must be one of both, either',
    'DB_SSLMODE: must be one of disable, allow, prefer, require, verify-ca, verify-full',
    'WEBHOOK_URL: must be an http(s) URL',
    'WEBHOOK_RETRIES: must be a whole number from 0 to 100',
    `HOOK_EVENTS: must be a comma-separated list of ${hookableEvents.join(', ')}`,
    'PGBOUNCER_DATABASE: must be a database alias of letters, digits, _ . and - (not "pgbouncer")',
    'PGBOUNCER_DATABASE_OPTIONS: must be space-separated key=value pairs such as "pool_size=20 pool_mode=transaction"'
  ])
  t.same(problemsOf({ ...required, HOOK_EVENTS: ' , ' }), ['HOOK_EVENTS: must name at least one event'])
  t.same(problemsOf({ ...required, HOOK_ENV_PASSTHROUGH: 'AWS_REGION,AWS-PROFILE,1X' }), [
    'HOOK_ENV_PASSTHROUGH: must be a comma-separated list of environment variable names'
  ])
  t.same(problemsOf({ ...required, HOOK_ENV_PASSTHROUGH: 'AWS_REGION,ETCD_PASSWORD' }), [
    "HOOK_ENV_PASSTHROUGH: must not name the sidecar's own secrets (COCKROACH_API_SECRET_KEY, ADMIN_TOKEN, READ_TOKEN, ETCD_PASSWORD, PGBOUNCER_ADMIN_URL, WEBHOOK_URL, PRIMARY_CLUSTER_ENDPOINT, STANDBY_CLUSTER_ENDPOINT)"
  ])
  const pooled = { ...required, PGBOUNCER_DATABASES_FILE: '/etc/pgbouncer/pcr.ini', PGBOUNCER_ADMIN_URL: 'postgresql://admin@127.0.0.1:6432/pgbouncer' }
  t.equal(parseConfig(pooled).config.pgbouncer?.maxPauseSeconds, 100, "PGBOUNCER_MAX_PAUSE: below PgBouncer's query_wait_timeout by default")
  t.same(problemsOf({ ...pooled, SWITCHOVER_TIMEOUT: '100' }), [
    'SWITCHOVER_TIMEOUT: must be shorter than PGBOUNCER_MAX_PAUSE (a switchover gives up, and resumes PgBouncer on the primary, before the pause would expire)'
  ])
  t.equal(parseConfig({ ...pooled, SWITCHOVER_TIMEOUT: '100', PGBOUNCER_MAX_PAUSE: '0' }).config.timeline.switchoverTimeoutSeconds, 100, 'PgBouncer never paused: no bound to stay under')
  t.equal(parseConfig({ ...required, SWITCHOVER_TIMEOUT: '600' }).config.timeline.switchoverTimeoutSeconds, 600, 'without PgBouncer, no bound either')
  t.same(problemsOf({ ...pooled, PGBOUNCER_MAX_PAUSE: '-1' }), ['PGBOUNCER_MAX_PAUSE: must be a number of seconds, 0 or more'])
  t.same(problemsOf({ ...pooled, SWITCHOVER_TIMEOUT: '0' }), ['SWITCHOVER_TIMEOUT: must be a number of seconds greater than 0'])
  t.same(problemsOf({ ...required, SWITCHOVER_DRAIN: '90' }), [
    'SWITCHOVER_DRAIN: must be shorter than SWITCHOVER_TIMEOUT (the drain is part of the time a switchover may take before it gives up)'
  ])
  t.same(problemsOf({ ...required, PGBOUNCER_DATABASE_OPTIONS: 'pool_size=5 host=elsewhere.example' }), [
    'PGBOUNCER_DATABASE_OPTIONS: must not set host, port, dbname or password (the sidecar sets where the alias points; the file is world-readable)'
  ])
  t.same(problemsOf({ ...required, PGBOUNCER_DATABASE: 'pgbouncer' }), [
    'PGBOUNCER_DATABASE: must be a database alias of letters, digits, _ . and - (not "pgbouncer")'
  ])
})

t.test('rules across variables', async (t) => {
  t.same(problemsOf({ ...required, STANDBY_CLUSTER_ID: required.PRIMARY_CLUSTER_ID.toUpperCase() }), [
    'STANDBY_CLUSTER_ID: must differ from PRIMARY_CLUSTER_ID'
  ])
  t.same(problemsOf({ ...required, FAILOVER_TO_LATEST: 'false' }), [
    'FAILOVER_AT_TIMESTAMP: is required when FAILOVER_TO_LATEST is false'
  ])
  t.same(problemsOf({ ...required, ENABLE_PROMETHEUS: 'true', PORT: '9000', PROMETHEUS_PORT: '9000' }), [
    'PROMETHEUS_PORT: must differ from PORT'
  ])
  t.doesNotThrow(() => parseConfig({ ...required, PORT: '9000', PROMETHEUS_PORT: '9000' }), 'same port is fine while disabled')
  t.same(problemsOf({ ...required, PGBOUNCER_DATABASES_FILE: '/tmp/db.ini' }), [
    'PGBOUNCER_ADMIN_URL: is required when the other PGBOUNCER_ setting is given (the file is useless without a RELOAD)'
  ])
  t.same(
    problemsOf({
      ...required,
      DATABASE_NAME: 'app db',
      PGBOUNCER_DATABASES_FILE: '/tmp/db.ini',
      PGBOUNCER_ADMIN_URL: 'postgres://127.0.0.1:6432/pgbouncer'
    }),
    ['PGBOUNCER_DATABASE: is required when DATABASE_NAME is not a valid PgBouncer alias (letters, digits, _ . and -, not "pgbouncer")']
  )
  t.same(problemsOf({ ...required, PGBOUNCER_ADMIN_URL: 'postgres://127.0.0.1:6432/pgbouncer' }), [
    'PGBOUNCER_DATABASES_FILE: is required when the other PGBOUNCER_ setting is given (the file is useless without a RELOAD)'
  ])
})

t.test('TLS needs both files, each readable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-tls-'))
  const cert = join(dir, 'cert.pem')
  writeFileSync(cert, 'cert')
  t.same(problemsOf({ ...required, TLS_CERT_FILE: cert }), [
    'TLS_KEY_FILE: is required when the other TLS_ setting is given (HTTPS needs both the certificate and its key)'
  ])
  t.same(problemsOf({ ...required, TLS_KEY_FILE: cert }), [
    'TLS_CERT_FILE: is required when the other TLS_ setting is given (HTTPS needs both the certificate and its key)'
  ])
  t.same(problemsOf({ ...required, TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: dir }), [
    'TLS_CERT_FILE: must be a readable file',
    'TLS_KEY_FILE: must be a readable file'
  ], 'a missing file and a directory')
  t.same(problemsOf({ ...required, ADMIN_MAX_FAILURES: '0', ADMIN_FAILURE_WINDOW: '0', ADMIN_LOCKOUT: 'long' }), [
    'ADMIN_MAX_FAILURES: must be a whole number from 1 to 1000',
    'ADMIN_FAILURE_WINDOW: must be a number of seconds greater than 0',
    'ADMIN_LOCKOUT: must be a number of seconds greater than 0'
  ])
})

t.test('FAILOVER_AT_TIMESTAMP without an offset, as the Python tool took it, is UTC, and says so', async (t) => {
  const used = { ...required, FAILOVER_TO_LATEST: 'false' }
  for (const [given, taken] of [
    ['2026-01-02T15:04:05', '2026-01-02T15:04:05Z'],
    ['2026-01-02T15:04:05.123456', '2026-01-02T15:04:05.123456Z'],
    ['2026-01-02T15:04', '2026-01-02T15:04:00Z']
  ] as const) {
    const { config, warnings } = parseConfig({ ...used, FAILOVER_AT_TIMESTAMP: ` ${given} ` })
    t.equal(config.timeline.failoverAtTimestamp, taken, given)
    t.same(warnings, [`FAILOVER_AT_TIMESTAMP ${given} has no UTC offset: taken as UTC (${taken})`], given)
  }
  for (const given of ['2026-01-02T15:04:05Z', '2026-01-02T17:04:05+02:00']) {
    const { config, warnings } = parseConfig({ ...used, FAILOVER_AT_TIMESTAMP: given })
    t.equal(config.timeline.failoverAtTimestamp, given, 'an offset is kept as given')
    t.same(warnings, [])
  }
  t.same(parseConfig({ ...required, FAILOVER_AT_TIMESTAMP: '2026-01-02T15:04:05' }).warnings, [
    'FAILOVER_AT_TIMESTAMP is ignored because FAILOVER_TO_LATEST is true'
  ], 'no word about UTC when the time is not used')
  for (const bad of ['2026-01-02 15:04:05', '2026-01-02', '2026-13-02T15:04:05', '15:04:05']) {
    t.same(problemsOf({ ...used, FAILOVER_AT_TIMESTAMP: bad }), [
      'FAILOVER_AT_TIMESTAMP: must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z, or one without an offset (2026-01-02T15:04:05), taken as UTC'
    ], bad)
  }
})

t.test('settings that are valid but suspicious give warnings', async (t) => {
  const { warnings } = parseConfig({
    ...required,
    FAILOVER_AT_TIMESTAMP: '2026-01-02T15:04:05Z',
    HEALTH_CHECK_INTERVAL: '5',
    HEALTH_CHECK_TIMEOUT: '5'
  })
  t.same(warnings, [
    'FAILOVER_AT_TIMESTAMP is ignored because FAILOVER_TO_LATEST is true',
    'HEALTH_CHECK_TIMEOUT is not shorter than HEALTH_CHECK_INTERVAL: checks will run back to back'
  ])
})

t.test('CLOUD_API_RATE_LIMIT: 8 a second by default, any positive rate, and a warning when the monitor alone takes half of it', async (t) => {
  t.equal(parseConfig(required).config.pair.apiRateLimit, 8)
  t.equal(parseConfig({ ...required, CLOUD_API_RATE_LIMIT: '0.5' }).config.pair.apiRateLimit, 0.5)
  for (const bad of ['0', '-1', 'fast', 'Infinity']) {
    t.same(problemsOf({ ...required, CLOUD_API_RATE_LIMIT: bad }), ['CLOUD_API_RATE_LIMIT: must be a number of requests a second greater than 0'], bad)
  }
  // 3 requests a check and 2 more every 30 s: 3.07 a second at a 1 s interval, under 4.
  t.same(parseConfig({ ...required, HEALTH_CHECK_INTERVAL: '1', HEALTH_CHECK_TIMEOUT: '0.5' }).warnings, [])
  t.same(parseConfig({ ...required, HEALTH_CHECK_INTERVAL: '0.5', HEALTH_CHECK_TIMEOUT: '0.4' }).warnings, [
    'the monitor alone sends about 6.07 Cloud API requests a second at HEALTH_CHECK_INTERVAL=0.5, more than half of CLOUD_API_RATE_LIMIT=8: failovers, failbacks and other sidecars sharing the key will wait for slots'
  ])
  t.same(parseConfig({ ...required, CLOUD_API_RATE_LIMIT: '0.1' }).warnings, [
    'the monitor alone sends about 0.17 Cloud API requests a second at HEALTH_CHECK_INTERVAL=30, more than half of CLOUD_API_RATE_LIMIT=0.1: failovers, failbacks and other sidecars sharing the key will wait for slots'
  ])
  t.same(parseConfig({ ...required, CLOUD_API_RATE_LIMIT: '20' }).warnings, [
    "CLOUD_API_RATE_LIMIT=20 is above the Cloud API's 10 requests a second per key: expect refusals, which are waited out"
  ])
})

t.test('a % that starts no escape in credentials or a database name is refused, %25 is a literal %', async (t) => {
  t.same(
    problemsOf({
      ...required,
      PRIMARY_CLUSTER_ENDPOINT: 'postgresql://u%zz:p@db.example/app',
      STANDBY_CLUSTER_ENDPOINT: 'postgresql://u:p@db.example/a%zzpp',
      WEBHOOK_URL: 'https://h%zz:secret@hooks.example/path'
    }),
    ['PRIMARY_CLUSTER_ENDPOINT', 'STANDBY_CLUSTER_ENDPOINT', 'WEBHOOK_URL'].map(
      (name) => `${name}: has a % that starts no escape (write a literal % as %25)`
    )
  )
  const { config } = parseConfig({ ...required, PRIMARY_CLUSTER_ENDPOINT: 'postgresql://u:50%25off@db.example/app' })
  t.equal(config.sql.primaryEndpoint, 'postgresql://u:50%25off@db.example/app')
})

t.test('TRUST_PROXY: off, a hop count or proxy addresses; never everyone', async (t) => {
  const trust = (v: string) => parseConfig({ ...required, TRUST_PROXY: v }).config.server.trustProxy
  t.equal(trust('false'), false)
  t.equal(trust('0'), false)
  t.equal(trust('2'), 2)
  t.same(trust('192.0.2.10,2001:db8::/32'), ['192.0.2.10', '2001:db8::/32'])
  for (const v of ['true', '10.0.0.0/33', '10.0.0.1/8/2', 'proxy.example', '1.2.3', ' , ']) {
    t.same(problemsOf({ ...required, TRUST_PROXY: v }), [
      'TRUST_PROXY: must be a number of proxy hops, or a comma-separated list of proxy addresses (IPs, CIDR ranges, loopback, linklocal, uniquelocal)'
    ], v)
  }
})

t.test('secrets from mounted files: NAME_FILE holds NAME, its trailing newline dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-secret-files-'))
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content)
    return join(dir, name)
  }
  const { config } = parseConfig({
    PRIMARY_CLUSTER_ID: required.PRIMARY_CLUSTER_ID,
    STANDBY_CLUSTER_ID: required.STANDBY_CLUSTER_ID,
    COCKROACH_API_SECRET_KEY_FILE: file('api-key', 'CCDB1_from_a_file\n'),
    ADMIN_TOKEN_FILE: file('admin-token', 'admin-token-from-a-file\r\n'),
    READ_TOKEN_FILE: file('read-token', 'read-token-from-a-file'),
    WEBHOOK_URL_FILE: file('webhook', 'https://hooks.example/services/T0/B0/x\n'),
    COORDINATION: 'etcd',
    ETCD_ENDPOINTS: 'http://127.0.0.1:2379',
    ETCD_USERNAME: 'pcr',
    ETCD_PASSWORD_FILE: file('etcd-password', 'etcd pass with spaces \n')
  })
  t.equal(config.pair.apiKey, 'CCDB1_from_a_file')
  t.equal(config.admin.token, 'admin-token-from-a-file')
  t.equal(config.admin.readToken, 'read-token-from-a-file')
  t.equal(config.hooks.webhookUrl, 'https://hooks.example/services/T0/B0/x')
  t.equal(config.coordination.etcd?.password, 'etcd pass with spaces')

  t.same(problemsOf({ ...required, COCKROACH_API_SECRET_KEY_FILE: file('other-key', 'k') }), [
    'COCKROACH_API_SECRET_KEY_FILE: COCKROACH_API_SECRET_KEY is set as well; give one of them'
  ])
  t.same(problemsOf({ ...required, COCKROACH_API_SECRET_KEY: '', COCKROACH_API_SECRET_KEY_FILE: join(dir, 'missing') }), [
    `COCKROACH_API_SECRET_KEY_FILE: cannot read ${join(dir, 'missing')} (ENOENT)`
  ])
  t.same(problemsOf({ ...required, ADMIN_TOKEN_FILE: file('short', 'short\n') }), ['ADMIN_TOKEN: must be at least 16 characters long'], 'what it holds is checked as the variable would be')
  t.same(problemsOf({ ...required, COCKROACH_API_SECRET_KEY: '', COCKROACH_API_SECRET_KEY_FILE: file('empty', '\n') }), [
    'COCKROACH_API_SECRET_KEY: is required (the CockroachDB Cloud service account API key)'
  ])
})

t.test('problems never echo a secret value', async (t) => {
  const secrets = {
    ADMIN_TOKEN: 'tooShortSecret',
    PRIMARY_CLUSTER_ENDPOINT: 'mysql://admin:hunter2-primary@db.example/app',
    STANDBY_CLUSTER_ENDPOINT: 'not a url hunter2-standby'
  }
  const problems = problemsOf({ ...required, ...secrets })
  t.equal(problems.length, 3)
  const text = problems.join('\n')
  for (const value of ['tooShortSecret', 'hunter2-primary', 'hunter2-standby', required.COCKROACH_API_SECRET_KEY]) {
    t.notOk(text.includes(value), `no trace of ${value.slice(0, 4)}…`)
  }
  t.match(text, /ADMIN_TOKEN: must be at least 16 characters long/)
  t.match(text, /PRIMARY_CLUSTER_ENDPOINT: must be a postgresql:\/\/ connection string/)
})

t.test('a .env file in the working directory is read, and the environment wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcr-config-'))
  writeFileSync(
    join(dir, '.env'),
    [
      '# comment',
      `COCKROACH_API_SECRET_KEY=${required.COCKROACH_API_SECRET_KEY}`,
      `PRIMARY_CLUSTER_ID=${required.PRIMARY_CLUSTER_ID}`,
      `STANDBY_CLUSTER_ID="${required.STANDBY_CLUSTER_ID}"`,
      'FAILURE_THRESHOLD=7',
      'PORT=9999',
      'HOST='
    ].join('\n')
  )
  const { config } = loadConfig({ PORT: '1234', HOST: '' }, dir)
  t.equal(config.timeline.failureThreshold, 7, 'from the file')
  t.equal(config.server.port, 1234, 'the environment wins')
  t.equal(config.server.host, '0.0.0.0', 'empty in both means the default')
  t.equal(config.pair.standbyClusterId, required.STANDBY_CLUSTER_ID, 'quotes are removed')
  t.throws(() => loadConfig({}, tmpdir() + '/no-such-dir'), ConfigError, 'no file, no environment: refused')
})

t.test('SUSPECT_CHECK_INTERVAL: the interval unless given, never longer, and a warning when it would crowd out a failover', async (t) => {
  t.equal(parseConfig(required).config.timeline.suspectIntervalSeconds, 30, 'the Python tool timeline stays the default')
  t.equal(parseConfig({ ...required, HEALTH_CHECK_INTERVAL: '12' }).config.timeline.suspectIntervalSeconds, 12)
  t.equal(parseConfig({ ...required, SUSPECT_CHECK_INTERVAL: '5' }).config.timeline.suspectIntervalSeconds, 5)
  t.same(problemsOf({ ...required, SUSPECT_CHECK_INTERVAL: '45' }), [
    'SUSPECT_CHECK_INTERVAL: must not be longer than HEALTH_CHECK_INTERVAL (it shortens the interval after a failed check)'
  ])
  t.same(problemsOf({ ...required, SUSPECT_CHECK_INTERVAL: '0' }), ['SUSPECT_CHECK_INTERVAL: must be a number of seconds greater than 0'])
  t.same(parseConfig({ ...required, SUSPECT_CHECK_INTERVAL: '5' }).warnings, [], '0.67 requests a second after a failed check: well within 8')
  t.same(parseConfig({ ...required, SUSPECT_CHECK_INTERVAL: '0.5', HEALTH_CHECK_TIMEOUT: '0.4' }).warnings, [
    'after a failed check the monitor sends about 6.07 Cloud API requests a second at SUSPECT_CHECK_INTERVAL=0.5, more than half of CLOUD_API_RATE_LIMIT=8: the failover it leads to will wait for slots'
  ])
})
