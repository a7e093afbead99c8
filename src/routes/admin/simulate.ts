import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { SimulateBody, SimulateRequestBody } from '../../api-schemas.js'
import { adminErrors, adminSecurity, requestedBy } from '../../admin-route.js'

export default async function adminSimulateRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  app.post(
    '/simulate',
    {
      schema: {
        tags: ['admin'],
        summary: 'Drills: disrupt a cluster through the Cloud API, restore it, or read the disruptions',
        description:
          'A real disruption on the real API (a limited-access feature). `disrupt` takes the whole region of the watched cluster unless pods or azs are given, and demands `confirm` = the id of the cluster it disrupts.',
        security: adminSecurity,
        body: SimulateRequestBody,
        response: { 200: SimulateBody, ...adminErrors }
      }
    },
    async (request) => {
      const body = request.body
      const by = requestedBy(request)
      switch (body.action) {
        case 'disrupt': {
          const target = body.cluster_id ?? fastify.engine.snapshot().watchedClusterId
          const result = await fastify.operator.disrupt(by, {
            confirm: body.confirm,
            clusterId: body.cluster_id,
            regionCode: body.region_code,
            pods: body.pods,
            azs: body.azs
          })
          return { clusters: [{ cluster_id: target, ...result }] }
        }
        case 'restore': {
          const target = body.cluster_id ?? fastify.engine.snapshot().watchedClusterId
          return { clusters: [{ cluster_id: target, ...(await fastify.operator.restore(by, body.cluster_id)) }] }
        }
        case 'status':
          return {
            clusters: (await fastify.operator.disruptionStatus()).map((c) => ({ cluster_id: c.clusterId, ...c.disruption }))
          }
      }
    }
  )
}
