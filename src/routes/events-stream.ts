import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ErrorBody, EventsStreamBody, EventsStreamHeaders } from '../api-schemas.js'
import { clustersBody } from '../api-views.js'
import type { EngineEvent } from '../engine/events.js'
import { readSecurity } from '../read-route.js'

// Open streams are capped, so the status page cannot be used to exhaust the process,
// and per client address, so one client cannot take them all.
export const maxStreams = 100
export const maxStreamsPerAddress = 10
// A stream whose client stops reading is dropped once this much waits for it.
const maxBufferedBytes = 1024 * 1024
// Proxies close connections that stay silent for long (nginx after 60 s by default).
export const heartbeatMs = 15_000
// Events sent to a client that connects afresh, as GET /events gives by default.
const replayLimit = 50
const allEvents = Number.MAX_SAFE_INTEGER

function engineMessage(event: EngineEvent): string {
  return `id: ${event.id}\nevent: engine\ndata: ${JSON.stringify(event)}\n\n`
}

// The events a client should get first: those after the one it saw last, when
// that one is still in the log; otherwise (none yet, one the log has dropped, or
// one of another process since) a reset and the latest ones.
function replay(events: EngineEvent[], lastEventId: number | undefined): { reset: boolean; events: EngineEvent[] } {
  if (lastEventId !== undefined && events.some((e) => e.id === lastEventId)) {
    return { reset: false, events: events.filter((e) => e.id > lastEventId).reverse() }
  }
  return { reset: true, events: events.slice(0, replayLimit).reverse() }
}

export default async function eventsStreamRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>()
  const { engine, clock } = fastify
  const streams = new Set<PassThrough>()
  const perAddress = new Map<string, number>()
  let stopHeartbeat: (() => void) | undefined

  // Exactly what GET /clusters answers.
  const statusMessage = () =>
    `event: status\ndata: ${JSON.stringify(clustersBody(engine.snapshot(), fastify.config.pair.primaryClusterId, fastify.coordination?.status()))}\n\n`

  function send(stream: PassThrough, text: string): void {
    stream.write(text)
    if (stream.writableLength > maxBufferedBytes) stream.destroy()
  }

  function broadcast(text: string): void {
    for (const stream of streams) send(stream, text)
  }

  // The heartbeat runs only while a stream is open.
  function startHeartbeat(): () => void {
    let handle: unknown
    const tick = () => {
      broadcast(': keep-alive\n\n')
      handle = clock.setTimeout(tick, heartbeatMs)
    }
    handle = clock.setTimeout(tick, heartbeatMs)
    return () => clock.clearTimeout(handle)
  }

  function stopTimers(): void {
    stopHeartbeat?.()
    stopHeartbeat = undefined
  }

  const unsubscribeEvents = engine.onEvent((event) => {
    if (streams.size > 0) broadcast(engineMessage(event))
  })
  const unsubscribeSnapshots = engine.onPublish(() => {
    if (streams.size > 0) broadcast(statusMessage())
  })

  // Before the server closes its connections: each stream ends cleanly, so
  // close() does not wait on them and clients see an orderly end.
  fastify.addHook('preClose', async () => {
    unsubscribeEvents()
    unsubscribeSnapshots()
    stopTimers()
    for (const stream of streams) stream.end()
  })

  app.get(
    '/events/stream',
    {
      exposeHeadRoute: false,
      onRequest: fastify.requireReader,
      schema: {
        tags: ['status'],
        summary: 'The decision history and the state, live (Server-Sent Events)',
        description: `Replays on reconnect from Last-Event-ID. At most ${maxStreams} streams are open at once, ${maxStreamsPerAddress} from one client address; beyond, 503 (or 429 for that address) + Retry-After (poll GET /clusters and GET /events instead).`,
        security: readSecurity,
        headers: EventsStreamHeaders,
        response: {
          200: { description: 'a stream that lasts until the client or the server closes it', content: { 'text/event-stream': { schema: EventsStreamBody } } },
          400: ErrorBody,
          401: ErrorBody,
          429: ErrorBody,
          503: ErrorBody
        }
      }
    },
    async (request, reply) => {
      if (streams.size >= maxStreams) {
        return reply.code(503).header('retry-after', '30').send({
          error: 'Service Unavailable',
          message: `${maxStreams} status streams are open already; poll GET /clusters and GET /events instead`,
          code: 'too_many_streams'
        })
      }
      const address = request.ip
      const fromAddress = perAddress.get(address) ?? 0
      if (fromAddress >= maxStreamsPerAddress) {
        return reply.code(429).header('retry-after', '30').send({
          error: 'Too Many Requests',
          message: `${maxStreamsPerAddress} status streams are open from this address already; close one, or poll GET /clusters and GET /events`,
          code: 'too_many_streams'
        })
      }
      const header = request.headers['last-event-id']
      const first = replay(engine.events(allEvents), header === undefined ? undefined : Number(header))
      const stream = new PassThrough()
      streams.add(stream)
      perAddress.set(address, fromAddress + 1)
      stopHeartbeat ??= startHeartbeat()
      request.log.debug({ streams: streams.size }, 'status stream opened')
      stream.on('close', () => {
        streams.delete(stream)
        const left = (perAddress.get(address) as number) - 1
        if (left === 0) perAddress.delete(address)
        else perAddress.set(address, left)
        if (streams.size === 0) stopTimers()
        request.log.debug({ streams: streams.size }, 'status stream closed')
      })
      // EventSource waits this long before reconnecting (its default is about 3 s).
      stream.write('retry: 2000\n\n')
      if (first.reset) stream.write('event: reset\ndata: {}\n\n')
      stream.write(statusMessage())
      for (const event of first.events) stream.write(engineMessage(event))
      // The schema documents the stream as the text it is; the type provider only knows bodies sent whole.
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(stream as unknown as string)
    }
  )
}
