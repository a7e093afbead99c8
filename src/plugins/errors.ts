import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { OperatorError } from '../engine/operator.js'

// Requests Node's parser refuses never reach the error handler below; Fastify's
// own answer to them adds a `statusCode` that the Error schema does not have.
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  const [status, message, code] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'the request headers are too large', 'headers_too_large'] : [400, 'the request is not valid HTTP', 'bad_http']
  const body = JSON.stringify({ error: STATUS_CODES[status], message, code })
  this.log.trace({ err }, 'client error')
  // A connection the client reset cannot be answered.
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}

// The router's refusals bypass the error handler too, with the same extra
// `statusCode`. Only these two reach here: no route has an async constraint.
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
  void reply.code(tooLong ? 414 : 400).send({
    error: tooLong ? 'URI Too Long' : 'Bad Request',
    message: tooLong ? 'a path parameter is too long' : 'the URL has an invalid percent-escape',
    code: err.code
  })
}

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
