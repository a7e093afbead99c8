import { z } from 'zod'
import type { Coordinator } from '../engine/coordinator.js'
import type { EventInput } from '../engine/events.js'
import { decideQuorum, parseObservations } from './quorum.js'
import type { Session } from './session.js'

export interface EtcdCoordinatorOptions {
  session: Session
  prefix: string
  sidecarId: string
  quorum: number | 'majority'
  // Observations older than this do not count as agreeing.
  observationMaxAgeMs: number
  // How long an earlier failover request may still be in flight: its budget plus a lease TTL.
  requestWindowMs: number
  now: () => number
  record: (event: EventInput) => void
}

const RequestRecord = z.object({ sidecarId: z.string(), at: z.number() })

// A record this version cannot read tells nothing of a request in flight: it is replaced.
function readRequest(value: string): z.infer<typeof RequestRecord> | undefined {
  try {
    return RequestRecord.parse(JSON.parse(value))
  } catch {
    return undefined
  }
}

// Only the leader acts. An automatic failover also needs a quorum of observers,
// and every request is recorded in etcd first, in one transaction with the
// leadership check: a stream is asked once, whichever sidecar leads next.
export function createEtcdCoordinator(options: EtcdCoordinatorOptions): Coordinator {
  const { session, prefix } = options
  return {
    name: 'etcd',
    deferTo() {
      const state = session.state()
      return state.leader !== null && !state.isLeader ? state.leader.id : undefined
    },
    async mayAct(action, context) {
      const state = session.state()
      if (state.leader === null) {
        if (context.trigger !== 'manual') {
          return {
            allowed: false,
            reason: state.connected
              ? 'no leader is elected yet; automatic failover waits for one'
              : 'etcd is unreachable, so no sidecar leads: automatic failover is off until it is back'
          }
        }
        options.record({
          type: 'coordination_bypassed',
          severity: 'warn',
          message: `manual ${action} of stream ${context.streamId} without a leader (etcd ${state.connected ? 'has none' : 'unreachable'}): other sidecars are not consulted`,
          data: { action, streamId: context.streamId, connected: state.connected }
        })
        return { allowed: true }
      }
      if (!state.isLeader) {
        return {
          allowed: false,
          reason: `sidecar ${state.leader.id} leads and decides; this sidecar (${options.sidecarId}) does not act`
        }
      }
      if (context.trigger !== 'manual') {
        const observations = parseObservations(await session.getPrefix(`${prefix}observers/`))
        const quorum = decideQuorum(observations, {
          clusterId: context.fromClusterId,
          quorum: options.quorum,
          now: options.now(),
          maxAgeMs: options.observationMaxAgeMs
        })
        if (!quorum.allowed) return { allowed: false, reason: `observer quorum not reached: ${quorum.reason}` }
        options.record({
          type: 'quorum_reached',
          severity: 'warn',
          message: `observer quorum reached: ${quorum.reason}`,
          data: { clusterId: context.fromClusterId, agree: quorum.agree, live: quorum.live, needed: quorum.needed }
        })
      }
      const key = `${prefix}requests/${context.streamId}`
      const earlier = await session.get(key)
      const before = earlier === undefined ? undefined : readRequest(earlier.value)
      if (before !== undefined) {
        if (options.now() - before.at < options.requestWindowMs) {
          return {
            allowed: false,
            reason: `sidecar ${before.sidecarId} asked stream ${context.streamId} to fail over at ${new Date(before.at).toISOString()}; that request may still be in flight`
          }
        }
      }
      const request = JSON.stringify({ sidecarId: options.sidecarId, at: options.now(), action, trigger: context.trigger })
      const recorded = await session.putIfLeader(key, request, { key, modRevision: earlier?.modRevision ?? null })
      if (!recorded) return { allowed: false, reason: 'the leadership was lost before the request could be recorded' }
      return { allowed: true }
    }
  }
}
