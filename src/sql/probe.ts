import { createSqlConnector, type SqlError, type SqlErrorKind, type SqlTarget } from './connector.js'

// Is the cluster answering SQL right now? One SELECT 1 on a fresh connection.

export type ProbeResult =
  | { ok: true; latencyMs: number }
  | { ok: false; kind: SqlErrorKind; error: string; latencyMs: number }

export interface SqlProbe {
  /** Never rejects; a failure is a result whose error reads "<kind>: <what happened>". */
  check(): Promise<ProbeResult>
  /** Cuts short the checks in flight; later checks fail at once. */
  close(): Promise<void>
}

export function createSqlProbe(options: SqlTarget): SqlProbe {
  const connector = createSqlConnector(options)
  const closing = new AbortController()
  const inFlight = new Set<Promise<ProbeResult>>()

  async function probe(): Promise<ProbeResult> {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    try {
      // Timed before the goodbye: the latency is the server's, not the teardown's.
      const latencyMs = await connector.run(async (client) => {
        await client.query('SELECT 1')
        return elapsed()
      }, closing.signal)
      return { ok: true, latencyMs }
    } catch (err) {
      const { kind, message } = err as SqlError
      return { ok: false, kind, error: `${kind}: ${message}`, latencyMs: elapsed() }
    }
  }

  return {
    check() {
      const pending = probe()
      inFlight.add(pending)
      void pending.finally(() => inFlight.delete(pending))
      return pending
    },
    async close() {
      closing.abort()
      await Promise.all(inFlight)
    }
  }
}
