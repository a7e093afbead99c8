import t from 'tap'
import { CloudApiError } from '../../src/cloud/errors.js'
import type { Stream } from '../../src/cloud/schemas.js'
import { streamView, type Engine, type FailoverRequest, type FailoverResult } from '../../src/engine/engine.js'
import type { EventInput } from '../../src/engine/events.js'
import { createOperations, type Operation, type Operations } from '../../src/engine/operations.js'
import { createOperator, OperatorError, type OperatorDeps } from '../../src/engine/operator.js'
import type { ClusterView, FenceView, PoolerView, Snapshot } from '../../src/engine/snapshot.js'
import { fenceMarginMs, switchoverRefusal } from '../../src/engine/switchover.js'
import { PRIMARY, STANDBY, STREAM } from '../../tools/stack.js'
import { operatorSettings } from '../helpers/operator-settings.js'
import { snapshotOf } from '../helpers/snapshot.js'
import { waitingClock } from '../helpers/waiting-clock.js'

// The switchover's steps on a clock that moves only when the operator waits: the
// fence, PgBouncer's confirmation, the wait for replicated_time to pass the fence,
// the failover to that time, and the fence lowered however it ends.

const cluster = (id: string, verdict: ClusterView['verdict'] = 'healthy'): ClusterView => ({
  id,
  name: null,
  role: id === PRIMARY ? 'primary' : 'standby',
  state: 'CREATED',
  operationStatus: null,
  verdict,
  reason: verdict === 'healthy' ? '3 of 3 nodes live' : '0 of 3 nodes live',
  nodesLive: null,
  nodesTotal: null,
  sqlDns: `${id}.example`,
  sqlPort: 26257,
  lastCheckedAt: null
})

function replicating(replicatedAt: number, extra: Partial<Stream> = {}): Stream {
  return {
    id: STREAM,
    status: 'REPLICATING',
    primary_cluster_id: PRIMARY,
    standby_cluster_id: STANDBY,
    created_at: '2026-01-01T00:00:00.000Z',
    replicated_time: new Date(replicatedAt).toISOString(),
    retained_time: '2026-01-05T09:00:00.000Z',
    replication_lag_seconds: 10,
    ...extra
  }
}

function normal(parts: Partial<Snapshot> = {}): Snapshot {
  return snapshotOf({
    phase: 'normal',
    activeClusterId: PRIMARY,
    watchedClusterId: PRIMARY,
    stream: streamView(replicating(Date.parse('2026-01-05T09:59:50.000Z'))),
    clusters: [cluster(PRIMARY), cluster(STANDBY)],
    pooler: { database: 'app', state: 'serving', reason: null, since: null },
    ...parts
  })
}

interface RigOptions {
  // The stream as the API shows it `elapsed` ms after the switchover started.
  read?: (elapsed: number, clockNow: number) => Stream
  pooled?: boolean
  // PgBouncer confirms the PAUSE as soon as the fence is raised.
  pauses?: boolean
  failover?: (request: Omit<FailoverRequest, 'trigger'>, operations: Operations) => FailoverResult | undefined
  snapshot?: Snapshot
  drainSeconds?: number
}

