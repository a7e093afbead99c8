import fp from 'fastify-plugin'
import { createHotAnswers, type HotAnswers } from '../hot-answers.js'

declare module 'fastify' {
  interface FastifyInstance {
    // The prepared answers of the hot read routes (src/hot-answers.ts).
    answers: HotAnswers
  }
}

export default fp(
  async (fastify) => {
    const { engine } = fastify
    fastify.decorate('answers', createHotAnswers({ snapshot: () => engine.snapshot(), config: fastify.config, coordinated: fastify.coordination !== undefined }))
  },
  { name: 'answers', dependencies: ['runtime'] }
)
