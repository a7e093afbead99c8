import { z } from 'zod'
import { iso } from './proto-time.js'

// Injected failures of the API, configured through the control API.

export const operations = [
  'getCluster',
  'listNodes',
  'getConnectionString',
  'getDisruption',
  'putDisruption',
  'listStreams',
  'createStream',
  'getStream',
  'patchStream'
] as const
export type CloudOperation = (typeof operations)[number]

const common = {
  operation: z.enum([...operations, '*']),
  /** Only the next `count` matching requests. */
  count: z.int().positive().optional(),
  /** Only for this long after the fault is added. */
  duration_seconds: z.number().positive().optional(),
  /** Serve the request first (a mutation takes effect), then fail its answer. */
  after: z.boolean().optional()
}

// A listing fault reshapes the answer the emulator serves, so `after` means
// nothing to it; it exists for the stream listing only, where a missing
// stream changes which cluster is active.
const listing = {
  operation: z.literal('listStreams', { error: 'empty and truncated faults apply to operation listStreams only' }),
  count: common.count,
  duration_seconds: common.duration_seconds
}

export const FaultSpec = z.discriminatedUnion('kind', [
  z.strictObject({
    ...common,
    kind: z.literal('status'),
    status: z.int().min(400).max(599).optional(),
    code: z.int().min(0).max(16).optional(),
    message: z.string().optional(),
    retry_after_seconds: z.int().nonnegative().optional()
  }),
  z.strictObject({ ...common, kind: z.literal('latency'), latency_ms: z.int().positive().max(600_000) }),
  z.strictObject({ ...common, kind: z.literal('hang') }),
  z.strictObject({ ...common, kind: z.literal('malformed') }),
  z.strictObject({ ...common, kind: z.literal('reset') }),
  /** A well-formed page with no streams and no next page. */
  z.strictObject({ ...listing, kind: z.literal('empty') }),
  /** The matching streams but the newest, on one page with no next page. */
  z.strictObject({ ...listing, kind: z.literal('truncated') })
])
export type FaultSpec = z.infer<typeof FaultSpec>

export type Fault = FaultSpec & { id: string; expires_at?: string }

interface ActiveFault {
  fault: Fault
  remaining?: number
  expiresAt?: number
}

export type FaultRegistry = ReturnType<typeof createFaultRegistry>

export function createFaultRegistry(now: () => number) {
  let active: ActiveFault[] = []
  let added = 0

  function prune(): void {
    const t = now()
    active = active.filter((a) => (a.remaining ?? 1) > 0 && (a.expiresAt ?? Infinity) > t)
  }

  return {
    add(spec: FaultSpec): Fault {
      added += 1
      const entry: ActiveFault = { fault: { ...spec, id: `fault-${added}` }, remaining: spec.count }
      if (spec.duration_seconds !== undefined) {
        entry.expiresAt = now() + spec.duration_seconds * 1000
        entry.fault.expires_at = iso(entry.expiresAt)
      }
      active.push(entry)
      return entry.fault
    },

    /** The first active fault for this operation, counted as used. */
    take(operation: CloudOperation): Fault | undefined {
      prune()
      const match = active.find((a) => a.fault.operation === operation || a.fault.operation === '*')
      if (match?.remaining !== undefined) match.remaining -= 1
      return match?.fault
    },

    list() {
      prune()
      return active.map((a) => ({ ...a.fault, ...(a.remaining !== undefined && { remaining: a.remaining }) }))
    },

    clear() {
      active = []
    }
  }
}
