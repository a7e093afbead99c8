import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { watchSecretFile } from '../secret-file.js'
import { createAuthLimiter } from './auth-limiter.js'

declare module 'fastify' {
  interface FastifyInstance {
    requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void>
    /** With READ_TOKEN set, the operator's read routes need it or the admin token. */
    requireReader(request: FastifyRequest, reply: FastifyReply): Promise<void>
  }
}

// Both sides are hashed first so the comparison takes the same time whatever the
// length or content of the token offered.
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function matches(offered: string, expected: Buffer | undefined): boolean {
  return expected !== undefined && timingSafeEqual(digest(offered), expected)
}

function bearer(authorization: string | undefined): string {
  return /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? ''
}

// A Basic password, as a browser sends it after asking: the status page and /docs
// are opened in one, and EventSource cannot set a header of its own.
function basicPassword(authorization: string | undefined): string {
  const encoded = /^Basic\s+(\S+)$/i.exec(authorization ?? '')?.[1]
  if (encoded === undefined) return ''
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  return decoded.slice(decoded.indexOf(':') + 1)
}

export default fp(
  async (fastify, opts: { secretPollMs?: number }) => {
    const { config } = fastify
    let expected = config.admin.token === undefined ? undefined : digest(config.admin.token)
    // ADMIN_TOKEN_FILE rotated in place: the new token is the one accepted from then on.
    const { tokenFile } = config.admin
    if (tokenFile !== undefined) {
      const watched = watchSecretFile(
        tokenFile,
        config.admin.token as string,
        (token) => {
          expected = digest(token)
          fastify.engine.record({ type: 'secret_reloaded', message: `the admin token changed in ${tokenFile}`, data: { secret: 'admin_token', file: tokenFile } })
        },
        opts.secretPollMs ?? 1000
      )
      fastify.addHook('onClose', async () => watched.close())
    }
    const readExpected = config.admin.readToken === undefined ? undefined : digest(config.admin.readToken)
    const limiterOptions = {
      maxFailures: config.admin.maxFailures,
      windowMs: config.admin.failureWindowSeconds * 1000,
      lockoutMs: config.admin.lockoutSeconds * 1000,
      now: fastify.clock.now
    }
    const limiter = createAuthLimiter(limiterOptions)
    // Read guesses have a lockout of their own: a typo in a browser's prompt never locks an operator out of /admin.
    const readLimiter = createAuthLimiter(limiterOptions)

    // A locked-out address is refused before its token is looked at, so it learns nothing.
    const lockedOut = (reply: FastifyReply, waitMs: number, what: string) =>
      reply
        .code(429)
        .header('retry-after', String(Math.ceil(waitMs / 1000)))
        .send({ error: 'Too Many Requests', message: `too many failed ${what} authentications from this address`, code: 'auth_locked_out' })

    // A refused token counts toward its address's lockout; true (and logged) when that starts one.
    function counted(request: FastifyRequest, counter: typeof limiter, what: string): boolean {
      const locked = counter.fail(request.ip)
      if (locked) {
        request.log.warn(
          { address: request.ip, failures: config.admin.maxFailures, lockoutSeconds: config.admin.lockoutSeconds },
          `${what} locked for this address after repeated authentication failures`
        )
      }
      return locked
    }

    fastify.decorate('requireAdmin', async (request: FastifyRequest, reply: FastifyReply) => {
      if (expected === undefined) {
        return reply.code(403).send({
          error: 'Forbidden',
          message: 'the admin API is disabled: set ADMIN_TOKEN to enable it',
          code: 'admin_disabled'
        })
      }
      const wait = limiter.lockedFor(request.ip)
      if (wait > 0) {
        fastify.metrics.observeAdminAuth('throttled')
        return lockedOut(reply, wait, 'admin')
      }
      if (!matches(bearer(request.headers.authorization), expected)) {
        fastify.metrics.observeAdminAuth('rejected')
        if (counted(request, limiter, 'admin API')) fastify.metrics.observeAdminAuth('locked_out')
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

    fastify.decorate('requireReader', async (request: FastifyRequest, reply: FastifyReply) => {
      if (readExpected === undefined) return
      const wait = readLimiter.lockedFor(request.ip)
      if (wait > 0) return lockedOut(reply, wait, 'read')
      const { authorization } = request.headers
      const offered = /^Basic\s/i.test(authorization ?? '') ? basicPassword(authorization) : bearer(authorization)
      if (matches(offered, readExpected) || matches(offered, expected)) return
      counted(request, readLimiter, 'read routes')
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="pcr-sidecar", charset="UTF-8"')
        .send({ error: 'Unauthorized', message: 'a valid read token is required (READ_TOKEN or ADMIN_TOKEN)', code: 'unauthorized' })
    })
  },
  { name: 'auth', dependencies: ['runtime', 'metrics'] }
)
