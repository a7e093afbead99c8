import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppOptions } from '../app-options.js'

declare module 'fastify' {
  interface FastifyInstance {
    requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void>
  }
}

// Both sides are hashed first so the comparison takes the same time whatever the
// length or content of the token offered.
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

export default fp(
  async (fastify, opts: AppOptions) => {
    const token = opts.config.adminToken
    const expected = token === undefined ? undefined : digest(token)
    fastify.decorate('requireAdmin', async (request: FastifyRequest, reply: FastifyReply) => {
      if (expected === undefined) {
        return reply.code(403).send({
          error: 'Forbidden',
          message: 'the admin API is disabled: set ADMIN_TOKEN to enable it',
          code: 'admin_disabled'
        })
      }
      const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')
      const offered = match?.[1]?.trim() ?? ''
      if (!timingSafeEqual(digest(offered), expected)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="pcr-sidecar admin"')
          .send({ error: 'Unauthorized', message: 'a valid admin bearer token is required', code: 'unauthorized' })
      }
    })
  },
  { name: 'auth' }
)
