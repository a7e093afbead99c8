import { setTimeout as timer } from 'node:timers/promises'
import type { z } from 'zod'
import { CloudApiError, PermissionDeniedError, RateLimitedError, RefusedError, UnclearOutcomeError } from './errors.js'
import { createHttp, type Method } from './http.js'
import type { ProxySettings } from '../outbound.js'
import { createRateBudget, DEFAULT_RATE_LIMIT, type Priority, type RateBudget } from './rate-budget.js'
import { backoffDelay, DEFAULT_RETRY, isTransient, parseRetryAfter, type RetryPolicy } from './retry.js'
import { operationAccess } from './roles.js'
import { newest } from './stream-time.js'
import {
  ApiStatus,
  Cluster,
  ClusterDisruptionInfo,
  GetConnectionStringResponse,
  ListClusterNodesResponse,
  PhysicalReplicationStream,
  PhysicalReplicationStreamList,
  type ClusterNode,
  type ConnectionStringAnswer,
  type CreateStreamRequest,
  type RegionalDisruptorSpecification,
  type Stream
} from './schemas.js'

// The Cloud API client. Every request waits for a slot in the client's rate budget
// (rate-budget.ts) and for the Retry-After gate, shared by every operation of the
// client. A refusal (429, or 503 with Retry-After) means "not processed": GETs and the
// other mutations are sent again once the gate opens, within the caller's budget;
// the PATCH is left to the decision core. GETs also retry other transient failures;
// mutations whose answer is unclear are read back.

export type { Method, Priority }

export type CloudOperation =
  | 'getCluster'
  | 'listNodes'
  | 'getConnectionString'
  | 'getDisruption'
  | 'putDisruption'
  | 'listStreams'
  | 'getStream'
  | 'createStream'
  | 'patchStream'

// rate_limited: the API refused the request (429, or 503 with Retry-After); rate_limited_local:
// the Retry-After gate was shut past the caller's budget, so the request was not sent.
export type RequestOutcome = 'ok' | 'http_error' | 'rate_limited' | 'timeout' | 'network' | 'invalid_response' | 'rate_limited_local'

// One event per request sent (but not for one its caller aborted), and one per request
// the Retry-After gate kept back.
export interface RequestEvent {
  operation: CloudOperation
  method: Method
  status?: number
  outcome: RequestOutcome
  durationMs: number
  attempt: number
}

// Time a request spent before it was sent: in the rate budget's queue, or behind a Retry-After.
export interface WaitEvent {
  operation: CloudOperation
  cause: 'budget' | 'retry_after'
  waitMs: number
}

export interface CloudClientOptions {
  baseUrl: string
  // The key, or what gives the key in force for each request (COCKROACH_API_SECRET_KEY_FILE, rotated).
  apiKey: string | (() => string)
  // Bound on each HTTP attempt (HEALTH_CHECK_TIMEOUT); fractions allowed.
  timeoutSeconds: number
  retry?: Partial<RetryPolicy>
  // Keep-alive connections in the pool.
  connections?: number
  // pagination.limit sent with list requests; the API's default when absent.
  pageLimit?: number
  now?: () => number
  random?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  onRequest?: (event: RequestEvent) => void
  onWait?: (event: WaitEvent) => void
  // CLOUD_API_RATE_LIMIT, requests a second (DEFAULT_RATE_LIMIT); or a budget shared with other clients.
  rateLimit?: number | RateBudget
  // HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
  proxy?: ProxySettings
}

export interface CallOptions {
  // Time the whole call (every page, retry and read-back) may take; 3 × timeoutSeconds by default.
  budgetMs?: number
  // Aborting rejects the call with the signal's reason.
  signal?: AbortSignal
  // Order in the rate budget's queue; normal by default.
  priority?: Priority
}

// What a mutation returned, and whether the API's answer or a read-back showed it.
export interface MutationResult<T> {
  value: T
  confirmedBy: 'answer' | 'read_back'
}

