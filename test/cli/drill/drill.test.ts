import t from 'tap'
import type { ClustersJson, EventJson, OperationJson } from '../../../src/cli/backend.js'
import { RemoteError } from '../../../src/cli/errors.js'
import { runDrill, type DrillTarget } from '../../../src/cli/drill/drill.js'
import { PRIMARY, STANDBY } from '../../../tools/stack.js'

// The drill against a scripted target, for what the emulator will not do on cue:
// a verdict slow to come, an adopted failover, no replicated time, a restore that fails.

function state(verdict: 'healthy' | 'unknown', replicatedTime: string | null): ClustersJson {
  const cluster = (id: string, role: 'primary' | 'standby') => ({
    id,
    name: `pcr-${role}`,
    configured_role: role,
    role,
    state: 'CREATED',
    operation_status: null,
    verdict,
    reason: verdict === 'healthy' ? '3 of 3 nodes live' : 'not checked yet',
    nodes_live: 3,
    nodes_total: 3,
    sql_dns: `${role}.example`,
    last_checked_at: null
  })
  return {
    active_cluster_id: PRIMARY,
    watched_cluster_id: PRIMARY,
    failover_target_id: STANDBY,
    phase: 'normal',
    consecutive_failures: 0,
    failure_threshold: 3,
    delay_ends_at: null,
    blocked_reason: null,
    paused: false,
    auto_failover: true,
    last_check_at: null,
    last_healthy_at: null,
    estimated_data_loss_seconds: null,
    data_loss_seconds: null,
    stale: null,
    pgbouncer: null,
    fence: null,
    clusters: [cluster(PRIMARY, 'primary'), cluster(STANDBY, 'standby')],
    stream: {
      id: 'stream-0',
      status: 'REPLICATING',
      primary_cluster_id: PRIMARY,
      standby_cluster_id: STANDBY,
      created_at: '2025-06-02T12:00:00.000Z',
      replicated_time: replicatedTime,
      retained_time: null,
      replication_lag_seconds: null,
      activated_at: null,
      failover_at: null
    },
    failover: null
  }
}

interface Script {
  // The state after n calls of next().
  clusters(ticks: number): ClustersJson
  // Events appearing at tick n (ids are assigned in order).
  events?: Record<number, Array<Pick<EventJson, 'type' | 'message'>>>
  switchAt?: number
  restore?: () => Promise<never>
}

function scripted(script: Script): DrillTarget & { disrupted: string[] } {
  let ticks = 0
  const log: EventJson[] = []
  const disrupted: string[] = []
  return {
    disrupted,
    mode: 'direct',
    source: 'a script',
    refresh: async () => script.clusters(ticks),
    clusters: async () => script.clusters(ticks),
    events: async () => [...log].reverse(),
    connectionClusterId: async () => (script.switchAt !== undefined && ticks >= script.switchAt ? STANDBY : PRIMARY),
    async next() {
      await new Promise((resolve) => setTimeout(resolve, 5))
      ticks += 1
      for (const e of script.events?.[ticks] ?? []) {
        log.push({ ...e, id: log.length + 1, at: new Date().toISOString(), severity: 'info', data: {} })
      }
    },
    async disrupt(input) {
      disrupted.push(input.cluster_id)
      return { clusters: [] }
    },
    restore: async () => (script.restore === undefined ? { clusters: [] } : script.restore()),
    failbackFull: async () => {
      throw new Error('not scripted')
    },
    operation: async () => {
      throw new Error('not scripted')
    }
  }
}

const options = { clock: { now: Date.now }, confirm: async () => undefined }

t.test('a watched cluster never judged: the preflight times out and nothing is disrupted', async (t) => {
  const target = scripted({ clusters: () => state('unknown', null) })
  const report = await runDrill({ ...options, target, timeoutSeconds: 0.05 })
  t.equal(report.result, 'failed')
  t.equal(report.error, 'preflight: timed out after 0.05 s waiting for a first verdict on the watched cluster; nothing was changed')
  t.same(target.disrupted, [])
  t.same(report.phases, [])
})

