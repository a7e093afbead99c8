import t from 'tap'
import { operatorSettings } from '../helpers/operator-settings.js'
import type { Stream } from '../../src/cloud/schemas.js'
import { streamView, systemClock, type Clock, type Engine, type FailoverResult } from '../../src/engine/engine.js'
import type { EventInput } from '../../src/engine/events.js'
import { deadline } from '../../src/engine/operation-timers.js'
import { createOperations, type Operation } from '../../src/engine/operations.js'
import { createOperator, type OperatorDeps } from '../../src/engine/operator.js'
import type { Snapshot, StreamView } from '../../src/engine/snapshot.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'

// An operation whose end is never seen (the stream stays FAILING_OVER, the engine
// stops, a publish is missed) must still end: at its deadline, or when the service
// stops, it fails, says why, and lets go of what it registered on the engine.

const STREAM = 'stream-1'
const REVERSE = 'reverse-stream'
const FAILOVER_TIMEOUT = 600
const ACTIVATION_TIMEOUT = 60
const INTERVAL = 30

// Time moves only when the test says; the timers still pending are visible.
function manualClock() {
  let now = Date.parse('2026-01-05T10:00:00.000Z')
  const timers = new Map<number, { at: number; fn: () => void }>()
  let next = 0
  return {
    now: () => now,
    setTimeout(fn: () => void, ms: number) {
      timers.set(++next, { at: now + ms, fn })
      return next
    },
    clearTimeout: (handle: unknown) => void timers.delete(handle as number),
    pending: () => timers.size,
    async advance(ms: number) {
      const end = now + ms
      for (;;) {
        // What the last timer started runs up to its own next wait first.
        await new Promise((resolve) => setImmediate(resolve))
        const due = [...timers].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = end
    }
  } satisfies Clock & Record<string, unknown>
}

function stream(id: string, status: Stream['status'], primary = PRIMARY): Stream {
  const standby = primary === PRIMARY ? STANDBY : PRIMARY
  return { id, status, primary_cluster_id: primary, standby_cluster_id: standby, created_at: '2026-01-05T09:00:00.000Z' }
}

function snapshot(s: Stream, phase: Snapshot['phase']): Snapshot {
  const target = s.standby_cluster_id
  return {
    phase,
    activeClusterId: s.status === 'COMPLETED' && phase === 'completed' ? target : s.status === 'FAILING_OVER' ? null : s.primary_cluster_id,
    watchedClusterId: s.status === 'COMPLETED' ? target : s.primary_cluster_id,
    failoverTargetId: target,
    stream: streamView(s)
  } as Snapshot
}

// An engine whose failover starts and whose snapshots change only when the test
// publishes them; it counts the listeners registered on it. `hold` keeps the next
// failover request or stream read waiting until the test releases it.
function rig() {
  const clock = manualClock()
  const events: EventInput[] = []
  const listeners = new Set<(s: Snapshot) => void>()
  let current = snapshot(stream(STREAM, 'REPLICATING'), 'normal')
  let reverse = stream(REVERSE, 'REPLICATING', STANDBY)
  let held: Promise<void> | undefined
  let failovers = 0
  const reads: string[] = []
  const engine = {
    snapshot: () => current,
    refresh: async () => current,
    onPublish(listener: (s: Snapshot) => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    record: (input: EventInput) => {
      events.push(input)
      return input
    },
    async failover(): Promise<FailoverResult> {
      await held
      failovers++
      const s = current.stream as StreamView
      current = snapshot(stream(s.id, 'FAILING_OVER', s.primaryClusterId), 'failing_over')
      const plan = { streamId: s.id, fromClusterId: s.primaryClusterId, toClusterId: s.standbyClusterId, failoverAt: null, estimatedDataLossSeconds: 0, dataLoss: null }
      return { outcome: 'started', plan, stream: current.stream as StreamView }
    }
  } as unknown as Engine
  const cloud = {
    async getStream(id: string) {
      reads.push(id)
      await held
      return reverse
    }
  } as unknown as OperatorDeps['cloud']
  const operations = createOperations({ now: clock.now })
  const operator = createOperator({
    engine,
    cloud,
    clock,
    operations,
    settings: operatorSettings({ intervalSeconds: INTERVAL, failoverTimeoutSeconds: FAILOVER_TIMEOUT, activationTimeoutSeconds: ACTIVATION_TIMEOUT })
  })
  return {
    clock,
    operator,
    operations,
    reads,
    listeners: () => listeners.size,
    failovers: () => failovers,
    // Without telling the listeners: a publish the operation missed.
    set: (s: Snapshot) => {
      current = s
    },
    publish(s: Snapshot) {
      current = s
      for (const listener of [...listeners]) listener(s)
    },
    // A completed failover, its reverse stream replicating (with a lag once it has caught up).
    failedOver(lag?: number) {
      reverse = stream(REVERSE, 'REPLICATING', STANDBY)
      if (lag !== undefined) reverse = { ...reverse, replicated_time: '2026-01-05T09:59:50.000Z', replication_lag_seconds: lag }
      current = snapshot(reverse, 'normal')
    },
    hold(): () => void {
      let release = () => undefined as void
      held = new Promise<void>((resolve) => {
        release = resolve
      })
      return () => {
        held = undefined
        release()
      }
    },
    operation: (id: string) => operations.get(id) as Operation,
    types: () => events.map((e) => e.type),
    finished: () => events.filter((e) => e.type === 'operation_finished')
  }
}

// Lets the promises of the flow under test run to their next wait.
const settle = () => new Promise((resolve) => setImmediate(resolve))

t.test('a failover never seen COMPLETED fails at FAILOVER_TIMEOUT, lets go of the engine, and another may begin', async (t) => {
  const r = rig()
  const started = await r.operator.failover({ requestedBy: 'alice' })
  const id = started.operationId as string
  t.equal(r.listeners(), 1, 'it follows the engine meanwhile')

  await r.clock.advance((FAILOVER_TIMEOUT - 1) * 1000)
  t.equal(r.operation(id).status, 'running', 'not before the deadline')
  await r.clock.advance(1000)
  t.match(r.operation(id), { status: 'failed', error: `stream ${STREAM} still FAILING_OVER after FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT} s` })
  t.match(r.finished(), [
    { severity: 'error', message: `operation ${id} failed: stream ${STREAM} still FAILING_OVER after FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT} s`, data: { operationId: id, status: 'failed' } }
  ])
  t.equal(r.listeners(), 0, 'its listener is removed')
  t.equal(r.clock.pending(), 0, 'and no timer of it is left')
  t.equal(r.operations.running(), undefined)

  // The stream still FAILING_OVER is the engine's to refuse, not the operation's.
  r.set(snapshot(stream(STREAM, 'REPLICATING'), 'normal'))
  const again = await r.operator.failover({ requestedBy: 'bob' })
  t.equal(r.operation(again.operationId as string).status, 'running', 'a new operation begins: no operation_in_progress')
})

t.test('a failover that completes in time ends the operation and releases its deadline', async (t) => {
  const r = rig()
  const id = (await r.operator.failover({ requestedBy: 'alice' })).operationId as string
  await r.clock.advance(100_000)
  r.publish(snapshot(stream(STREAM, 'COMPLETED'), 'completed'))
  t.match(r.operation(id), { status: 'succeeded', phase: 'done' })
  t.equal(r.listeners(), 0)
  t.equal(r.clock.pending(), 0)
  await r.clock.advance(FAILOVER_TIMEOUT * 1000)
  t.equal(r.finished().length, 1, 'the deadline does not fire after the end')
})

t.test('a completion the listener missed is found at the deadline', async (t) => {
  const r = rig()
  const id = (await r.operator.failover({ requestedBy: 'alice' })).operationId as string
  r.set(snapshot(stream(STREAM, 'COMPLETED'), 'completed'))
  await r.clock.advance(FAILOVER_TIMEOUT * 1000)
  t.match(r.operation(id), { status: 'succeeded' })
  t.equal(r.listeners(), 0)
})

t.test('a stream the engine no longer shows is not seen COMPLETED', async (t) => {
  const r = rig()
  const id = (await r.operator.failover({ requestedBy: 'alice' })).operationId as string
  r.set({ ...snapshot(stream(STREAM, 'FAILING_OVER'), 'failing_over'), stream: null })
  await r.clock.advance(FAILOVER_TIMEOUT * 1000)
  t.match(r.operation(id), { status: 'failed', error: `stream ${STREAM} not seen COMPLETED after FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT} s` })
})

t.test('COMPLETED within FAILOVER_TIMEOUT: the activation gets ACTIVATION_TIMEOUT and a check more', async (t) => {
  const r = rig()
  const id = (await r.operator.failover({ requestedBy: 'alice' })).operationId as string
  await r.clock.advance((FAILOVER_TIMEOUT - 10) * 1000)
  r.publish(snapshot(stream(STREAM, 'COMPLETED'), 'activating'))
  await r.clock.advance(10_000)
  t.match(r.operation(id), { status: 'running', phase: 'activating' }, 'the engine bounds the activation: not failed at FAILOVER_TIMEOUT')
  await r.clock.advance((ACTIVATION_TIMEOUT + INTERVAL) * 1000 - 1)
  t.equal(r.operation(id).status, 'running')
  await r.clock.advance(1)
  t.match(r.operation(id), {
    status: 'failed',
    error: `stream ${STREAM} COMPLETED, but ${STANDBY} still activating after FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT} s and ACTIVATION_TIMEOUT=${ACTIVATION_TIMEOUT} s`
  })
  t.equal(r.listeners(), 0)
  t.equal(r.clock.pending(), 0)

  const s = rig()
  const other = (await s.operator.failover({ requestedBy: 'alice' })).operationId as string
  s.publish(snapshot(stream(STREAM, 'COMPLETED'), 'activating'))
  await s.clock.advance(FAILOVER_TIMEOUT * 1000 + 1000)
  s.publish(snapshot(stream(STREAM, 'COMPLETED'), 'activating'))
  t.equal(s.operation(other).status, 'running')
  s.set(snapshot(stream(STREAM, 'COMPLETED'), 'completed'))
  await s.clock.advance((ACTIVATION_TIMEOUT + INTERVAL) * 1000)
  t.match(s.operation(other), { status: 'succeeded' }, 'an activation that ended in its time succeeds, even unpublished')
  t.equal(s.listeners(), 0)
  t.equal(s.clock.pending(), 0)
})

t.test('a failback bounds its failover by FAILOVER_TIMEOUT too', async (t) => {
  const r = rig()
  r.failedOver(10)
  const op = r.operator.startFailbackFull('alice', { maxLagSeconds: 60 })
  await settle()
  t.equal(r.failovers(), 1, 'the reverse stream is within its lag: failed over')
  t.match(r.operation(op.id), { status: 'running', phase: 'failing_over' })
  await r.clock.advance(FAILOVER_TIMEOUT * 1000)
  t.match(r.operation(op.id), { status: 'failed', error: `stream ${REVERSE} still FAILING_OVER after FAILOVER_TIMEOUT=${FAILOVER_TIMEOUT} s` })
  t.equal(r.finished().length, 1)
  t.equal(r.listeners(), 0)
  t.equal(r.clock.pending(), 0)
})

t.test('closing the operator ends a running failover and releases it', async (t) => {
  const r = rig()
  const id = (await r.operator.failover({ requestedBy: 'alice' })).operationId as string
  r.operator.close('service stopped')
  t.match(r.operation(id), { status: 'failed', error: 'service stopped' })
  t.match(r.finished(), [{ severity: 'error', message: `operation ${id} failed: service stopped`, data: { operationId: id, status: 'failed' } }])
  t.equal(r.listeners(), 0)
  t.equal(r.clock.pending(), 0, 'nothing keeps the process alive')
  r.operator.close('service stopped')
  t.equal(r.finished().length, 1, 'nothing running: nothing to end')
})

t.test('a failover request answered after the close is not followed', async (t) => {
  const r = rig()
  const release = r.hold()
  const started = r.operator.failover({ requestedBy: 'alice' })
  await settle()
  r.operator.close('service stopped')
  release()
  const id = (await started).operationId as string
  t.match(r.operation(id), { status: 'failed', error: 'service stopped' })
  t.same(r.types(), ['operation_finished'], 'no operation_started after its end')
  t.equal(r.listeners(), 0)
  t.equal(r.clock.pending(), 0)
})

t.test('closing the operator stops a failback waiting for its stream', async (t) => {
  const r = rig()
  r.failedOver()
  const op = r.operator.startFailbackFull('alice', { maxLagSeconds: 60 })
  await r.clock.advance(12_000)
  t.equal(r.operation(op.id).phase, 'initial_scan')
  const reads = r.reads.length
  t.equal(r.clock.pending(), 1, 'between two reads')
  r.operator.close('service stopped')
  t.equal(r.clock.pending(), 0, 'its poll timer is cleared')
  await settle()
  await r.clock.advance(3600_000)
  t.equal(r.reads.length, reads, 'it polls no more')
  t.match(r.operation(op.id), { status: 'failed', error: 'service stopped' })
  t.equal(r.finished().length, 1, 'its end is recorded once')
})

t.test('a failback stopped while reading its stream requests no failover, and waits for no next read', async (t) => {
  for (const [lag, what] of [[10, 'ready'], [undefined, 'still scanning']] as const) {
    const r = rig()
    r.failedOver(lag)
    const release = r.hold()
    const op = r.operator.startFailbackFull('alice', { maxLagSeconds: 60 })
    await settle()
    r.operator.close('service stopped')
    release()
    await settle()
    t.equal(r.failovers(), 0, `the stream ${what}: no failover`)
    t.equal(r.reads.length, 1, `the stream ${what}: no other read`)
    t.match(r.operation(op.id), { status: 'failed', error: 'service stopped' })
    t.equal(r.finished().length, 1)
    t.equal(r.listeners(), 0)
    t.equal(r.clock.pending(), 0)
  }
})

t.test('a deadline on the system clock does not hold the process open, and is cleared with its operation', async (t) => {
  const timers: NodeJS.Timeout[] = []
  const cleared: unknown[] = []
  const clock: Clock = {
    ...systemClock,
    setTimeout(fn, ms) {
      const timer = systemClock.setTimeout(fn, ms) as NodeJS.Timeout
      timers.push(timer)
      return timer
    },
    clearTimeout(handle) {
      cleared.push(handle)
      systemClock.clearTimeout(handle)
    }
  }
  const ended = new AbortController()
  deadline(clock, ended.signal, FAILOVER_TIMEOUT * 1000, () => t.fail('the operation ended first'))
  t.equal(timers[0]?.hasRef(), false, 'unref: a backstop, not a reason to stay up')
  ended.abort()
  t.same(cleared, timers)
})
