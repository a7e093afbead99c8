import type { Stream } from '../../../src/cloud/schemas.js'
import { classifyPatchFailure } from '../../../src/engine/core/patch-outcome.js'
import { initialState, step } from '../../../src/engine/core/step.js'
import type { Action, CorePolicy, CoreState, Input, PatchOutcome } from '../../../src/engine/core/types.js'
import { view } from '../../../src/engine/core/view.js'
import type { EventInput } from '../../../src/engine/events.js'
import type { PersistedState } from '../../../src/engine/state-file.js'
import { judge } from '../../../src/engine/verdict.js'
import { createWorld, type PatchAnswer, type WorldScript } from './world.js'

// Plays the decision core against the simulated world on a fake clock, the way the
// engine's shell does (one input at a time, every read within the check's deadline),
// and records what an outside observer can see: reads, PATCHes, where applications
// were sent.

export interface Script extends WorldScript {
  horizonMs: number
  // Each read takes these many milliseconds, in turn.
  latencies: number[]
  operator: Array<{ at: number; kind: 'failover' | 'look' | 'pause' | 'resume' | 'restart' | 'restart_without_state' }>
}

export interface Observed {
  at: number
  clusterId: string
  verdict: 'healthy' | 'unhealthy' | 'unknown'
  // From a check the monitor scheduled (not an operator's look, not a failover's poll).
  counted: boolean
  process: number
}

export interface Patch {
  at: number
  trigger: 'auto' | 'manual'
  answer: PatchAnswer
  process: number
  // Restarts without a state file begin a new epoch: nothing is remembered across one.
  epoch: number
  // The data-loss upper bound the core gave when it sent the PATCH, and when the answer came.
  planBound: number | null
  dataLossBound: number | null
  // How long the PATCH was in flight, in seconds.
  flightSeconds: number
  // The primary's writes after the replicated time the stream fails over to, in seconds.
  lostSeconds: number
}

export interface Trace {
  ticks: Array<{ at: number; look: boolean; process: number; afterPatch: boolean; doubleCheck: boolean; suspect: boolean }>
  observed: Observed[]
  patches: Patch[]
  active: Array<{ at: number; clusterId: string | null; epoch: number }>
  events: Array<EventInput & { at: number }>
  // Unknown checks whose timeline moved (must stay empty).
  unknownMoves: number[]
  world: ReturnType<typeof createWorld>
}

function outcomeOf(answer: PatchAnswer, stream: Stream, now: number): PatchOutcome {
  switch (answer) {
    case 'applied':
      return { kind: 'applied', stream, confirmedBy: 'answer' }
    case 'rate_limited':
      return classifyPatchFailure({ error: '429', rateLimited: true, retryAfterMs: 1000, refused: false }, now)
    case 'refused':
      return classifyPatchFailure({ error: '409', rateLimited: false, refused: true, readBack: stream }, now)
    case 'error_read_back_replicating':
      return classifyPatchFailure({ error: '500', rateLimited: false, refused: false, readBack: stream }, now)
    default:
      return classifyPatchFailure({ error: 'reset', rateLimited: false, refused: false }, now)
  }
}

const timelineKey = (s: CoreState) => {
  const t = s.timeline
  return t.phase === 'normal' ? 'normal' : `${t.phase}:${t.failures}:${t.since}`
}

