import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ErrorBody } from '../api-schemas.js'
import { livenessStaleAfterMs } from '../api-views.js'
import { readSecurity } from '../read-route.js'
import { loadStatusPage } from '../status-page/assets.js'

// Only the page's own files and its own API: nothing inline, nothing from
// elsewhere, never framed.
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // data: for the empty favicon, which spares the browser a 404.
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

export default async function statusPageRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { config } = fastify
  const assets = loadStatusPage()
  // The page calls its data stale on the rule /health uses for the monitor loop.
  const staleAfterMs = Math.round(livenessStaleAfterMs(config.timeline))
  const html = assets.html.replace('__STALE_AFTER_MS__', String(staleAfterMs))
  const files = [
    { url: '/status-page/page.js', type: 'text/javascript; charset=utf-8', body: assets.script },
    { url: '/status-page/page.css', type: 'text/css; charset=utf-8', body: assets.style }
  ]

  app.get(
    '/',
    {
      onRequest: fastify.requireReader,
      schema: {
        tags: ['status'],
        summary: 'The operator status page (HTML), updated live from /events/stream',
        security: readSecurity,
        response: { 200: { description: 'read-only; no secrets', content: { 'text/html': { schema: z.string() } } }, 401: ErrorBody, 429: ErrorBody }
      }
    },
    async (request, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', contentSecurityPolicy)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(html)
  )

  for (const file of files) {
    app.get(file.url, { schema: { hide: true } }, async (request, reply) =>
      reply.header('content-type', file.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(file.body)
    )
  }
}
