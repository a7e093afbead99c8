import type { EventInput } from '../events.js'
import { hostPort } from '../../sql/host-port.js'
import { initialTimeline } from '../timeline.js'
import { beginAttempt, onCoordinated, onFresh, onPatched, onStandby } from './attempt.js'
import { beginCheck, finishCheck, initialClusters, onConfirmed, onListed, onObserved } from './check.js'
import { emit, type Ctx } from './context.js'
import { persisted, persistedKey, restore } from './persisted.js'
import type { Action, CorePolicy, CoreState, Input } from './types.js'
import { phaseOf, servedOf } from './view.js'

// The decision core: (state, input, now) → (state, actions). Pure: the shell performs
// the actions and feeds their results back as inputs.

export function initialState(policy: CorePolicy): CoreState {
  return { started: false, checks: 0, clusters: initialClusters(policy), timeline: initialTimeline }
}

export function step(state: CoreState, input: Input, now: number, policy: CorePolicy): { state: CoreState; actions: Action[] } {
  const ctx: Ctx = { s: { ...state }, now, policy, actions: [] }
  dispatch(ctx, input)
  // An automatic attempt runs inside its check; the check ends with it.
  if (ctx.s.check !== undefined && ctx.actions.some((a) => a.type === 'result')) finishCheck(ctx)
  settle(ctx)
  return { state: ctx.s, actions: ctx.actions }
}

function dispatch(ctx: Ctx, input: Input): void {
  switch (input.kind) {
    case 'start':
      return start(ctx, input)
    case 'stop':
      ctx.s.started = false
      emit(ctx, { type: 'monitor_stopped', message: 'monitoring stopped', data: {} })
      return
    case 'tick':
      return beginCheck(ctx, input.look === true)
    case 'listed':
      return onListed(ctx, input.reading)
    case 'confirmed':
      return onConfirmed(ctx, input.streamId, input.reading)
    case 'observed':
      return onObserved(ctx, input.watched, input.other, input.leader)
    case 'request':
      return beginAttempt(ctx, input.request)
    case 'fresh':
      return onFresh(ctx, input.reading)
    case 'standby':
      return onStandby(ctx, input.observed)
    case 'coordinated':
      return onCoordinated(ctx, input.decision)
    case 'patched':
      return onPatched(ctx, input.outcome)
    case 'pause':
    case 'resume':
      return toggle(ctx, input.kind, input.by)
  }
}

function start(ctx: Ctx, input: Extract<Input, { kind: 'start' }>): void {
  const { s, policy, now } = ctx
  s.started = true
  s.monitorStartedAt = now
  s.nextCheckAt = now
  emit(ctx, {
    type: 'monitor_started',
    message:
      `monitoring ${policy.pair.primaryClusterId} (standby ${policy.pair.standbyClusterId}) every ${policy.intervalMs / 1000} s` +
      (policy.suspectIntervalMs < policy.intervalMs ? `, every ${policy.suspectIntervalMs / 1000} s after a failed check` : ''),
    data: { primaryClusterId: policy.pair.primaryClusterId, standbyClusterId: policy.pair.standbyClusterId }
  })
  if (input.rejected !== undefined) {
    emit(ctx, { type: 'state_file_rejected', severity: 'error', message: `STATE_FILE ignored: ${input.rejected}`, data: { problem: input.rejected } })
  }
  if (input.persisted !== undefined) restore(ctx, input.persisted)
}

function toggle(ctx: Ctx, kind: 'pause' | 'resume', by: string): void {
  const changed = kind === 'pause' ? ctx.s.paused === undefined : ctx.s.paused !== undefined
  if (changed && kind === 'pause') {
    ctx.s.paused = { by }
    emit(ctx, { type: 'paused', message: `automatic failover paused by ${by}`, data: { by } })
  }
  if (changed && kind === 'resume') {
    ctx.s.paused = undefined
    ctx.s.blocked = undefined
    emit(ctx, { type: 'resumed', message: `automatic failover resumed by ${by}`, data: { by } })
  }
  ctx.actions.push({ type: 'result', result: { outcome: 'toggled', changed } })
}

// After every step: where applications are sent, said once per change, and what is
// worth surviving a restart, persisted when it changed.
function settle(ctx: Ctx): void {
  const { s, policy, now } = ctx
  const next = servedOf(s, policy, now)
  const target = s.target
  const same = next?.clusterId === target?.clusterId && next?.sqlDns === target?.sqlDns && next?.sqlPort === target?.sqlPort
  if (!same) {
    const phase = phaseOf(s, now)
    if (next !== undefined || phase === 'failing_over' || phase === 'activating') {
      const previousId = target?.clusterId ?? s.previousId
      s.previousId = previousId
      s.target = next
      ctx.actions.push({ type: 'emit', event: activeChanged(s, next, previousId, phase) })
    }
  }
  const key = persistedKey(s, policy)
  if (s.started && key !== s.persistedKey) {
    s.persistedKey = key
    ctx.actions.push({ type: 'persist', state: persisted(s, policy, now) })
  }
}

function activeChanged(s: CoreState, next: CoreState['target'], previousId: string | undefined, phase: string): EventInput {
  const pending = s.activation?.settled === undefined ? s.activation : undefined
  const moved = next !== undefined && previousId !== undefined && previousId !== next.clusterId
  return {
    type: 'active_cluster_changed',
    severity: moved ? 'warn' : 'info',
    message:
      next !== undefined
        ? `active cluster is ${next.clusterId} at ${hostPort(next.sqlDns, next.sqlPort)}${moved ? ` (was ${previousId})` : ''}`
        : pending !== undefined
          ? `no active cluster until ${pending.clusterId} answers SQL (was ${previousId})`
          : `no active cluster while failing over from ${previousId}`,
    data: {
      clusterId: next?.clusterId ?? null,
      host: next?.sqlDns ?? null,
      port: next?.sqlPort ?? null,
      previousClusterId: previousId ?? null,
      phase
    }
  }
}
