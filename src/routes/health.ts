import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { HealthBody, ReadyBody } from '../api-schemas.js'
import { activeBody, configuredRole, unavailableReason } from '../api-views.js'

export default async function healthRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { config } = fastify
  // Liveness fails only when the monitor loop itself has stopped finishing checks.
  const staleAfterMs = 3 * (config.timeline.intervalSeconds + config.timeline.checkTimeoutSeconds) * 1000

  app.get(
    '/health',
    {
      schema: {
        tags: ['probes'],
        summary: 'Liveness: the process and its monitor loop are alive',
        description: 'Answers 200 even while the database is down; 503 only when no check has finished for 3 × (interval + timeout).',
        response: { 200: HealthBody, 503: HealthBody }
      }
    },
    async (request, reply) => {
      const s = fastify.engine.snapshot()
      const since = s.lastCheckAt ?? s.monitorStartedAt
      const stale = since !== null && fastify.clock.now() - Date.parse(since) > staleAfterMs
      return reply.code(stale ? 503 : 200).send({
        status: stale ? 'stale' : 'ok',
        active_cluster_id: s.activeClusterId,
        role: s.activeClusterId === null ? null : configuredRole(s.activeClusterId, config.pair.primaryClusterId),
        phase: s.phase,
        last_check_at: s.lastCheckAt
      })
    }
  )

  app.get(
    '/ready',
    {
      schema: {
        tags: ['probes'],
        summary: 'Readiness: the active cluster is known',
        description:
          "503 while the active cluster is unknown, a failover is under way or the new primary is activating (COMPLETED, its SQL not answering yet). With COORDINATION=etcd, also while this sidecar's own checks judge the active cluster unhealthy: a pod cut off from the database is taken out of service even when the fleet sees it up.",
        response: { 200: ReadyBody, 503: ReadyBody }
      }
    },
    async (request, reply) => {
      const s = fastify.engine.snapshot()
      const unseen =
        fastify.coordination === undefined ? undefined : s.clusters.find((c) => c.id === s.activeClusterId && c.verdict === 'unhealthy')
      // The same predicate as /connection: ready exactly when it can answer.
      const ready = activeBody(s, config) !== undefined && unseen === undefined
      const reason =
        unseen !== undefined
          ? `this sidecar judges the active cluster ${unseen.id} unhealthy: ${unseen.reason}`
          : unavailableReason(s).message
      return reply.code(ready ? 200 : 503).send({
        ready,
        active_cluster_id: s.activeClusterId,
        phase: s.phase,
        ...(ready ? {} : { reason })
      })
    }
  )
}
