import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '../../tools/stack.js'

// A webhook receiver on a real socket that records every request and answers
// each as the test says: a status, headers and body, or (with a promise that
// never settles) no answer at all.

export interface Received {
  headers: IncomingHttpHeaders
  body: any
  // The status it was answered with; 0 while it waits or if it never was.
  status: number
}

export interface Reply {
  status: number
  headers?: Record<string, string>
  body?: string
}

export type Answer = (request: Received, index: number) => Reply | Promise<Reply>

// A path long enough to count as a secret, as Slack's are.
export const SECRET_PATH = '/services/T0000000/B0000000/secret-token-0123456789'

export interface Receiver {
  url: string
  requests: Received[]
  // The requests answered 2xx, by event id.
  deliveredIds(): number[]
}

export async function startReceiver(t: Teardown, answer: Answer = () => ({ status: 200 })): Promise<Receiver> {
  const requests: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', async () => {
      const received: Received = { headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), status: 0 }
      requests.push(received)
      const reply = await answer(received, requests.length - 1)
      received.status = reply.status
      res.writeHead(reply.status, reply.headers).end(reply.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${SECRET_PATH}`,
    requests,
    deliveredIds: () => requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.body.event.id)
  }
}