function rig(options: RigOptions = {}) {
  const clock = waitingClock()
  const events: EventInput[] = []
  const requests: Array<Omit<FailoverRequest, 'trigger'>> = []
  const fences: Array<FenceView | null> = []
  const listeners = new Set<(s: Snapshot) => void>()
  let current = options.snapshot ?? normal()
  const publish = (next: Snapshot) => {
    current = next
    for (const l of listeners) l(current)
  }
  const engine = {
    refresh: async () => current,
    snapshot: () => current,
    onPublish(listener: (s: Snapshot) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    events: () => events.map((e, i) => ({ ...e, id: i, at: '', severity: e.severity ?? 'info', data: e.data ?? {} })),
    record(input: EventInput) {
      events.push(input)
      return input
    },
    annotate(patch: { fence?: FenceView | null; pooler?: PoolerView | null }) {
      if (patch.fence !== undefined) fences.push(patch.fence)
      const paused = patch.fence !== null && patch.fence !== undefined && options.pauses !== false
      const pooler: PoolerView | null = current.pooler === null ? null : { ...current.pooler, state: paused ? 'paused' : 'serving' }
      publish({ ...current, ...patch, pooler })
    },
    async failover(request: Omit<FailoverRequest, 'trigger'>): Promise<FailoverResult> {
      const plan = { streamId: STREAM, fromClusterId: PRIMARY, toClusterId: STANDBY, failoverAt: request.failoverAt ?? null, estimatedDataLossSeconds: 0, dataLoss: { lowerSeconds: 0, upperSeconds: 0 } }
      if (request.dryRun === true) return options.failover?.(request, operations) ?? { outcome: 'dry_run', plan }
      requests.push(request)
      const answer = options.failover?.(request, operations)
      if (answer !== undefined) return answer
      const completed = replicating(0, { status: 'COMPLETED', activated_at: request.failoverAt })
      publish(normal({ phase: 'completed', activeClusterId: STANDBY, watchedClusterId: STANDBY, stream: streamView(completed), fence: current.fence }))
      return { outcome: 'started', plan, stream: streamView(replicating(0, { status: 'FAILING_OVER' })) }
    }
  } as unknown as Engine
  const read = options.read ?? ((elapsed: number, now: number) => replicating(elapsed < 3000 ? now - 10_000 : now))
  const cloud = {
    async getStream() {
      return read(clock.now() - clock.start, clock.now())
    }
  } as unknown as OperatorDeps['cloud']
  const operations = createOperations({ now: clock.now })
  const operator = createOperator({
    engine,
    cloud,
    clock,
    operations,
    settings: operatorSettings({ switchoverDrainSeconds: options.drainSeconds ?? 0 }, options.pooled ?? true)
  })
  return {
    clock,
    events,
    requests,
    fences,
    operator,
    types: () => events.map((e) => e.type),
    async run(request: { timeoutSeconds?: number; unfenced?: boolean } = {}): Promise<Operation> {
      const started = await operator.switchover({ requestedBy: 'test', ...request })
      for (;;) {
        const op = operations.get(started.id) as Operation
        if (op.status !== 'running') return op
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  }
}

t.test('fence, held, replicated past the fence, failed over to it, fence lowered', async (t) => {
  const r = rig()
  const op = await r.run()
  t.match(op, { kind: 'switchover', status: 'succeeded', error: null })
  t.same(op.steps.map((s) => s.phase), ['fencing', 'waiting_for_replication', 'failing_over'])
  t.ok(op.steps.every((s) => typeof s.durationMs === 'number'))
  t.equal(r.requests.length, 1)
  const fenceAt = Date.parse(r.requests[0]?.failoverAt as string)
  t.equal(fenceAt, r.clock.start + fenceMarginMs, 'the failover point is the fence time plus the clock margin')
  t.match(r.requests[0], { allowDataLoss: true, requestedBy: 'test' })
  t.ok(r.clock.now() - r.clock.start >= 3000, 'it waited until replicated_time passed the fence')
  t.same(r.fences.map((f) => f?.clusterId ?? null), [PRIMARY, null], 'raised on the primary, then lowered')
  t.same(r.types(), ['operation_started', 'fence_raised', 'operation_progress', 'operation_progress', 'operation_progress', 'fence_lowered', 'operation_finished'])
})

t.test('SWITCHOVER_DRAIN: the fence time is noted only after the drain', async (t) => {
  const r = rig({ drainSeconds: 6 })
  const op = await r.run()
  t.match(op, { status: 'succeeded' })
  t.same(op.steps.map((s) => s.phase), ['fencing', 'draining', 'waiting_for_replication', 'failing_over'])
  t.equal(op.steps[1]?.durationMs, 6000)
  t.equal(Date.parse(r.requests[0]?.failoverAt as string), r.clock.start + 6000 + fenceMarginMs)
})

t.test('PgBouncer not confirming the PAUSE gives up, with its last failure, before any failover', async (t) => {
  const r = rig({ pauses: false })
  r.events.push({ type: 'pgbouncer_failed', message: 'PgBouncer not yet paused (app) (attempt 3): connection refused', data: {} })
  const op = await r.run({ timeoutSeconds: 5 })
  t.match(op, { status: 'failed', error: "PgBouncer did not confirm the PAUSE within the switchover's 5 s: PgBouncer not yet paused (app) (attempt 3): connection refused" })
  t.equal(r.requests.length, 0, 'no failover')
  t.same(r.fences.map((f) => f?.clusterId ?? null), [PRIMARY, null])
})

t.test('without PgBouncer and asked to go on unfenced, the wait starts at once', async (t) => {
  const r = rig({ pooled: false })
  await t.rejects(r.operator.switchover({ requestedBy: 'test' }), { code: 'no_fence', status: 409 })
  const op = await r.run({ unfenced: true })
  t.match(op, { status: 'succeeded' })
  t.same(op.steps.map((s) => s.phase), ['fencing', 'waiting_for_replication', 'failing_over'])
  t.match(r.events.find((e) => e.type === 'fence_raised')?.message, /no PgBouncer: applications already connected are not held/)
})

t.test('the stream unreadable for a while is waited through; refused, or no longer REPLICATING, ends it', async (t) => {
  const flaky = rig({
    read: (elapsed, now) => {
      if (elapsed < 2000) throw new CloudApiError('timeout', 'timed out after 10 s', { operation: 'getStream' })
      return replicating(now)
    }
  })
  t.match(await flaky.run(), { status: 'succeeded' })

  const refused = rig({
    read: () => {
      throw new CloudApiError('http', 'HTTP 403', { operation: 'getStream', status: 403 })
    }
  })
  t.match(await refused.run(), { status: 'failed', error: 'reading the stream: getStream: HTTP 403' })
  t.equal(refused.requests.length, 0)

  const canceled = rig({ read: (_, now) => replicating(now - 10_000, { status: 'CANCELED' }) })
  t.match(await canceled.run(), { status: 'failed', error: `stream ${STREAM} is CANCELED` })
  t.same(canceled.fences.map((f) => f?.clusterId ?? null), [PRIMARY, null], 'fence lowered')
})

t.test('a replicated_time that never reaches the fence times out and lowers the fence', async (t) => {
  // Stalled: the standby stopped ingesting 10 s before the fence.
  const r = rig({ read: () => replicating(Date.parse('2026-01-05T09:59:50.000Z')) })
  const op = await r.run({ timeoutSeconds: 20 })
  t.match(op, { status: 'failed', error: /^stream \S+ did not replicate up to the fence \S+ within 20 s \(SWITCHOVER_TIMEOUT, or timeout_seconds\); last replicated_time \S+; the primary serves again$/ })
  t.equal(r.requests.length, 0)
  t.same(r.fences.map((f) => f?.clusterId ?? null), [PRIMARY, null])
})

t.test('the timeout names the last replicated_time read, even when the last read failed', async (t) => {
  const stalled = '2026-01-05T09:59:50.000Z'
  const flaky = rig({
    read: (elapsed) => {
      if (elapsed < 1000) return replicating(Date.parse(stalled))
      throw new CloudApiError('timeout', 'timed out after 10 s', { operation: 'getStream' })
    }
  })
  t.match(await flaky.run({ timeoutSeconds: 5 }), { status: 'failed', error: new RegExp(`last replicated_time ${stalled.replace(/\./g, '\\.')}; the primary serves again$`) })
  const dark = rig({
    read: () => {
      throw new CloudApiError('timeout', 'timed out after 10 s', { operation: 'getStream' })
    }
  })
  t.match(await dark.run({ timeoutSeconds: 5 }), { status: 'failed', error: /last replicated_time never read; the primary serves again$/ })
})

t.test('a failover refused at the end fails the switchover and lowers the fence', async (t) => {
  const r = rig({ failover: (request) => (request.dryRun === true ? undefined : { outcome: 'blocked', code: 'coordinator', reason: 'the leader refused' }) })
  const op = await r.run()
  t.match(op, { status: 'failed', error: 'the leader refused' })
  t.same(r.fences.map((f) => f?.clusterId ?? null), [PRIMARY, null])
})

t.test('refused before anything is fenced', async (t) => {
  const blocked = rig({ failover: () => ({ outcome: 'blocked', code: 'standby_unusable', reason: `standby ${STANDBY} is unhealthy: 0 of 3 nodes live` }) })
  await t.rejects(blocked.operator.switchover({ requestedBy: 'test' }), { code: 'standby_unusable', status: 409 }, 'the standby, read afresh by the dry run')
  t.same(blocked.fences, [])

  const busy = rig({ read: () => replicating(Date.parse('2026-01-05T09:59:50.000Z')) })
  const first = await busy.operator.switchover({ requestedBy: 'test' })
  await t.rejects(busy.operator.switchover({ requestedBy: 'test' }), { code: 'operation_in_progress', message: `operation ${first.id} (switchover) is running` })
  busy.operator.close('stopping')

  // Another operation begun while the dry run read the standby: refused, not a crash.
  const raced = rig({
    failover: (request, operations) => {
      if (request.dryRun === true) operations.begin('failover', 'someone else', 'requesting')
      return undefined
    }
  })
  await t.rejects(raced.operator.switchover({ requestedBy: 'test' }), { code: 'operation_in_progress', status: 409, message: /^operation \S+ \(failover\) is running$/ })
  t.same(raced.fences, [], 'nothing fenced')
  t.same(busy.fences.map((f) => f?.clusterId ?? null), [PRIMARY, null], 'the service stopping lowers the fence')
})

t.test('what a switchover needs, checked on the snapshot', async (t) => {
  const ok = { pooled: true, unfenced: false }
  const refused = (s: Snapshot, options = ok) => switchoverRefusal(s, options)?.code
  t.equal(refused(normal()), undefined)
  t.equal(refused(normal({ stream: null })), 'no_stream')
  t.equal(refused(normal({ stream: streamView(replicating(0, { status: 'FAILING_OVER' })) })), 'stream_not_replicating')
  t.equal(refused(normal({ stream: streamView(replicating(0, { replicated_time: undefined })) })), 'initial_scan')
  t.equal(refused(normal({ activeClusterId: STANDBY })), 'not_primary')
  t.equal(refused(normal({ activeClusterId: null })), 'not_primary')
  t.equal(refused(normal({ phase: 'suspect' })), 'not_normal')
  t.equal(refused(normal({ clusters: [cluster(PRIMARY, 'unknown'), cluster(STANDBY)] })), 'cluster_unhealthy')
  t.equal(refused(normal({ clusters: [cluster(PRIMARY), cluster(STANDBY, 'unhealthy')] })), undefined, 'the standby is for the dry run to judge, afresh')
  t.equal(refused(normal(), { pooled: false, unfenced: false }), 'no_fence')
  t.equal(refused(normal(), { pooled: false, unfenced: true }), undefined)
  t.ok(new OperatorError('x', 'y', 409) instanceof Error)
})