export interface ListStreamsFilter {
  primaryClusterId?: string
  standbyClusterId?: string
  clusterId?: string
  showCompleted?: boolean
  sortOrder?: 'ASC' | 'DESC'
}

// The only transitions the API accepts, both from REPLICATING.
export interface StreamChange {
  status: 'FAILING_OVER' | 'CANCELED'
  failover_at?: string
}

export interface CloudClient {
  getCluster(id: string, options?: CallOptions): Promise<Cluster>
  listNodes(clusterId: string, options?: CallOptions): Promise<ClusterNode[]>
  getConnectionString(
    id: string,
    params?: { database?: string; sqlUser?: string },
    options?: CallOptions
  ): Promise<ConnectionStringAnswer>
  getDisruption(id: string, options?: CallOptions): Promise<ClusterDisruptionInfo>
  putDisruption(
    id: string,
    specs: RegionalDisruptorSpecification[],
    options?: CallOptions
  ): Promise<MutationResult<ClusterDisruptionInfo>>
  listStreams(filter?: ListStreamsFilter, options?: CallOptions): Promise<Stream[]>
  getStream(id: string, options?: CallOptions): Promise<Stream>
  createStream(request: CreateStreamRequest, options?: CallOptions): Promise<MutationResult<Stream>>
  patchStream(id: string, change: StreamChange, options?: CallOptions): Promise<MutationResult<Stream>>
  // Newest stream between the two clusters in either direction, completed ones included.
  discoverStream(primaryId: string, standbyId: string, options?: CallOptions): Promise<Stream | undefined>
  close(): Promise<void>
}

// The API stamps created_at with its own clock; a stream created up to this long before
// our clock says the call began still counts as ours when reading back a createStream.
const CREATE_CLOCK_SKEW_MS = 30_000

// Streams a discovery page holds: the pair's newest is normally the first.
const DISCOVERY_PAGE = '10'

interface ApiRequest {
  operation: CloudOperation
  method: Method
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
}

interface Call {
  deadline: number
  signal?: AbortSignal
  priority: Priority
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: CloudApiError }

