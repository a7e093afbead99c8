import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import { hotSerializerCompiler, hotValidatorCompiler } from './compiled-serializer.js'
import type { Answer } from './hot-answers.js'

// What the hot routes share. Each has one logger, made once: Fastify would
// otherwise make a child logger per request, and the log controller skips the
// request lines of every logger in this set.
export const quietLoggers = new WeakSet<FastifyBaseLogger>()

export function hotRouteOptions(fastify: FastifyInstance, url: string) {
  const log = fastify.log.child({ route: url })
  quietLoggers.add(log)
  return { serializerCompiler: hotSerializerCompiler, validatorCompiler: hotValidatorCompiler, childLoggerFactory: () => log }
}

// A prepared answer is already JSON: Fastify sends a string with a JSON content type as it is.
export function sendAnswer(reply: FastifyReply, answer: Answer, noStore: boolean): void {
  reply.code(answer.status).type('application/json; charset=utf-8')
  if (noStore) reply.header('cache-control', 'no-store')
  if (answer.retryAfter !== undefined) reply.header('retry-after', answer.retryAfter)
  void reply.send(answer.body)
}
