import { z } from 'zod'
import type { Config, EtcdConfig } from '../config/index.js'
import type { Coordinator } from '../engine/coordinator.js'
import type { Clock, Engine, EngineCloud } from '../engine/engine.js'
import type { EventInput } from '../engine/events.js'
import { createEtcdClient } from './etcd-client.js'
import { createEtcdCoordinator } from './etcd-coordinator.js'
import { createSession, type LeaderInfo, type SessionState } from './session.js'
import { createSharedCloud } from './shared-cloud.js'

// A fleet of sidecars acting as one (COORDINATION=etcd): the session elects a
// leader, the shared cloud lets only the leader read the Cloud API, the
// coordinator lets only the leader act, and every sidecar publishes what its own
// checks see so the leader can ask for a quorum.

const Pause = z.object({ paused: z.boolean(), by: z.string() })

function parseJson(raw: string | undefined): unknown {
  try {
    return raw === undefined ? undefined : JSON.parse(raw)
  } catch {
    return undefined
  }
}

export interface CoordinationStatus {
  sidecarId: string
  role: 'leader' | 'follower' | 'none'
  connected: boolean
  leader: LeaderInfo | null
  // Where this sidecar's engine reads from now.
  source: 'cloud_api' | 'leader_view'
  viewAgeSeconds: number | null
  viewStale: boolean
}

export interface Coordination {
  coordinator: Coordinator
  cloud: EngineCloud
  status(): CoordinationStatus
  /** Records the fleet's pause for every sidecar and the next leader; rejects when etcd did not take it. */
  recordPause(paused: boolean, by: string): Promise<void>
  // Mirrors the fleet's pause into the engine and publishes what its checks see (for the leader's quorum).
  follow(engine: Engine): void
  // Resolves after the first round with etcd, so the first check knows who leads.
  start(): Promise<void>
  stop(): Promise<void>
}