export function createCloudClient(options: CloudClientOptions): CloudClient {
  const { apiKey } = options
  if (!apiKey) throw new TypeError('createCloudClient: apiKey is empty')
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  // timers/promises rejects only on abort; surface the caller's reason like a request would.
  const sleep =
    options.sleep ??
    ((ms: number, signal?: AbortSignal) =>
      timer(ms, undefined, { signal }).catch(() => {
        throw signal?.reason
      }))
  const timeoutMs = options.timeoutSeconds * 1000
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry }
  const pageLimit = options.pageLimit?.toString()
  const keyInForce = typeof apiKey === 'string' ? () => apiKey : apiKey
  // Every key this client has sent: a message may quote an old one too.
  const keysSent = new Set<string>()
  const http = createHttp({
    baseUrl: options.baseUrl,
    apiKey: () => {
      const key = keyInForce()
      keysSent.add(key)
      return key
    },
    connections: options.connections ?? 4,
    proxy: options.proxy
  })
  const budget = typeof options.rateLimit === 'object' ? options.rateLimit : createRateBudget(options.rateLimit ?? DEFAULT_RATE_LIMIT)
  // Epoch ms before which no request leaves this client (the latest Retry-After seen).
  let gateUntil = 0
  let closing: Promise<void> | undefined

  // Anything quoted from the outside world: one line, short, and never the key.
  function clean(text: string): string {
    let one = text.replace(/\s+/g, ' ').trim()
    for (const key of keysSent) one = one.replaceAll(key, '[redacted]')
    return one.slice(0, 300)
  }

  function begin(call: CallOptions | undefined): Call {
    return { deadline: now() + (call?.budgetMs ?? 3 * timeoutMs), signal: call?.signal, priority: call?.priority ?? 'normal' }
  }

  // Knowing whether a mutation took effect is worth one full attempt past the budget,
  // and goes ahead of reads that decide nothing.
  function readBack(call: Call): Call {
    return { deadline: Math.max(call.deadline, now() + timeoutMs), signal: call.signal, priority: 'decide' }
  }

  function fits(waitMs: number, call: Call): boolean {
    return waitMs + timeoutMs <= call.deadline - now()
  }

  function report(request: ApiRequest, attempt: number, started: number, outcome: RequestOutcome, status?: number) {
    options.onRequest?.({
      operation: request.operation,
      method: request.method,
      status,
      outcome,
      durationMs: now() - started,
      attempt
    })
  }

  async function attemptOnce<T>(
    request: ApiRequest,
    schema: z.ZodType<T>,
    attempt: number,
    limitMs: number,
    signal: AbortSignal | undefined
  ): Promise<Attempt<T>> {
    const started = now()
    const result = await http.send({ ...request, timeoutMs: limitMs, signal })
    const operation = request.operation
    const note = attempt > 1 ? ` (attempt ${attempt})` : ''
    if (result.type === 'timeout') {
      report(request, attempt, started, 'timeout')
      return failed(new CloudApiError('timeout', `no answer within ${Math.round(limitMs)} ms${note}`, { operation }))
    }
    if (result.type === 'network') {
      report(request, attempt, started, 'network')
      const reason = clean(String(result.error))
      return failed(new CloudApiError('network', `network error: ${reason}${note}`, { operation, cause: result.error }))
    }
    const { status } = result
    const json = parseJson(result.text)
    if (status >= 200 && status < 300) {
      const parsed = json.ok ? schema.safeParse(json.value) : undefined
      if (parsed?.success) {
        report(request, attempt, started, 'ok', status)
        return { ok: true, value: parsed.data }
      }
      report(request, attempt, started, 'invalid_response', status)
      const problem = parsed ? clean(summarize(parsed.error)) : 'not JSON'
      return failed(
        new CloudApiError('invalid_response', `invalid response (HTTP ${status}): ${problem}${note}`, { operation, status })
      )
    }
    // The rate limiter's status is undocumented: 429 and 503 with Retry-After are treated alike.
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(result.retryAfter, now()) : undefined
    report(request, attempt, started, status === 429 || retryAfterMs !== undefined ? 'rate_limited' : 'http_error', status)
    const api = ApiStatus.safeParse(json.ok ? json.value : undefined)
    const apiCode = api.data?.code
    const apiMessage = api.data?.message === undefined ? undefined : clean(api.data.message)
    const answer = describeAnswer(status, apiCode, apiMessage) + note
    if (status === 403) {
      const { requiredRoles } = permissionOf(operation)
      const text = permissionDenied(operation, apiCode, apiMessage) + note
      return failed(new PermissionDeniedError(text, { operation, status, apiCode, apiMessage, requiredRoles }))
    }
    if (retryAfterMs === undefined) return failed(new CloudApiError('http', answer, { operation, status, apiCode, apiMessage }))
    const until = new Date(now() + retryAfterMs)
    gateUntil = Math.max(gateUntil, until.getTime())
    return failed(
      new RateLimitedError(`rate limited until ${until.toISOString()}: ${answer}`, {
        operation,
        status,
        apiCode,
        apiMessage,
        retryAfterMs,
        until
      })
    )
  }

  // Checked before every request, so a closed client fails at once instead of retrying.
  function refuseIfClosed(request: ApiRequest): void {
    if (closing) throw new CloudApiError('network', 'the client is closed', { operation: request.operation })
  }

  function gateClosed(request: ApiRequest, attempt: number): RateLimitedError {
    report(request, attempt, now(), 'rate_limited_local')
    const until = new Date(gateUntil)
    return new RateLimitedError(`rate limited until ${until.toISOString()}, past this call's budget; request not sent`, {
      operation: request.operation,
      retryAfterMs: gateUntil - now(),
      until
    })
  }

  function waited(request: ApiRequest, cause: WaitEvent['cause'], waitMs: number): void {
    if (waitMs > 0) options.onWait?.({ operation: request.operation, cause, waitMs })
  }

  // Waits until the request may go: the Retry-After gate open and a slot in the rate
  // budget. The gate is waited out when it and a full attempt fit the budget; the slot
  // is waited for as long as half the remaining budget is left for the attempt.
  // A Call's deadline may move: see the slot below. A refusal's wait is reported once, from
  // the refusal (or the first sleep at the gate) to the gate opening, however many sleeps
  // it took: a timer may wake a millisecond before Date.now() says the gate is open.
  async function clear(request: ApiRequest, attempt: number, call: Call, refusedAt?: number): Promise<void> {
    let gateFrom = refusedAt
    const gateWaited = () => {
      if (gateFrom !== undefined) waited(request, 'retry_after', now() - gateFrom)
      gateFrom = undefined
    }
    for (;;) {
      refuseIfClosed(request)
      const gateWait = gateUntil - now()
      if (gateWait > 0) {
        if (!fits(gateWait, call)) {
          gateWaited()
          throw gateClosed(request, attempt)
        }
        gateFrom ??= now()
        await sleep(gateWait, call.signal)
        continue
      }
      gateWaited()
      const remaining = call.deadline - now()
      if (remaining <= 0) {
        throw new CloudApiError('timeout', 'call budget spent before the request could be sent', { operation: request.operation })
      }
      // Up to one window of waiting for a slot is the client's own doing, not the API's:
      // it does not come out of the call's budget.
      const maxWaitMs = remaining - Math.min(timeoutMs, remaining / 2) + budget.windowMs
      const grant = await budget.take(call.priority, { signal: call.signal, maxWaitMs })
      call.deadline += Math.min(grant.waitedMs, budget.windowMs)
      waited(request, 'budget', grant.waitedMs)
      // Not sent, like a request the API refused: a PATCH kept back here was never asked.
      if (!grant.granted) {
        report(request, attempt, now(), 'rate_limited_local')
        const until = new Date(now() + budget.windowMs)
        throw new RateLimitedError(
          `no slot in the client's rate budget (${budget.requests} requests per ${budget.windowMs / 1000} s, ${budget.waiting()} waiting) within this call's budget; request not sent`,
          { operation: request.operation, retryAfterMs: budget.windowMs, until }
        )
      }
      // A Retry-After that came back meanwhile holds this request too.
      if (gateUntil <= now()) return
    }
  }

  // After a failed attempt: how long to wait before the next, or undefined to give up.
  // A refusal was not processed and does not count against the attempts.
  function retryWait(error: CloudApiError, attempt: number, failures: number, call: Call): number | undefined {
    if (!isTransient(error) || (!isRefusal(error) && failures >= policy.attempts)) return undefined
    // Backoff grows with every try, refusals included, so an API that keeps refusing is not pressed.
    const wait = Math.max(backoffDelay(attempt, policy, random), gateUntil - now())
    return fits(wait, call) ? wait : undefined
  }

  async function runGet<T>(request: ApiRequest, schema: z.ZodType<T>, call: Call): Promise<T> {
    let failures = 0
    let refusedAt: number | undefined
    for (let attempt = 1; ; attempt++) {
      await clear(request, attempt, call, refusedAt)
      const result = await attemptOnce(request, schema, attempt, Math.min(timeoutMs, call.deadline - now()), call.signal)
      if (result.ok) return result.value
      if (!isRefusal(result.error)) failures += 1
      // Retry only if the wait and a full attempt still fit the budget: a retry is never cut short.
      const wait = retryWait(result.error, attempt, failures, call)
      if (wait === undefined) throw result.error
      const sleptFrom = now()
      await sleep(wait, call.signal)
      refusedAt = isRefusal(result.error) ? sleptFrom : undefined
    }
  }

  // A mutation goes out once, unless the API refused it unprocessed and `resend` allows
  // sending it again; the PATCH does not, as its refusals are the decision core's to weigh.
  async function runMutation<T>(request: ApiRequest, schema: z.ZodType<T>, call: Call, resend: boolean): Promise<Attempt<T>> {
    let refusedAt: number | undefined
    for (let attempt = 1; ; attempt++) {
      await clear(request, attempt, call, refusedAt)
      const result = await attemptOnce(request, schema, attempt, Math.min(timeoutMs, call.deadline - now()), call.signal)
      if (result.ok || !resend || !isRefusal(result.error)) return result
      const wait = retryWait(result.error, attempt, 0, call)
      if (wait === undefined) return result
      refusedAt = now()
      await sleep(wait, call.signal)
    }
  }

  async function collect<A extends { pagination?: { next_page?: string } }, T>(
    request: ApiRequest,
    schema: z.ZodType<A>,
    pick: (answer: A) => T[],
    call: Call,
    enough: (items: T[]) => boolean = () => false
  ): Promise<T[]> {
    // Every page shares the call's budget, which also bounds a pagination that never ends.
    // The API names a next page after one that is exactly full, so an empty page ends the
    // list whatever its next_page says; a token already followed would go round in circles.
    const items: T[] = []
    const followed = new Set<string>()
    let page: string | undefined
    do {
      const query = { 'pagination.limit': pageLimit, ...request.query, 'pagination.page': page }
      const answer = await runGet({ ...request, query }, schema, call)
      const found = pick(answer)
      if (found.length === 0) break
      items.push(...found)
      if (enough(items)) break
      if (page !== undefined) followed.add(page)
      page = answer.pagination?.next_page || undefined
      if (page !== undefined && followed.has(page)) {
        throw new CloudApiError('invalid_response', 'invalid response (HTTP 200): pagination.next_page repeats a page already read', {
          operation: request.operation,
          status: 200
        })
      }
    } while (page)
    return items
  }

  function listStreamsWithin(
    filter: ListStreamsFilter,
    call: Call,
    limit = pageLimit,
    enough?: (streams: Stream[]) => boolean
  ): Promise<Stream[]> {
    const query = {
      primary_cluster_id: filter.primaryClusterId,
      standby_cluster_id: filter.standbyClusterId,
      cluster_id: filter.clusterId,
      show_completed: filter.showCompleted?.toString(),
      'pagination.sort_order': filter.sortOrder,
      'pagination.limit': limit
    }
    const request: ApiRequest = { operation: 'listStreams', method: 'GET', path: '/api/v1/physical-replication-streams', query }
    return collect(request, PhysicalReplicationStreamList, (answer) => answer.physical_replication_streams, call, enough)
  }

  // Reads after an unclear or refused mutation; a failed read is an outcome to report, not to throw.
  async function tryRead<T>(read: () => Promise<T>): Promise<{ value?: T; error?: CloudApiError }> {
    try {
      return { value: await read() }
    } catch (error) {
      if (error instanceof CloudApiError) return { error }
      throw error
    }
  }

  return {
    getCluster: (id, call) =>
      runGet({ operation: 'getCluster', method: 'GET', path: clusterPath(id) }, Cluster, begin(call)),

    listNodes: (clusterId, call) =>
      collect(
        { operation: 'listNodes', method: 'GET', path: `${clusterPath(clusterId)}/nodes` },
        ListClusterNodesResponse,
        (answer) => answer.nodes,
        begin(call)
      ),

    getConnectionString: (id, params, call) =>
      runGet(
        {
          operation: 'getConnectionString',
          method: 'GET',
          path: `${clusterPath(id)}/connection-string`,
          query: { database: params?.database, sql_user: params?.sqlUser }
        },
        GetConnectionStringResponse,
        begin(call)
      ),

    getDisruption: (id, call) => runGet(getDisruptionRequest(id), ClusterDisruptionInfo, begin(call)),

    async putDisruption(id, specs, options) {
      const call = begin(options)
      const request: ApiRequest = {
        operation: 'putDisruption',
        method: 'PUT',
        path: `${clusterPath(id)}/disrupt`,
        body: { regional_disruptor_specifications: specs }
      }
      const result = await runMutation(request, ClusterDisruptionInfo, call, true)
      if (result.ok) return { value: result.value, confirmedBy: 'answer' }
      if (!isUnclear(result.error)) throw result.error
      const read = await tryRead(() => runGet(getDisruptionRequest(id), ClusterDisruptionInfo, readBack(call)))
      if (read.value && sameDisruption(read.value.regional_disruptor_specifications, specs)) {
        return { value: read.value, confirmedBy: 'read_back' }
      }
      const seen = read.value ? 'the disruption reads back different' : readFailure(read.error)
      throw new UnclearOutcomeError(`${unclear(result.error)}; ${seen}`, causedBy(result.error))
    },

    listStreams: (filter, call) => listStreamsWithin(filter ?? {}, begin(call)),

    getStream: (id, call) => runGet(getStreamRequest(id), PhysicalReplicationStream, begin(call)),

    async createStream(body, options) {
      const started = now()
      const call = begin(options)
      const request: ApiRequest = {
        operation: 'createStream',
        method: 'POST',
        path: '/api/v1/physical-replication-streams',
        body
      }
      const result = await runMutation(request, PhysicalReplicationStream, call, true)
      if (result.ok) return { value: result.value, confirmedBy: 'answer' }
      if (!isUnclear(result.error)) throw result.error
      const filter = { primaryClusterId: body.primary_cluster_id, standbyClusterId: body.standby_cluster_id, showCompleted: true }
      const read = await tryRead(() => listStreamsWithin(filter, readBack(call)))
      const created = newest(
        (read.value ?? []).filter(
          (stream) =>
            stream.primary_cluster_id === body.primary_cluster_id &&
            stream.standby_cluster_id === body.standby_cluster_id &&
            Date.parse(stream.created_at) >= started - CREATE_CLOCK_SKEW_MS
        )
      )
      if (created) return { value: created, confirmedBy: 'read_back' }
      const seen = read.value ? 'no stream for the pair was created since the call' : readFailure(read.error)
      throw new UnclearOutcomeError(`${unclear(result.error)}; ${seen}`, causedBy(result.error))
    },

    async patchStream(id, change, options) {
      const call = begin(options)
      const request: ApiRequest = { ...getStreamRequest(id), operation: 'patchStream', method: 'PATCH', body: change }
      const result = await runMutation(request, PhysicalReplicationStream, { ...call, priority: 'decide' }, false)
      if (result.ok) return { value: result.value, confirmedBy: 'answer' }
      const error = result.error
      const status = error.status
      // Any 4xx but the rate limit is the API saying no; the stream shows what holds instead.
      const refused = status !== undefined && status >= 400 && status < 500 && status !== 429
      if (!refused && !isUnclear(error)) throw error
      const read = await tryRead(() => runGet(getStreamRequest(id), PhysicalReplicationStream, readBack(call)))
      const stream = read.value
      const seen = stream ? `stream ${stream.id} reads ${stream.status}` : readFailure(read.error)
      if (error instanceof PermissionDeniedError) {
        const text = permissionDenied('patchStream', error.apiCode, error.apiMessage)
        throw new PermissionDeniedError(`${text}; ${seen}`, { ...causedBy(error), stream, requiredRoles: error.requiredRoles })
      }
      if (refused) {
        const answer = describeAnswer(status, error.apiCode, error.apiMessage)
        throw new RefusedError(`refused, ${answer}; ${seen}`, { ...causedBy(error), stream })
      }
      if (stream && tookEffect(stream, change.status)) return { value: stream, confirmedBy: 'read_back' }
      throw new UnclearOutcomeError(`${unclear(error)}; ${seen}`, { ...causedBy(error), stream })
    },

    // Newest first, a small page at a time, until a page holds a stream of the pair: one
    // request a check, however long the cluster's history grows.
    async discoverStream(primaryId, standbyId, call) {
      const ofPair = (streams: Stream[]) =>
        streams.filter(
          (stream) =>
            (stream.primary_cluster_id === primaryId && stream.standby_cluster_id === standbyId) ||
            (stream.primary_cluster_id === standbyId && stream.standby_cluster_id === primaryId)
        )
      const filter: ListStreamsFilter = { clusterId: primaryId, showCompleted: true, sortOrder: 'DESC' }
      const streams = await listStreamsWithin(filter, begin(call), pageLimit ?? DISCOVERY_PAGE, (read) => ofPair(read).length > 0)
      return newest(ofPair(streams))
    },

    // Waits for requests in flight (each bounded by its timeout); closing twice is harmless.
    close: () => (closing ??= http.close())
  }
}

