import type { ActiveJson, Backend, ClustersJson, EventJson } from './backend.js'
import { CliError, EXIT, RemoteError } from './errors.js'

// Remote mode: a running sidecar's HTTP API does the work; the CLI only asks and
// follows. Actions need the admin token; status routes need a token only when the
// sidecar sets READ_TOKEN, and take the read token or the admin token.

export interface RemoteOptions {
  url: string
  token?: string
  /** For the read routes, before the admin token: PCR_READ_TOKEN. */
  readToken?: string
  pollMs: number
  // Waits between polls (the CLI's clock, cut short by its stop signal).
  sleep(ms: number): Promise<void>
  // Bound on one request: an admin action may take a few Cloud API calls.
  requestTimeoutMs?: number
}

interface ErrorAnswer {
  message?: unknown
  code?: unknown
}

export function openRemote(options: RemoteOptions): Backend {
  const base = options.url.replace(/\/+$/, '')
  const timeoutMs = options.requestTimeoutMs ?? 60_000

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    let response: Response
    try {
      response = await fetch(base + path, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (err) {
      const cause = (err as Error).cause as Error | undefined
      throw new RemoteError(0, 'unreachable', `cannot reach the sidecar at ${base}: ${cause?.message ?? (err as Error).message}`)
    }
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new CliError(EXIT.usage, `${method} ${path}: HTTP ${response.status}, not JSON: is ${base} a pcr-sidecar?`)
    }
    return { status: response.status, body: json as T }
  }

  // 2xx or a RemoteError carrying the sidecar's own message and code.
  async function ok<T>(method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const answer = await call<T & ErrorAnswer>(method, path, body, headers)
    if (answer.status < 300) return answer.body
    const message = typeof answer.body.message === 'string' ? answer.body.message : `HTTP ${answer.status}`
    const code = typeof answer.body.code === 'string' ? answer.body.code : `http_${answer.status}`
    throw new RemoteError(answer.status, code, `${path}: ${message}`)
  }

  async function admin<T>(path: string, body: unknown, method: 'GET' | 'POST' = 'POST'): Promise<T> {
    if (options.token === undefined) {
      throw new CliError(EXIT.usage, 'remote mode needs the admin token for this: --token-file, PCR_ADMIN_TOKEN or ADMIN_TOKEN')
    }
    return ok<T>(method, path, body, { authorization: `Bearer ${options.token}` })
  }

  const readToken = options.readToken ?? options.token
  async function read<T>(path: string): Promise<T> {
    try {
      return await ok<T>('GET', path, undefined, readToken === undefined ? {} : { authorization: `Bearer ${readToken}` })
    } catch (err) {
      if (err instanceof RemoteError && err.status === 401 && readToken === undefined) {
        throw new RemoteError(401, err.code, `${err.message}: give it in PCR_READ_TOKEN`)
      }
      throw err
    }
  }

  const clusters = () => read<ClustersJson>('/clusters')

  return {
    mode: 'remote',
    pollMs: options.pollMs,
    source: `sidecar ${base}`,
    refresh: clusters,
    clusters,
    events: async (limit) => (await read<{ events: EventJson[] }>(`/events?limit=${limit}`)).events,
    async connectionClusterId() {
      // Placeholder credentials: only the cluster the answer names is read.
      const answer = await call<{ cluster_id: string }>('GET', '/connection', undefined, { 'x-db-username': 'pcr', 'x-db-password': 'pcr' })
      return answer.status === 200 ? answer.body.cluster_id : null
    },
    async active() {
      try {
        return await ok<ActiveJson>('GET', '/active')
      } catch (err) {
        // 503: none is handed out now; the sidecar says why.
        if (err instanceof RemoteError && err.status === 503) return { code: err.code, message: err.message.replace(/^\/active: /, '') }
        throw err
      }
    },
    next: () => options.sleep(options.pollMs),
    failover: (input) => admin('/admin/failover', input),
    createFailbackStream: () => admin('/admin/failback', { action: 'create-stream' }),
    failbackStatus: (maxLagSeconds) => admin('/admin/failback', { action: 'status', max_lag_seconds: maxLagSeconds }),
    initiateFailback: (input) => admin('/admin/failback', { action: 'initiate', ...input }),
    failbackFull: (input) => admin('/admin/failback', { action: 'full', ...input }),
    switchover: (input) => admin('/admin/switchover', input),
    disrupt: (input) => admin('/admin/simulate', { action: 'disrupt', ...input }),
    restore: (clusterId) => admin('/admin/simulate', { action: 'restore', cluster_id: clusterId }),
    disruptionStatus: () => admin('/admin/simulate', { action: 'status' }),
    setup: () => admin('/admin/setup', undefined),
    operation: (id) => admin(`/admin/operations/${encodeURIComponent(id)}`, undefined, 'GET'),
    close: async () => undefined
  }
}
