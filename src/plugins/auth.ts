import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createAuthLimiter } from './auth-limiter.js'

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
  async (fastify) => {
    const { config } = fastify
    const token = config.admin.token
    const expected = token === undefined ? undefined : digest(token)
    const limiter = createAuthLimiter({
      maxFailures: config.admin.maxFailures,
      windowMs: config.admin.failureWindowSeconds * 1000,
      lockoutMs: config.admin.lockoutSeconds * 1000,
      now: fastify.clock.now
    })
    fastify.decorate('requireAdmin', async (request: FastifyRequest, reply: FastifyReply) => {
      if (expected === undefined) {
        return reply.code(403).send({
          error: 'Forbidden',
          message: 'the admin API is disabled: set ADMIN_TOKEN to enable it',
          code: 'admin_disabled'
        })
      }
      // A locked-out address is refused before its token is looked at, so it learns nothing.
      const wait = limiter.lockedFor(request.ip)
      if (wait > 0) {
        fastify.metrics.observeAdminAuth('throttled')
        return reply
          .code(429)
          .header('retry-after', String(Math.ceil(wait / 1000)))
          .send({ error: 'Too Many Requests', message: 'too many failed admin authentications from this address', code: 'auth_locked_out' })
      }
      const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')
      const offered = match?.[1]?.trim() ?? ''
      if (!timingSafeEqual(digest(offered), expected)) {
        fastify.metrics.observeAdminAuth('rejected')
        if (limiter.fail(request.ip)) {
          fastify.metrics.observeAdminAuth('locked_out')
          request.log.warn(
            { address: request.ip, failures: config.admin.maxFailures, lockoutSeconds: config.admin.lockoutSeconds },
            'admin API locked for this address after repeated authentication failures'
          )
        }
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="pcr-sidecar admin"')
          .send({ error: 'Unauthorized', message: 'a valid admin bearer token is required', code: 'unauthorized' })
      }
      // In a fleet only the leader acts; a follower names it (after authentication, so
      // only an operator learns the fleet's layout). With no leader, the sidecar acts alone.
      const leader = fastify.coordination?.status()
      if (leader?.role === 'follower' && leader.leader !== null) {
        const where = leader.leader.url === null ? '' : ` at ${leader.leader.url}`
        return reply.code(409).send({
          error: 'Conflict',
          message: `this sidecar follows; send admin requests to the leader, sidecar ${leader.leader.id}${where}`,
          code: 'not_leader'
        })
      }
    })
  },
  { name: 'auth', dependencies: ['runtime', 'metrics'] }
)
