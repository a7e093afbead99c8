import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { STATUS_CODES } from 'node:http'
import { OperatorError } from '../engine/operator.js'

// Every error answer is `{error, message}`: bad input gets a 4xx that says what
// is wrong, and a fault of ours a bare 500 (no stack, nothing from the request).
export default fp(
  async (fastify) => {
    fastify.setErrorHandler<FastifyError>((err, request, reply) => {
      if (err instanceof OperatorError) {
        return reply.code(err.status).send({ error: STATUS_CODES[err.status] as string, message: err.message, code: err.code })
      }
      if (hasZodFastifySchemaValidationErrors(err)) {
        const message = err.validation.map((issue) => issue.message).join('; ')
        return reply.code(400).send({ error: 'Bad Request', message, code: 'invalid_request' })
      }
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
      if (status === 500) {
        request.log.error({ err }, 'request failed')
        return reply.code(500).send({ error: 'Internal Server Error', message: 'internal error' })
      }
      return reply.code(status).send({ error: STATUS_CODES[status] ?? 'Error', message: err.message, code: err.code })
    })
    fastify.setNotFoundHandler((request, reply) =>
      reply.code(404).send({ error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` })
    )
  },
  { name: 'errors' }
)
