import { createServer, type AddressInfo, type Socket } from 'node:net'

// Servers that misbehave in ways a real PostgreSQL will not on demand, or that
// answer what only CockroachDB understands. They speak just enough of the
// PostgreSQL wire protocol (v3, simple queries, no TLS, no password) for pg.

export type FakeReply =
  | { rows: Array<Array<string | null>>; columns: string[]; tag: string }
  | { tag: string }
  | { error: { code: string; message: string; detail?: string; hint?: string } }
  | 'hang'

export interface FakeServer {
  readonly port: number
  url(): string
  /** Every query received, in order. */
  readonly queries: string[]
  /** How many connections were accepted. */
  connections(): number
  /** How many of them are still open. */
  open(): number
  close(): Promise<void>
}

const int16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}
const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const cstring = (s: string) => Buffer.from(s + '\0')

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body])
}

const ready = message('Z', Buffer.from('I'))

function encode(reply: Exclude<FakeReply, 'hang'>): Buffer {
  if ('error' in reply) {
    const { code, message: text, detail, hint } = reply.error
    const fields = [['S', 'ERROR'], ['V', 'ERROR'], ['C', code], ['M', text]]
    if (detail !== undefined) fields.push(['D', detail])
    if (hint !== undefined) fields.push(['H', hint])
    const body = fields.flatMap(([field, value]) => [Buffer.from(field as string), cstring(value as string)])
    return Buffer.concat([message('E', ...body, Buffer.from([0])), ready])
  }
  const parts: Buffer[] = []
  if ('rows' in reply) {
    const text = [int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]
    parts.push(message('T', int16(reply.columns.length), ...reply.columns.flatMap((c) => [cstring(c), ...text])))
    for (const row of reply.rows) {
      const cells = row.flatMap((v) => (v === null ? [int32(-1)] : [int32(Buffer.byteLength(v)), Buffer.from(v)]))
      parts.push(message('D', int16(row.length), ...cells))
    }
  }
  return Buffer.concat([...parts, message('C', cstring(reply.tag)), ready])
}

async function serve(onSocket: (socket: Socket) => void, queries: string[] = []): Promise<FakeServer> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: () => `postgresql://root@127.0.0.1:${port}/defaultdb`,
    queries,
    connections: () => accepted,
    open: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

function speak(socket: Socket, answer: (sql: string) => FakeReply, queries: string[]): void {
  let pending = Buffer.alloc(0)
  let started = false
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk])
    for (;;) {
      // The startup message has no type byte; everything after it has one.
      const offset = started ? 1 : 0
      if (pending.length < offset + 4) return
      const end = offset + pending.readInt32BE(offset)
      if (pending.length < end) return
      const type = started ? String.fromCharCode(pending[0] as number) : 'startup'
      const body = pending.subarray(offset + 4, end)
      pending = pending.subarray(end)
      if (type === 'startup') {
        started = true
        socket.write(Buffer.concat([message('R', int32(0)), ready]))
      } else if (type === 'Q') {
        const sql = body.toString('utf8', 0, body.length - 1)
        queries.push(sql)
        const reply = answer(sql)
        if (reply !== 'hang') socket.write(encode(reply))
      } else if (type === 'X') {
        socket.end()
      }
    }
  })
}

/** Logs anyone in, then answers each simple query with answer(sql). */
export function startFakeSqlServer(answer: (sql: string) => FakeReply): Promise<FakeServer> {
  const queries: string[] = []
  return serve((socket) => speak(socket, answer, queries), queries)
}

/** Accepts connections, reads and never says a word, like a host whose database hangs. */
export function startSilentServer(): Promise<FakeServer> {
  return serve((socket) => socket.resume())
}

/** Accepts connections and drops them at once. */
export function startDroppingServer(): Promise<FakeServer> {
  return serve((socket) => socket.destroy())
}
