import { WebSocket } from 'undici'

// A minimal client of the V8 inspector protocol, for the one thing the memory
// benchmark needs from the service's process: a full GC, then its memory usage.
// The service itself runs unchanged (started with --inspect).

export interface MemoryUsage {
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
}

export interface Inspector {
  memoryAfterGc(): Promise<MemoryUsage>
  close(): void
}

const callTimeoutMs = 30_000

export async function connectInspector(url: string): Promise<Inspector> {
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${url}`)), { once: true })
  })
  let lastId = 0
  const pending = new Map<number, { resolve(result: any): void; reject(error: Error): void }>()
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } }
    const call = message.id === undefined ? undefined : pending.get(message.id)
    if (call === undefined) return
    pending.delete(message.id as number)
    if (message.error !== undefined) call.reject(new Error(message.error.message))
    else call.resolve(message.result)
  })
  const send = (method: string, params: object = {}) =>
    new Promise<any>((resolve, reject) => {
      const id = ++lastId
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`inspector ${method}: no answer within ${callTimeoutMs} ms`))
      }, callTimeoutMs)
      pending.set(id, {
        resolve: (result) => (clearTimeout(timer), resolve(result)),
        reject: (error) => (clearTimeout(timer), reject(error))
      })
      ws.send(JSON.stringify({ id, method, params }))
    })
  return {
    async memoryAfterGc() {
      await send('HeapProfiler.collectGarbage')
      const { result } = await send('Runtime.evaluate', { expression: 'process.memoryUsage()', returnByValue: true })
      const usage = result.value as { rss: number; heapUsed: number; heapTotal: number }
      return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal }
    },
    close: () => ws.close()
  }
}