export function play(script: Script, policy: CorePolicy): Trace {
  const world = createWorld(script)
  const trace: Trace = { ticks: [], observed: [], patches: [], active: [], events: [], unknownMoves: [], world }
  let now = 0
  let process = 0
  let file: PersistedState | undefined
  let state: CoreState = initialState(policy)
  let latency = 0
  // A PATCH went out since the last scheduled check: the next one follows it at once.
  let sincePatch = false
  let epoch = 0
  const nextLatency = () => script.latencies[latency++ % script.latencies.length] as number

  function apply(input: Input): Action[] {
    const before = state
    const out = step(state, input, now, policy)
    state = out.state
    for (const a of out.actions) {
      if (a.type === 'emit') trace.events.push({ ...a.event, at: now })
      if (a.type === 'emit' && input.kind === 'patched' && 'dataLossUpperSeconds' in a.event.data) {
        ;(trace.patches.at(-1) as Patch).dataLossBound = a.event.data.dataLossUpperSeconds as number | null
      }
      if (a.type === 'persist') file = a.state
    }
    if (input.kind === 'observed' && trace.observed.at(-1)?.verdict === 'unknown' && before.topology?.watchedClusterId === state.topology?.watchedClusterId) {
      if (timelineKey(before) !== timelineKey(state)) trace.unknownMoves.push(now)
    }
    const active = view(state, policy, now).activeClusterId
    if (trace.active.at(-1)?.clusterId !== active) trace.active.push({ at: now, clusterId: active, epoch })
    return out.actions
  }

  // Waits for one read: the answer arrives after its latency, or at the deadline.
  function wait(deadline: number | undefined): boolean {
    const arrives = now + nextLatency()
    if (deadline !== undefined && arrives > deadline) {
      now = deadline
      return false
    }
    now = arrives
    return true
  }

  function perform(action: Action, deadline: number, look: boolean): Input | undefined {
    switch (action.type) {
      case 'list': {
        const inTime = wait(deadline)
        return { kind: 'listed', reading: inTime ? world.list(now) : { ok: false, error: 'timeout' } }
      }
      case 'confirm': {
        const inTime = wait(deadline)
        return { kind: 'confirmed', streamId: action.streamId, reading: inTime ? world.getStream(action.streamId, now) : { ok: false, error: 'timeout' } }
      }
      case 'observe': {
        const startedAt = now
        const inTime = wait(deadline)
        const observation = inTime ? world.observe(action.watched, now) : { cluster: { ok: false as const, error: 'timeout' } }
        const verdict = judge(observation).verdict
        const polling = state.topology?.stream?.status === 'FAILING_OVER'
        trace.observed.push({ at: now, clusterId: action.watched, verdict, counted: !look && !polling, process })
        const other = action.other === undefined ? undefined : { clusterId: action.other, observation: inTime ? world.observe(action.other, now) : observation, startedAt }
        return { kind: 'observed', watched: { clusterId: action.watched, observation, startedAt }, other }
      }
      case 'fresh':
        wait(undefined)
        return { kind: 'fresh', reading: world.getStream(action.streamId, now) }
      case 'standby': {
        const startedAt = now
        wait(undefined)
        return { kind: 'standby', observed: { clusterId: action.clusterId, observation: world.observe(action.clusterId, now), startedAt } }
      }
      case 'coordinate':
        return { kind: 'coordinated', decision: { allowed: true } }
      case 'patch': {
        const sentAt = now
        wait(undefined)
        const attempt = state.attempt as NonNullable<CoreState['attempt']>
        const frontier = Date.parse(world.stream(now).replicated_time ?? new Date(now).toISOString())
        const lostSeconds = world.upTime(frontier, now) / 1000
        const { answer, stream } = world.patch(now)
        const planBound = attempt.plan?.dataLoss?.upperSeconds ?? null
        trace.patches.push({
          at: now,
          trigger: attempt.request.trigger as 'auto' | 'manual',
          answer,
          process,
          epoch,
          lostSeconds,
          planBound,
          dataLossBound: null,
          flightSeconds: (now - sentAt) / 1000
        })
        sincePatch = true
        return { kind: 'patched', outcome: outcomeOf(answer, stream as Stream, now) }
      }
      default:
        return undefined
    }
  }

  function drive(first: Input): void {
    const deadline = now + policy.timeoutMs
    const look = first.kind === 'tick' && first.look === true
    let input: Input | undefined = first
    for (let n = 0; input !== undefined; n++) {
      if (n > 1000) throw new Error(`one drive took more than 1000 steps at ${now} ms`)
      const actions = apply(input)
      input = undefined
      for (const a of actions) input = perform(a, deadline, look) ?? input
    }
  }

  function start(withFile: boolean): void {
    process += 1
    state = initialState(policy)
    apply({ kind: 'start', ...(withFile && file !== undefined ? { persisted: file } : {}) })
  }

  start(false)
  const operator = [...script.operator].sort((a, b) => a.at - b.at)
  let next = 0
  for (let steps = 0; ; steps++) {
    // A core that asks for checks faster than time passes would spin the shell: fail, do not hang.
    if (steps > 100_000) throw new Error(`more than 100000 checks by ${now} ms: the core spins`)
    const tickAt = state.nextCheckAt ?? Number.POSITIVE_INFINITY
    const op = operator[next]
    const at = Math.min(tickAt, op?.at ?? Number.POSITIVE_INFINITY)
    if (at > script.horizonMs) break
    now = Math.max(now, at)
    if (op !== undefined && op.at <= tickAt) {
      next += 1
      if (op.kind === 'restart_without_state') epoch += 1
      if (op.kind === 'restart' || op.kind === 'restart_without_state') start(op.kind === 'restart')
      else if (op.kind === 'failover') drive({ kind: 'request', request: { trigger: 'manual', requestedBy: 'operator' } })
      else if (op.kind === 'look') {
        trace.ticks.push({ at: now, look: true, process, afterPatch: false, doubleCheck: false, suspect: false })
        drive({ kind: 'tick', look: true })
      } else apply({ kind: op.kind, by: 'operator' })
      continue
    }
    const t = state.timeline
    const doubleCheck = t.phase === 'delay' && !t.inconclusive
    // Armed after a failed check: due at SUSPECT_CHECK_INTERVAL rather than the interval.
    trace.ticks.push({ at: now, look: false, process, afterPatch: sincePatch, doubleCheck, suspect: t.phase !== 'normal' })
    sincePatch = false
    drive({ kind: 'tick' })
  }
  return trace
}

