import { createCloudClient, type CloudClientOptions, type RequestEvent } from '../../src/cloud/client.js'
import type { CloudApiError } from '../../src/cloud/errors.js'
import { DEFAULT_PRIMARY_ID, DEFAULT_STANDBY_ID, DEFAULT_STREAM_ID } from '../../src/emulator/seed.js'
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../../src/emulator/server.js'

// One emulator and one client per test, over real sockets. The client and the emulator
// share a manual clock, and the client's sleep moves that clock instead of waiting, so
// backoff, Retry-After and budgets are exact and instant. Per-attempt timeouts stay real.

export { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STANDBY_ID as STANDBY, DEFAULT_STREAM_ID as STREAM }

export const KEY = 'sk-test-3f9a7c1e5b2d4086'
export const START = Date.parse('2025-06-02T12:00:00.000Z')

// The error a call must fail with.
export const failure = (promise: Promise<unknown>): Promise<CloudApiError> =>
  promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (error: unknown) => error as CloudApiError
  )

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface LoggedRequest {
  method: string
  path: string
  operation: string | null
  query: Record<string, string>
  body: unknown
  status: number | null
  at: string
}

export interface FaultSpec {
  operation: string
  kind: 'status' | 'latency' | 'hang' | 'malformed' | 'reset'
  status?: number
  code?: number
  message?: string
  retry_after_seconds?: number
  latency_ms?: number
  count?: number
  duration_seconds?: number
  after?: boolean
}

export interface SetupOptions {
  emulator?: StartEmulatorOptions
  client?: Partial<CloudClientOptions>
}

export async function setup(t: Teardown, options: SetupOptions = {}) {
  let clock = START
  const now = () => clock
  const sleeps: number[] = []
  const events: RequestEvent[] = []
  const emu: RunningEmulator = await startEmulator({
    apiKey: KEY,
    // Off: the client's sleeps only move the manual clock, and the limit runs on real time.
    // A test that asks for a limit gets it on the manual clock too, so waiting it out is instant.
    rateLimit: false,
    timings: { startingSeconds: 300, failoverSeconds: 60, lagSeconds: 10 },
    now,
    ...options.emulator,
    ...(options.emulator?.rateLimit && { rateLimit: { now, ...options.emulator.rateLimit } })
  })
  const clientOptions: CloudClientOptions = {
    baseUrl: emu.url,
    apiKey: KEY,
    // Long enough that only the injected hangs ever time out, even on a loaded machine.
    timeoutSeconds: 2,
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
    now,
    random: () => 0,
    sleep: async (ms) => {
      sleeps.push(ms)
      clock += ms
    },
    onRequest: (event) => events.push(event),
    ...options.client
  }
  const client = createCloudClient(clientOptions)
  t.teardown(async () => {
    await client.close()
    await emu.close()
  })

  async function control(method: string, path: string, body?: unknown): Promise<any> {
    const answer = await fetch(`${emu.url}/_emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await answer.text()
    if (answer.status >= 400) throw new Error(`control ${method} ${path}: ${answer.status} ${text}`)
    return text === '' ? null : JSON.parse(text)
  }

  return {
    emu,
    client,
    clientOptions,
    events,
    sleeps,
    control,
    advance(ms: number) {
      clock += ms
    },
    fault: (spec: FaultSpec) => control('POST', '/faults', spec),
    async requests(operation?: string): Promise<LoggedRequest[]> {
      const { requests } = (await control('GET', '/requests')) as { requests: LoggedRequest[] }
      return operation === undefined ? requests : requests.filter((request) => request.operation === operation)
    },
    clearRequests: () => control('DELETE', '/requests'),
    // Fails the seeded stream over and lets it complete, by the emulator's clock.
    async completeFailover() {
      await client.patchStream(DEFAULT_STREAM_ID, { status: 'FAILING_OVER' })
      await control('POST', '/clock', { advance_seconds: 120 })
    }
  }
}
