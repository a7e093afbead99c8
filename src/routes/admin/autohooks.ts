import type { FastifyInstance } from 'fastify'

// Every route of this folder sits behind one hook. onRequest runs before the body is
// read, so a caller without the token learns nothing from validation and costs no parsing.
export default async function adminHooks(fastify: FastifyInstance) {
  fastify.addHook('onRequest', fastify.requireAdmin)
}
