import type { z } from 'zod'
import { ActiveBody, ClusterActiveBody, ConnectionBody, ErrorBody, HealthBody, ReadyBody } from './api-schemas.js'
import { activeBody, configuredRole, fenced, livenessStaleAfterMs, unavailableBody, unavailableReason } from './api-views.js'
import { compiledSerializer } from './compiled-serializer.js'
import type { Config } from './config/index.js'
import { connectionStringAt, connectionTail } from './connection-string.js'
import type { Snapshot } from './engine/snapshot.js'

// The answers of the routes that proxies, probes and applications call all the
// time (/connection, /active, /clusters/{id}/active, /health, /ready), serialized
// once per snapshot: the engine replaces its snapshot after each step, so between
// two steps every request reads the same bytes. Only /connection's credentials
// are encoded per request.

export interface Answer {
  status: number
  body: string
  // Set on the 503s that name no cluster: when to ask again.
  retryAfter?: string
}

export interface ConnectionTarget {
  tail: string
  fields: Omit<z.infer<typeof ConnectionBody>, 'connection_string'>
}

interface Prepared {
  active: Answer
  // Undefined while no cluster is handed to applications: the answer is then `active`'s 503.
  connection: ConnectionTarget | undefined
  clusterActive: Map<string, Answer>
  ready: Answer
  health: { ok: Answer; stale: Answer; staleAfter: number }
}

export interface HotAnswers {
  active(): Answer
  connection(): ConnectionTarget | Answer
  connectionBody(target: ConnectionTarget, user: string, password: string): string
  // 404 for an id that is neither configured cluster.
  clusterActive(id: string): Answer
  health(now: number): Answer
  ready(): Answer
}

export interface HotAnswersDeps {
  snapshot: () => Snapshot
  config: Pick<Config, 'pair' | 'sql' | 'timeline'>
  // With coordination, /ready also reflects this sidecar's own verdict on the active cluster.
  coordinated: boolean
}

const serialize = {
  active: compiledSerializer(ActiveBody),
  clusterActive: compiledSerializer(ClusterActiveBody),
  connection: compiledSerializer(ConnectionBody),
  error: compiledSerializer(ErrorBody),
  health: compiledSerializer(HealthBody),
  ready: compiledSerializer(ReadyBody)
}

export function createHotAnswers(deps: HotAnswersDeps): HotAnswers {
  const { config } = deps
  const { primaryClusterId, standbyClusterId } = config.pair
  const retryAfter = String(Math.max(1, Math.ceil(config.timeline.intervalSeconds)))
  const staleAfterMs = livenessStaleAfterMs(config.timeline)
  const unknownCluster: Answer = {
    status: 404,
    body: serialize.error({ error: 'Not Found', message: 'not one of the two configured clusters', code: 'unknown_cluster' })
  }
  let seen: Snapshot | undefined
  let prepared: Prepared | undefined

  function prepare(s: Snapshot): Prepared {
    const active = activeBody(s, config)
    const unavailable: Answer = { status: 503, body: serialize.error(unavailableBody(s)), retryAfter }
    const clusterActive = new Map<string, Answer>()
    for (const id of [primaryClusterId, standbyClusterId]) {
      // A fenced cluster is drained like one that is not active.
      const isActive = s.activeClusterId?.toLowerCase() === id.toLowerCase() && !fenced(s)
      const body = serialize.clusterActive({ active: isActive, cluster_id: id, active_cluster_id: s.activeClusterId, phase: s.phase })
      clusterActive.set(id.toLowerCase(), { status: isActive ? 200 : 503, body })
    }
    const since = s.lastCheckAt ?? s.monitorStartedAt
    const healthBody = (status: 'ok' | 'stale') =>
      serialize.health({
        status,
        active_cluster_id: s.activeClusterId,
        role: s.activeClusterId === null ? null : configuredRole(s.activeClusterId, primaryClusterId),
        phase: s.phase,
        last_check_at: s.lastCheckAt
      })
    const unseen = deps.coordinated ? s.clusters.find((c) => c.id === s.activeClusterId && c.verdict === 'unhealthy') : undefined
    // The same predicate as /connection: ready exactly when it can answer.
    const ready = active !== undefined && unseen === undefined
    const reason = unseen !== undefined ? `this sidecar judges the active cluster ${unseen.id} unhealthy: ${unseen.reason}` : unavailableReason(s).message
    return {
      active: active === undefined ? unavailable : { status: 200, body: serialize.active(active) },
      connection:
        active === undefined
          ? undefined
          : {
              tail: connectionTail(active),
              fields: { cluster_id: active.cluster_id, role: active.role, host: active.host, port: active.port, database: active.database, sslmode: active.sslmode }
            },
      clusterActive,
      ready: {
        status: ready ? 200 : 503,
        body: serialize.ready({ ready, active_cluster_id: s.activeClusterId, phase: s.phase, ...(ready ? {} : { reason }) })
      },
      health: {
        ok: { status: 200, body: healthBody('ok') },
        stale: { status: 503, body: healthBody('stale') },
        staleAfter: since === null ? Infinity : Date.parse(since) + staleAfterMs
      }
    }
  }

  function current(): Prepared {
    const s = deps.snapshot()
    if (s !== seen || prepared === undefined) {
      prepared = prepare(s)
      seen = s
    }
    return prepared
  }

  return {
    active: () => current().active,
    connection() {
      const p = current()
      return p.connection ?? p.active
    },
    connectionBody: (target, user, password) =>
      serialize.connection({ connection_string: connectionStringAt(target.tail, user, password), ...target.fields }),
    clusterActive: (id) => current().clusterActive.get(id.toLowerCase()) ?? unknownCluster,
    health(now) {
      const { health } = current()
      return now > health.staleAfter ? health.stale : health.ok
    },
    ready: () => current().ready
  }
}