export function createCoordination(options: {
  config: { timeline: Pick<Config['timeline'], 'intervalSeconds' | 'checkTimeoutSeconds'>; etcd: EtcdConfig }
  cloud: EngineCloud
  clock: Clock
}): Coordination {
  const { clock } = options
  const { timeline, etcd: settings } = options.config
  const ttlMs = settings.leaseTtlSeconds * 1000
  const timeoutMs = timeline.checkTimeoutSeconds * 1000
  const client = createEtcdClient(settings, Math.min(timeoutMs, ttlMs))
  const session = createSession({
    client,
    prefix: settings.prefix,
    sidecarId: settings.sidecarId,
    sidecarUrl: settings.sidecarUrl,
    ttlSeconds: settings.leaseTtlSeconds,
    clock
  })
  const viewKey = `${settings.prefix}view`
  const shared = createSharedCloud({
    real: options.cloud,
    session,
    viewKey,
    sidecarId: settings.sidecarId,
    staleAfterMs: settings.staleAfterSeconds * 1000,
    clock
  })
  let engine: Engine | undefined
  const record = (event: EventInput) => engine?.record(event)
  const coordinator = createEtcdCoordinator({
    session,
    prefix: settings.prefix,
    sidecarId: settings.sidecarId,
    quorum: settings.quorum,
    observationMaxAgeMs: 3 * timeline.intervalSeconds * 1000 + timeoutMs,
    requestWindowMs: timeoutMs + ttlMs,
    now: clock.now,
    record
  })
  let watching: Promise<(() => Promise<void>) | undefined> | undefined
  let everConnected = false

  function status(): CoordinationStatus {
    const state = session.state()
    const view = shared.view()
    const age = view === undefined ? null : Math.max(0, (clock.now() - view.publishedAt) / 1000)
    return {
      sidecarId: settings.sidecarId,
      role: state.isLeader ? 'leader' : state.leader === null ? 'none' : 'follower',
      connected: state.connected,
      leader: state.leader,
      source: shared.fromView() ? 'leader_view' : 'cloud_api',
      viewAgeSeconds: state.isLeader ? null : age,
      viewStale: !state.isLeader && (age === null || age > settings.staleAfterSeconds)
    }
  }

  // A follower re-checks at once when the leader's view shows the stream moved,
  // so its /connection follows a failover without waiting for its own interval.
  function onView(raw: string | undefined): void {
    const before = shared.view()?.stream
    const after = shared.receive(raw)?.stream
    const key = (s: typeof before) => (s?.ok === true ? `${s.value?.id}:${s.value?.status}` : 'none')
    if (engine !== undefined && !session.state().isLeader && key(before) !== key(after)) void engine.refresh()
  }

  // A pause is the fleet's: whoever leads next must not fail over either. The
  // leader records it; every sidecar mirrors it into its own engine.
  const pauseKey = `${settings.prefix}paused`
  function onPause(raw: string | undefined): void {
    const pause = Pause.safeParse(parseJson(raw))
    if (engine === undefined || !pause.success) return
    if (pause.data.paused) engine.pause(pause.data.by)
    else engine.resume(pause.data.by)
  }

  // Once established, etcd3 re-attaches the watches by itself after an outage.
  function watchKeys(): Promise<unknown> {
    watching ??= (async () => {
      try {
        const stops = [await session.watch(viewKey, onView, rewatch), await session.watch(pauseKey, onPause, rewatch)]
        onView((await session.get(viewKey))?.value)
        onPause((await session.get(pauseKey))?.value)
        return async () => {
          await Promise.all(stops.map((stop) => stop()))
        }
      } catch {
        watching = undefined
        return undefined
      }
    })()
    return watching
  }

  // Watches made again, with the view and the pause read afresh: after an outage
  // of etcd, or when etcd ended one (a compaction, revoked rights).
  function rewatch(): void {
    const old = watching
    watching = undefined
    void old?.then((stop) => stop?.()).catch(() => undefined)
    void watchKeys()
  }

  function onSessionChange(state: SessionState, before: SessionState): void {
    if (state.connected && !before.connected) {
      if (everConnected) {
        rewatch()
        record({ type: 'coordination_restored', message: 'etcd is reachable again', data: { sidecarId: settings.sidecarId } })
      } else void watchKeys()
      everConnected = true
    }
    if (!state.connected && before.connected) {
      record({
        type: 'coordination_lost',
        severity: 'error',
        message: `etcd unreachable for a lease TTL (${settings.leaseTtlSeconds} s): no automatic failover until a leader is elected; still serving the last known active cluster`,
        data: { sidecarId: settings.sidecarId, wasLeader: before.isLeader }
      })
    }
    if (state.leader?.id !== before.leader?.id && state.leader !== null) {
      record({
        type: 'leader_changed',
        severity: state.isLeader ? 'warn' : 'info',
        message: state.isLeader
          ? `this sidecar (${settings.sidecarId}) now leads: it reads the Cloud API and decides`
          : `sidecar ${state.leader.id} leads; this sidecar follows its view`,
        data: { leaderId: state.leader.id, previousLeaderId: before.leader?.id ?? null, self: state.isLeader }
      })
    }
  }
  session.onChange(onSessionChange)

  return {
    coordinator,
    cloud: shared.cloud,
    status,
    async recordPause(paused, by) {
      if (!(await session.putIfLeader(pauseKey, JSON.stringify({ paused, by })))) {
        throw new Error('this sidecar does not lead')
      }
    },
    follow(next) {
      engine = next
      // What this sidecar's own checks see of the watched cluster, for the leader's quorum.
      next.onCheck((check) => {
        if (check.clusterId !== next.snapshot().watchedClusterId) return
        const observation = { sidecarId: settings.sidecarId, clusterId: check.clusterId, verdict: check.verdict, reason: check.reason, at: clock.now() }
        session.putLeased(`${settings.prefix}observers/${settings.sidecarId}`, JSON.stringify(observation)).catch(() => undefined)
      })
    },
    async start() {
      await session.start()
      if (session.state().connected) await watchKeys()
    },
    async stop() {
      const stop = await watching
      await stop?.().catch(() => undefined)
      await session.stop()
      client.close()
    }
  }
}