t.test('an adopted failover, a replicated time seen late, and a restore that fails', async (t) => {
  const target = scripted({
    // No replicated time until after the outage.
    clusters: (ticks) => state(ticks === 0 ? 'unknown' : 'healthy', ticks < 2 ? null : '2025-06-02T12:00:00.000Z'),
    events: { 2: [{ type: 'failover_adopted', message: 'adopted' }], 3: [{ type: 'failover_completed', message: 'done' }] },
    switchAt: 3,
    restore: async () => {
      throw new Error('the API is down')
    }
  })
  const report = await runDrill({ ...options, target, timeoutSeconds: 5 })
  t.same(target.disrupted, [PRIMARY])
  t.equal(report.error, `restoring ${PRIMARY} failed, it is still disrupted (pcr simulate restore): the API is down`)
  t.equal(report.result, 'failed')
  t.ok((report.failover_seconds as number) >= 0, 'measured from the adoption when no request was seen')
  t.equal(report.detection_seconds, null)
  t.equal(report.last_replicated_time, '2025-06-02T12:00:00.000Z')
  t.ok((report.data_loss_window_seconds as number) > 0)
  t.same(report.phases.map((p) => p.name), ['preflight_ok', 'outage_started', 'failover_started', 'failover_completed', 'switched'])
})

t.test('a failed failover and a failed restore are both reported', async (t) => {
  const target = scripted({
    clusters: () => state('healthy', '2025-06-02T12:00:00.000Z'),
    events: { 1: [{ type: 'failover_failed', message: 'the PATCH was refused' }] },
    restore: async () => {
      throw new Error('still down')
    }
  })
  const report = await runDrill({ ...options, target, timeoutSeconds: 5 })
  t.equal(report.error, `the PATCH was refused; restoring ${PRIMARY} failed, it is still disrupted (pcr simulate restore): still down`)
  t.equal(report.last_replicated_time, '2025-06-02T12:00:00.000Z')
})

t.test('the data point is the stream\'s activated_at; a replicated time is only taken while REPLICATING', async (t) => {
  // A fixed clock: the outage starts at 12:01:00.
  const outage = Date.parse('2025-06-02T12:01:00.000Z')
  const at = (ticks: number): ClustersJson => {
    const s = state('healthy', '2025-06-02T12:00:30.000Z')
    const stream = s.stream as NonNullable<ClustersJson['stream']>
    if (ticks < 2) return s
    // A replicated time on a stream that no longer replicates is not one (the API omits it).
    if (ticks === 2) return { ...s, phase: 'failing_over', active_cluster_id: null, stream: { ...stream, status: 'FAILING_OVER', replicated_time: '2025-06-02T12:00:58.000Z' } }
    return {
      ...s,
      phase: 'completed',
      active_cluster_id: STANDBY,
      stream: { ...stream, status: 'COMPLETED', replicated_time: null, activated_at: '2025-06-02T12:00:55.000Z' }
    }
  }
  const target = scripted({
    clusters: at,
    events: { 2: [{ type: 'failover_patched', message: 'patched' }], 3: [{ type: 'failover_completed', message: 'done' }] },
    switchAt: 3
  })
  const report = await runDrill({ ...options, clock: { now: () => outage }, target, timeoutSeconds: 5 })
  t.equal(report.result, 'passed', report.error ?? '')
  t.equal(report.last_replicated_time, '2025-06-02T12:00:30.000Z', 'the last replicated time seen while REPLICATING')
  t.equal(report.activated_at, '2025-06-02T12:00:55.000Z')
  t.equal(report.data_loss_window_seconds, 5, 'outage − activated_at')
})

