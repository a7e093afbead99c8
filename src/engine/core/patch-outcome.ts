import type { Stream } from '../../cloud/schemas.js'
import type { PatchOutcome } from './types.js'

// What a failed PATCH means for "one PATCH per stream": only a PATCH that may have taken
// effect counts as asked. The facts come from the client's error (see cloud/errors.ts).
export interface PatchFailure {
  error: string
  // The client's own Retry-After gate, a 429, or a 503 with Retry-After: not processed.
  rateLimited: boolean
  retryAfterMs?: number
  // The API answered with a 4xx: it said no.
  refused: boolean
  // The stream as read back after the PATCH; absent when the read-back failed.
  readBack?: Stream
}

export function classifyPatchFailure(failure: PatchFailure, now: number): PatchOutcome {
  const seen = failure.readBack
  if (seen !== undefined && (seen.status === 'FAILING_OVER' || seen.status === 'COMPLETED')) return { kind: 'adopted', stream: seen }
  if (failure.rateLimited) return { kind: 'refused', error: failure.error, retryAt: now + (failure.retryAfterMs ?? 0) }
  // A refusal, or no clear answer but the stream reads back unchanged: not applied.
  if (failure.refused || seen !== undefined) return { kind: 'refused', error: failure.error }
  return { kind: 'unclear', error: failure.error }
}
