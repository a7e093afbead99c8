import { randomUUID } from 'node:crypto'

// Long operator actions (a failover followed to COMPLETED, a full failback) run
// in the background; their progress is read by id. One runs at a time: a second
// failover or failback while one is running is refused.

export type OperationKind = 'failover' | 'failback'
export type OperationStatus = 'running' | 'succeeded' | 'failed'

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
}

export interface OperationHandle {
  readonly id: string
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
}

export function createOperations(options: { now: () => number; capacity?: number }): Operations {
  const records = new Map<string, Operation>()
  const capacity = options.capacity ?? 50
  const stamp = () => new Date(options.now()).toISOString()
  let current: string | undefined

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
        error: null
      })
      // The oldest finished records go first once the history is full.
      for (const [old, record] of records) {
        if (records.size <= capacity) break
        if (record.status !== 'running') records.delete(old)
      }
      current = id
      const change = (patch: Partial<Operation>) => {
        const record = records.get(id)
        if (record === undefined || record.status !== 'running') return
        records.set(id, { ...record, ...patch, updatedAt: stamp() })
        if (patch.status !== undefined && current === id) current = undefined
      }
      return {
        id,
        update: (phase, progress, streamId) => change({ phase, progress, ...(streamId === undefined ? {} : { streamId }) }),
        succeed: (progress) => change({ status: 'succeeded', phase: 'done', progress, finishedAt: stamp() }),
        fail: (error) => change({ status: 'failed', error, finishedAt: stamp() }),
        discard: () => {
          records.delete(id)
          if (current === id) current = undefined
        }
      }
    },
    running: () => (current === undefined ? undefined : records.get(current)),
    get: (id) => records.get(id),
    list: () => [...records.values()].reverse()
  }
}