t.test('without activated_at the data-loss window falls back to the last replicated time seen while REPLICATING', async (t) => {
  const outage = Date.parse('2025-06-02T12:01:00.000Z')
  const target = scripted({
    clusters: () => state('healthy', '2025-06-02T12:00:30.000Z'),
    events: { 2: [{ type: 'failover_completed', message: 'done' }] },
    switchAt: 2
  })
  const report = await runDrill({ ...options, clock: { now: () => outage }, target, timeoutSeconds: 5 })
  t.equal(report.activated_at, null)
  t.equal(report.data_loss_window_seconds, 30)
})

t.test('a failback of hours: its progress is shown, a sidecar not answering for a while is asked again', async (t) => {
  const op = (status: 'running' | 'succeeded', phase: string, progress: string): OperationJson => ({
    id: 'op-1',
    kind: 'failback',
    requested_by: 'test',
    status,
    phase,
    progress,
    stream_id: 'reverse',
    started_at: '2025-06-02T12:02:00.000Z',
    updated_at: '2025-06-02T12:02:00.000Z',
    finished_at: status === 'running' ? null : '2025-06-02T15:02:00.000Z',
    error: null,
    steps: []
  })
  const answers: Array<OperationJson | Error> = [
    op('running', 'initial_scan', 'stream reverse is REPLICATING, initial scan'),
    new RemoteError(0, 'unreachable', 'cannot reach the sidecar'),
    new RemoteError(502, 'http_502', 'bad gateway'),
    op('running', 'catching_up', 'lag 40 s'),
    op('succeeded', 'done', 'stream reverse COMPLETED; a is active')
  ]
  const sent: unknown[] = []
  const base = scripted({
    clusters: () => state('healthy', '2025-06-02T12:00:00.000Z'),
    events: { 2: [{ type: 'failover_completed', message: 'done' }] },
    switchAt: 2
  })
  const target: DrillTarget = {
    ...base,
    async failbackFull(input) {
      sent.push(input)
      return { operation: op('running', 'stream_starting', 'stream reverse is STARTING') }
    },
    async operation() {
      const next = answers.shift() as OperationJson | Error
      if (next instanceof Error) throw next
      return next
    }
  }
  const progress: string[] = []
  const report = await runDrill({
    ...options,
    target,
    timeoutSeconds: 5,
    failback: { maxLagSeconds: 60, waitSeconds: 6 * 3600 },
    onProgress: (line) => progress.push(line)
  })
  t.equal(report.result, 'passed', report.error ?? '')
  t.match(report.failback, { status: 'succeeded', seconds: 3 * 3600 })
  t.same(sent, [{ max_lag_seconds: 60 }], "no timeout of its own: the sidecar's FAILBACK_TIMEOUT applies")
  t.same(progress, [
    'failback stream_starting: stream reverse is STARTING',
    'failback initial_scan: stream reverse is REPLICATING, initial scan',
    'failback: the sidecar does not answer (cannot reach the sidecar); still following',
    'failback: the sidecar does not answer (bad gateway); still following',
    'failback catching_up: lag 40 s'
  ])
})

t.test('a failback whose operation the sidecar no longer knows ends the drill', async (t) => {
  const base = scripted({
    clusters: () => state('healthy', '2025-06-02T12:00:00.000Z'),
    events: { 2: [{ type: 'failover_completed', message: 'done' }] },
    switchAt: 2
  })
  const target: DrillTarget = {
    ...base,
    failbackFull: async () => ({
      operation: {
        id: 'op-1',
        kind: 'failback',
        requested_by: 'test',
        status: 'running',
        phase: 'stream_starting',
        progress: '',
        stream_id: null,
        started_at: '2025-06-02T12:02:00.000Z',
        updated_at: '2025-06-02T12:02:00.000Z',
        finished_at: null,
        error: null,
        steps: []
      }
    }),
    operation: async () => {
      throw new RemoteError(404, 'unknown_operation', 'no operation op-1')
    }
  }
  const report = await runDrill({ ...options, target, timeoutSeconds: 5, failback: { maxLagSeconds: 60, timeoutSeconds: 7200, waitSeconds: 7200 } })
  t.equal(report.error, 'no operation op-1')
})