function clusterPath(id: string): string {
  return `/api/v1/clusters/${encodeURIComponent(id)}`
}

function getStreamRequest(id: string): ApiRequest {
  return { operation: 'getStream', method: 'GET', path: `/api/v1/physical-replication-streams/${encodeURIComponent(id)}` }
}

function getDisruptionRequest(id: string): ApiRequest {
  return { operation: 'getDisruption', method: 'GET', path: `${clusterPath(id)}/disrupt` }
}

function failed(error: CloudApiError): Attempt<never> {
  return { ok: false, error }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

function summarize(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ')
}

function describeAnswer(status: number, apiCode: number | undefined, apiMessage: string | undefined): string {
  return `HTTP ${status}${apiCode === undefined ? '' : ` (code ${apiCode})`}${apiMessage ? `: ${apiMessage}` : ''}`
}

function permissionOf(operation: CloudOperation) {
  const { operationId, roles } = operationAccess[operation]
  return { operationId, requiredRoles: roles }
}

// A 403 says what the key lacks: the roles the specification lists for the operation. The
// API's own message follows, shortened, so the line stays short.
function permissionDenied(operation: CloudOperation, apiCode: number | undefined, apiMessage: string | undefined): string {
  const { operationId, requiredRoles } = permissionOf(operation)
  const quoted = apiMessage === undefined ? undefined : apiMessage.slice(0, 120)
  return (
    `permission denied: the API key may not call ${operationId}, which needs one of the roles ` +
    `${requiredRoles.join(', ')} (${describeAnswer(403, apiCode, quoted)})`
  )
}

// Not processed, try later: a 429, or a 503 with Retry-After (the rate limit's other status).
function isRefusal(error: CloudApiError): boolean {
  return error.kind === 'rate_limited' || error.status === 429
}

// No answer, a server error, or a success we could not read: the mutation may have taken effect.
// A 429, or a 503 with Retry-After (the rate limit's other status), means it was not processed.
function isUnclear(error: CloudApiError): boolean {
  if (error.kind === 'rate_limited') return false
  return error.kind === 'invalid_response' || (isTransient(error) && error.status !== 429)
}

function unclear(error: CloudApiError): string {
  return `outcome unclear after ${error.kind === 'http' || error.kind === 'rate_limited' ? `HTTP ${error.status}` : error.kind}`
}

function readFailure(error: CloudApiError | undefined): string {
  return `read-back failed (${error?.message})`
}

function causedBy(error: CloudApiError) {
  return {
    operation: error.operation,
    status: error.status,
    apiCode: error.apiCode,
    apiMessage: error.apiMessage,
    retryAfterMs: error.retryAfterMs,
    until: error.until,
    cause: error
  }
}

function tookEffect(stream: Stream, requested: StreamChange['status']): boolean {
  return stream.status === requested || (requested === 'FAILING_OVER' && stream.status === 'COMPLETED')
}

function sameDisruption(actual: RegionalDisruptorSpecification[], wanted: RegionalDisruptorSpecification[]): boolean {
  const canonical = (specs: RegionalDisruptorSpecification[]) =>
    JSON.stringify(
      specs
        .map((spec) => ({
          region_code: spec.region_code,
          is_whole_region: spec.is_whole_region,
          azs: [...(spec.azs ?? [])].sort(),
          pods: [...(spec.pods ?? [])].sort()
        }))
        .map((spec) => JSON.stringify(spec))
        .sort()
    )
  return canonical(actual) === canonical(wanted)
}
