import type { Stream } from '../../cloud/schemas.js'
import type { PersistedState } from '../state-file.js'
import { emit, iso, type Ctx } from './context.js'
import type { CorePolicy, CoreState } from './types.js'

// What survives a restart (STATE_FILE): where applications were sent, the newest
// stream seen and the PATCH record. The topology itself is read again from the API.

export function persisted(s: CoreState, policy: CorePolicy, now: number): PersistedState {
  const stream = newestKnown(s)
  const served = s.target ?? s.restored?.served
  return {
    version: 1,
    primaryClusterId: policy.pair.primaryClusterId,
    standbyClusterId: policy.pair.standbyClusterId,
    savedAt: iso(now) as string,
    active: served === undefined ? null : { clusterId: served.clusterId, sqlDns: served.sqlDns, sqlPort: served.sqlPort },
    watchedClusterId: s.topology?.watchedClusterId ?? policy.pair.primaryClusterId,
    stream:
      stream === undefined
        ? null
        : {
            id: stream.id,
            status: stream.status,
            primaryClusterId: stream.primary_cluster_id,
            standbyClusterId: stream.standby_cluster_id,
            createdAt: stream.created_at
          },
    patch:
      s.patch === undefined
        ? null
        : { streamId: s.patch.streamId, state: s.patch.state, at: iso(s.patch.at) as string, retryAt: iso(s.patch.retryAt) }
  }
}

// Before the API is read again, the stream from the file is all a restarted process
// knows; it is written back so a second restart still holds it against an empty listing.
const newestKnown = (s: CoreState) => s.topology?.stream ?? s.remembered

// What the file says, without its time: it is written again only when this changes.
export function persistedKey(s: CoreState, policy: CorePolicy): string {
  const served = s.target ?? s.restored?.served
  const stream = newestKnown(s)
  const patch = s.patch
  return [
    served?.clusterId,
    served?.sqlDns,
    served?.sqlPort,
    s.topology?.watchedClusterId ?? policy.pair.primaryClusterId,
    stream?.id,
    stream?.status,
    patch?.streamId,
    patch?.state,
    patch?.at,
    patch?.retryAt
  ].join('|')
}

// At start: the PATCH record and the newest stream are facts that do not age; the
// active cluster is served (marked stale) only while the record is young enough.
export function restore(ctx: Ctx, file: PersistedState): void {
  const savedAt = Date.parse(file.savedAt)
  const ageSeconds = (ctx.now - savedAt) / 1000
  if (file.patch !== null) {
    // A PATCH that was being sent when the process stopped may have taken effect.
    const state = file.patch.state === 'sending' ? 'asked' : file.patch.state
    ctx.s.patch = {
      streamId: file.patch.streamId,
      state,
      at: Date.parse(file.patch.at),
      ...(file.patch.retryAt === null ? {} : { retryAt: Date.parse(file.patch.retryAt) })
    }
  }
  if (file.stream !== null) ctx.s.remembered = rememberedStream(file.stream)
  const fresh = file.active !== null && ctx.now - savedAt <= ctx.policy.stateMaxAgeMs
  if (fresh && file.active !== null) ctx.s.restored = { served: file.active, savedAt }
  emit(ctx, {
    type: 'state_restored',
    severity: fresh ? 'warn' : 'info',
    message: `STATE_FILE read (saved ${ageSeconds.toFixed(0)} s ago)${fresh && file.active !== null ? `: ${file.active.clusterId} is served, marked stale, until the Cloud API is read` : ''}${file.patch === null ? '' : `; stream ${file.patch.streamId} was ${file.patch.state === 'refused' ? 'refused a PATCH' : 'asked to fail over'}`}`,
    data: {
      savedAt: file.savedAt,
      ageSeconds,
      activeClusterId: fresh ? (file.active?.clusterId ?? null) : null,
      streamId: file.stream?.id ?? null,
      patchState: file.patch?.state ?? null
    }
  })
}

function rememberedStream(s: NonNullable<PersistedState['stream']>): Stream {
  return { id: s.id, status: s.status, primary_cluster_id: s.primaryClusterId, standby_cluster_id: s.standbyClusterId, created_at: s.createdAt }
}
