import { randomUUID } from 'node:crypto'

// Long operator actions (a failover followed to COMPLETED, a full failback) run
// in the background; their progress is read by id. One runs at a time: a second
// failover or failback while one is running is refused. Each ends, at the latest,
// at its deadline or when the service stops (see operator.ts).

export type OperationKind = 'failover' | 'failback' | 'switchover'
export type OperationStatus = 'running' | 'succeeded' | 'failed'

// One phase of an operation: when it began and how long it took (null while it runs).
export interface OperationStep {
  phase: string
  progress: string
  startedAt: string
  durationMs: number | null
}

export interface Operation {
  id: string
  kind: OperationKind
  requestedBy: string
  status: OperationStatus
  phase: string
  progress: string
  streamId: string | null
  startedAt: string
  updatedAt: string
  finishedAt: string | null
  error: string | null
  steps: OperationStep[]
}

export interface OperationHandle {
  readonly id: string
  // Aborted once the operation has ended, however it ended: what its flow registered
  // (listeners, timers) is released on it, and the flow stops at its next step.
  readonly signal: AbortSignal
  update(phase: string, progress: string, streamId?: string): void
  succeed(progress: string): void
  fail(error: string): void
  // Forget an operation that never started (its request was refused).
  discard(): void
}

export interface Operations {
  // undefined when another operation is running (see running()).
  begin(kind: OperationKind, requestedBy: string, phase: string): OperationHandle | undefined
  running(): Operation | undefined
  get(id: string): Operation | undefined
  list(): Operation[]
  // Ends the running operation, if any, failed with this reason; returns it.
  stop(reason: string): Operation | undefined
}

export function createOperations(options: { now: () => number; capacity?: number }): Operations {
  const records = new Map<string, Operation>()
  const capacity = options.capacity ?? 50
  const stamp = () => new Date(options.now()).toISOString()
  // The last step ends when the next begins, or when the operation does.
  const closeLast = (steps: OperationStep[]): OperationStep[] => {
    const last = steps.at(-1)
    if (last === undefined || last.durationMs !== null) return steps
    return [...steps.slice(0, -1), { ...last, durationMs: options.now() - Date.parse(last.startedAt) }]
  }
  let current: { id: string; handle: OperationHandle } | undefined

  return {
    begin(kind, requestedBy, phase) {
      if (current !== undefined) return undefined
      const id = randomUUID()
      const at = stamp()
      records.set(id, {
        id,
        kind,
        requestedBy,
        status: 'running',
        phase,
        progress: '',
        streamId: null,
        startedAt: at,
        updatedAt: at,
        finishedAt: null,
        error: null,
        steps: [{ phase, progress: '', startedAt: at, durationMs: null }]
      })
      // The oldest finished records go first once the history is full.
      for (const [old, record] of records) {
        if (records.size <= capacity) break
        if (record.status !== 'running') records.delete(old)
      }
      const ended = new AbortController()
      const end = () => {
        if (current?.id === id) current = undefined
        ended.abort()
      }
      const change = (patch: Partial<Operation>) => {
        const record = records.get(id)
        if (record === undefined || record.status !== 'running') return
        let steps = record.steps
        const last = steps.at(-1)
        if (patch.status !== undefined) steps = closeLast(steps)
        else if (patch.phase !== undefined && patch.phase !== last?.phase) {
          steps = [...closeLast(steps), { phase: patch.phase, progress: patch.progress ?? '', startedAt: stamp(), durationMs: null }]
        } else if (last !== undefined && patch.progress !== undefined) steps = [...steps.slice(0, -1), { ...last, progress: patch.progress }]
        records.set(id, { ...record, ...patch, steps, updatedAt: stamp() })
        if (patch.status !== undefined) end()
      }
      const handle: OperationHandle = {
        id,
        signal: ended.signal,
        update: (phase, progress, streamId) => change({ phase, progress, ...(streamId === undefined ? {} : { streamId }) }),
        succeed: (progress) => change({ status: 'succeeded', phase: 'done', progress, finishedAt: stamp() }),
        fail: (error) => change({ status: 'failed', error, finishedAt: stamp() }),
        discard: () => {
          records.delete(id)
          end()
        }
      }
      current = { id, handle }
      return handle
    },
    running: () => (current === undefined ? undefined : records.get(current.id)),
    get: (id) => records.get(id),
    list: () => [...records.values()].reverse(),
    stop(reason) {
      if (current === undefined) return undefined
      const { id, handle } = current
      handle.fail(reason)
      return records.get(id)
    }
  }
}
