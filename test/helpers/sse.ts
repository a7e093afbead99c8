import { Agent, request } from 'undici'

// A Server-Sent Events client for the tests: the messages of one stream as they
// arrive, and a bounded wait for a condition on them.

export interface SseMessage {
  id?: string
  event?: string
  data?: string
  retry?: string
  comment?: string
}

export interface SseStream {
  status: number
  headers: Record<string, unknown>
  messages: SseMessage[]
  ended(): boolean
  // Resolves once the messages so far satisfy the condition; rejects after timeoutMs.
  until(condition: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>
  close(): void
}

function parse(block: string): SseMessage {
  const message: SseMessage = {}
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      message.comment = line.slice(1).trim()
      continue
    }
    const colon = line.indexOf(':')
    const field = line.slice(0, colon) as 'id' | 'event' | 'data' | 'retry'
    const value = line.slice(colon + 1).replace(/^ /, '')
    message[field] = field === 'data' && message.data !== undefined ? `${message.data}\n${value}` : value
  }
  return message
}

// from: the loopback address the client connects from (127.0.0.1 unless told), to be another client.
export async function openStream(url: string, headers: Record<string, string> = {}, from?: string): Promise<SseStream> {
  const dispatcher = from === undefined ? undefined : new Agent({ localAddress: from })
  const res = await request(`${url}/events/stream`, { headers, ...(dispatcher && { dispatcher }) })
  const messages: SseMessage[] = []
  let buffer = ''
  let ended = false
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const listener of listeners) listener()
  }
  res.body.setEncoding('utf8')
  res.body.on('data', (chunk: string) => {
    buffer += chunk
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      messages.push(parse(buffer.slice(0, end)))
      buffer = buffer.slice(end + 2)
    }
    notify()
  })
  const finish = () => {
    ended = true
    notify()
  }
  res.body.on('end', finish)
  res.body.on('error', finish)
  res.body.on('close', finish)
  return {
    status: res.statusCode,
    headers: res.headers,
    messages,
    ended: () => ended,
    until(condition, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(messages)) return
          clearTimeout(timer)
          listeners.delete(check)
          resolve(messages)
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`condition not met within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.event ?? m.comment ?? m.retry)).slice(0, 500)}`))
        }, timeoutMs)
        listeners.add(check)
        check()
      })
    },
    close: () => {
      res.body.destroy()
      // A test may close a stream and close it again in its teardown.
      if (dispatcher !== undefined && !dispatcher.closed) void dispatcher.close()
    }
  }
}

export const engineEvents = (messages: SseMessage[]) =>
  messages.filter((m) => m.event === 'engine').map((m) => JSON.parse(m.data as string) as { id: number; type: string })

export const statuses = (messages: SseMessage[]) => messages.filter((m) => m.event === 'status').map((m) => JSON.parse(m.data as string))
