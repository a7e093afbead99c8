import type { Backend, ClustersJson } from '../backend.js'
import { transientError } from '../errors.js'
import type { Clock } from '../../engine/engine.js'

// A measured DR rehearsal: take the watched cluster down through the Cloud API,
// watch the sidecar (this process's engine, or a running service) detect it and
// fail over, check the new active cluster answers SQL, restore the disruption,
// optionally fail back, and report every step with its timestamp.

// What the drill drives: a CLI backend, direct or remote.
export type DrillTarget = Pick<
  Backend,
  'mode' | 'source' | 'refresh' | 'clusters' | 'events' | 'connectionClusterId' | 'next' | 'disrupt' | 'restore' | 'failbackFull' | 'operation'
>

export interface SqlCheck {
  ok: boolean
  latency_ms: number
  error: string | null
}

export interface DrillTimeline {
  interval_seconds: number
  failure_threshold: number
  failover_delay_seconds: number
}

export type PhaseName =
  | 'preflight_ok'
  | 'outage_started'
  | 'first_failure'
  | 'threshold_reached'
  | 'failover_confirmed'
  | 'failover_requested'
  | 'failover_started'
  | 'failover_completed'
  | 'switched'
  | 'target_sql_checked'
  | 'restored'
  | 'failback_started'
  | 'failback_completed'

export interface DrillPhase {
  name: PhaseName
  at: string
  // Seconds since the outage started; null before it.
  offset_seconds: number | null
}

export interface DrillOptions {
  target: DrillTarget
  clock: Pick<Clock, 'now'>
  // Bound on each wait: the first verdict, the failover, the failover that ends a failback.
  timeoutSeconds: number
  // The configured timeline, when known (direct mode), for the minimum detection time.
  timeline?: DrillTimeline
  // timeoutSeconds: sent as the failback's wait for its reverse stream (the sidecar's
  // FAILBACK_TIMEOUT when absent); waitSeconds: that wait as this drill bounds it.
  failback?: { maxLagSeconds: number; timeoutSeconds?: number; waitSeconds: number }
  // Agrees to disrupting this cluster, or throws; nothing has been changed yet.
  confirm(cluster: { id: string; name: string | null }): Promise<void>
  // SELECT 1 on the cluster failed over to; undefined when it has no endpoint.
  verifySql?(clusterId: string, configuredRole: 'primary' | 'standby'): Promise<SqlCheck | undefined>
  onPhase?(phase: DrillPhase): void
  // Each new phase or progress line of the failback operation (a re-seed can take hours).
  onProgress?(line: string): void
}

export interface DrillReport {
  result: 'passed' | 'failed'
  error: string | null
  mode: 'direct' | 'remote'
  source: string
  timeline: DrillTimeline | null
  // (threshold − 1) × interval + delay: no sidecar on this timeline can decide sooner.
  minimum_detection_seconds: number | null
  disrupted_cluster_id: string | null
  target_cluster_id: string | null
  stream_id: string | null
  outage_started_at: string | null
  // The stream's newest replicated_time seen while it was REPLICATING (the API gives none after).
  last_replicated_time: string | null
  // The COMPLETED stream's activated_at: the time the new cluster's data is as of.
  activated_at: string | null
  phases: DrillPhase[]
  // Outage → the double-check confirmed it.
  detection_seconds: number | null
  // Outage → FAILURE_THRESHOLD consecutive failures.
  threshold_seconds: number | null
  // PATCH (or adoption) → COMPLETED.
  failover_seconds: number | null
  // Outage → applications handed the new cluster.
  rto_seconds: number | null
  // Outage − activated_at (else − the last replicated time): writes in this window are not on the new cluster.
  data_loss_window_seconds: number | null
  target_sql: SqlCheck | null
  failback: { operation_id: string; status: string; seconds: number | null; error: string | null } | null
  // Why the sidecar refused to fail over meanwhile, if it did.
  blocks: string[]
}

const eventPhases: Partial<Record<string, PhaseName>> = {
  failure_counted: 'first_failure',
  threshold_reached: 'threshold_reached',
  failover_confirmed: 'failover_confirmed',
  failover_requested: 'failover_requested',
  failover_patched: 'failover_started',
  failover_adopted: 'failover_started',
  failover_completed: 'failover_completed'
}

const iso = (ms: number) => new Date(ms).toISOString()
const round = (seconds: number) => Math.round(seconds * 1000) / 1000
const describe = (err: unknown) => (err as Error).message

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const { target, clock } = options
  const timeoutMs = options.timeoutSeconds * 1000
  const times = new Map<PhaseName, number>()
  const blocks: string[] = []
  let outageAt: number | undefined
  let lastReplicated: number | undefined
  let activatedAt: number | undefined
  let error: string | undefined
  let seenEvent = 0
  let pair: { from: string; to: string; stream: string; toRole: 'primary' | 'standby' } | undefined
  let sql: SqlCheck | undefined
  let failback: DrillReport['failback'] = null

  const offset = (at: number) => (outageAt === undefined ? null : round((at - outageAt) / 1000))
  const span = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? null : round((to - from) / 1000))

  function mark(name: PhaseName, at = clock.now()): void {
    if (times.has(name)) return
    times.set(name, at)
    options.onPhase?.({ name, at: iso(at), offset_seconds: offset(at) })
  }

  async function wait(what: string, deadline: number): Promise<void> {
    if (clock.now() > deadline) {
      const blocked = blocks.length > 0 ? `; the sidecar said: ${blocks.at(-1)}` : ''
      throw new Error(`timed out after ${options.timeoutSeconds} s waiting for ${what}${blocked}`)
    }
    await target.next()
  }

  // Both configured clusters are always in the answer.
  const clusterOf = (c: ClustersJson, id: string) => c.clusters.find((k) => k.id === id) as ClustersJson['clusters'][number]
  const watchedOf = (c: ClustersJson) => clusterOf(c, c.watched_cluster_id)

  async function preflight(): Promise<ClustersJson> {
    const deadline = clock.now() + timeoutMs
    let c = await target.refresh()
    while (watchedOf(c).verdict === 'unknown') {
      await wait('a first verdict on the watched cluster', deadline)
      c = await target.clusters()
    }
    const watched = watchedOf(c)
    if (c.stream?.status !== 'REPLICATING') {
      throw new Error(`the stream is ${c.stream?.status ?? 'missing'}; a drill needs a REPLICATING stream (pcr setup creates one)`)
    }
    if (watched.verdict !== 'healthy') throw new Error(`cluster ${watched.id} is ${watched.verdict}: ${watched.reason}`)
    return c
  }

  // New events, oldest first: the sidecar's own account of each step, with its timestamps.
  async function absorb(): Promise<void> {
    const fresh = (await target.events(200)).filter((e) => e.id > seenEvent).reverse()
    for (const e of fresh) {
      seenEvent = e.id
      const phase = eventPhases[e.type]
      if (phase !== undefined) mark(phase, Date.parse(e.at))
      // A PATCH the Cloud API did not apply is tried again: like a block, it is what keeps the failover from happening.
      if ((e.type === 'failover_blocked' || e.type === 'failover_refused') && !blocks.includes(e.message)) blocks.push(e.message)
      // A PATCH that may have taken effect is never sent again: the drill ends.
      if (e.type === 'failover_failed') throw new Error(e.message)
    }
  }

  // The data points the API gives: replicated_time while REPLICATING, activated_at once COMPLETED.
  function noteStream(s: ClustersJson['stream'], streamId: string): void {
    if (s?.id !== streamId) return
    if (s.status === 'REPLICATING' && s.replicated_time !== null) {
      lastReplicated = Math.max(lastReplicated ?? 0, Date.parse(s.replicated_time))
    }
    if (s.status === 'COMPLETED' && s.activated_at !== null) activatedAt = Date.parse(s.activated_at)
  }

  async function watchFailover(to: string, streamId: string, deadline: number): Promise<void> {
    for (;;) {
      await wait(`the failover to ${to}`, deadline)
      await absorb()
      noteStream((await target.clusters()).stream, streamId)
      if ((await target.connectionClusterId()) === to) {
        mark('switched')
        // The completion may have been recorded after the stream and the events were read above.
        if (activatedAt === undefined) noteStream((await target.clusters()).stream, streamId)
        return absorb()
      }
    }
  }

  async function checkSql(to: string, role: 'primary' | 'standby'): Promise<void> {
    sql = await options.verifySql?.(to, role)
    if (sql === undefined) return
    mark('target_sql_checked')
    if (!sql.ok) throw new Error(`${to} does not answer SQL after the failover: ${sql.error}`)
  }

  async function runFailback(settings: NonNullable<DrillOptions['failback']>): Promise<void> {
    let op = (
      await target.failbackFull({
        max_lag_seconds: settings.maxLagSeconds,
        ...(settings.timeoutSeconds === undefined ? {} : { timeout_seconds: settings.timeoutSeconds })
      })
    ).operation
    failback = { operation_id: op.id, status: op.status, seconds: null, error: null }
    mark('failback_started', Date.parse(op.started_at))
    // The operation waits for the stream to replicate (its own deadline), then fails it over.
    const deadline = clock.now() + settings.waitSeconds * 1000 + timeoutMs
    const waitFor = `the failback (${settings.waitSeconds + options.timeoutSeconds} s)`
    // Each new stage or progress line once, and each new reason the sidecar did not answer.
    const shown = { op: '', error: '' }
    while (op.status === 'running') {
      const line = `failback ${op.phase}: ${op.progress}`
      if (line !== shown.op) options.onProgress?.(line)
      shown.op = line
      if (clock.now() > deadline) throw new Error(`timed out waiting for ${waitFor}: operation ${op.id} is still ${op.phase} (${op.progress})`)
      await target.next()
      try {
        op = await target.operation(op.id)
        shown.error = ''
      } catch (err) {
        // The sidecar not answering for a while does not end a failback of hours.
        if (!transientError(err)) throw err
        const why = `failback: the sidecar does not answer (${describe(err)}); still following`
        if (why !== shown.error) options.onProgress?.(why)
        shown.error = why
      }
    }
    const finished = Date.parse(op.finished_at as string)
    failback = { operation_id: op.id, status: op.status, seconds: span(Date.parse(op.started_at), finished), error: op.error }
    if (op.status === 'failed') throw new Error(`failback failed: ${op.error}`)
    mark('failback_completed', finished)
  }

  function report(): DrillReport {
    const t = options.timeline
    const at = (name: PhaseName) => times.get(name)
    const dataAsOf = activatedAt ?? lastReplicated
    return {
      result: error === undefined ? 'passed' : 'failed',
      error: error ?? null,
      mode: target.mode,
      source: target.source,
      timeline: t ?? null,
      minimum_detection_seconds: t === undefined ? null : round((t.failure_threshold - 1) * t.interval_seconds + t.failover_delay_seconds),
      disrupted_cluster_id: pair?.from ?? null,
      target_cluster_id: pair?.to ?? null,
      stream_id: pair?.stream ?? null,
      outage_started_at: outageAt === undefined ? null : iso(outageAt),
      last_replicated_time: lastReplicated === undefined ? null : iso(lastReplicated),
      activated_at: activatedAt === undefined ? null : iso(activatedAt),
      phases: [...times].sort((a, b) => a[1] - b[1]).map(([name, ms]) => ({ name, at: iso(ms), offset_seconds: offset(ms) })),
      detection_seconds: span(outageAt, at('failover_confirmed')),
      threshold_seconds: span(outageAt, at('threshold_reached')),
      failover_seconds: span(at('failover_requested') ?? at('failover_started'), at('failover_completed')),
      rto_seconds: span(outageAt, at('switched')),
      data_loss_window_seconds: outageAt === undefined || dataAsOf === undefined ? null : round(Math.max(0, outageAt - dataAsOf) / 1000),
      target_sql: sql ?? null,
      failback,
      blocks
    }
  }

  let before: ClustersJson
  try {
    before = await preflight()
  } catch (err) {
    error = `preflight: ${describe(err)}; nothing was changed`
    return report()
  }
  const stream = before.stream as NonNullable<ClustersJson['stream']>
  const from = watchedOf(before)
  const to = stream.standby_cluster_id
  pair = { from: from.id, to, stream: stream.id, toRole: clusterOf(before, to).configured_role }
  noteStream(stream, stream.id)
  mark('preflight_ok')
  await options.confirm({ id: from.id, name: from.name })

  seenEvent = Math.max(0, ...(await target.events(200)).map((e) => e.id))
  try {
    outageAt = clock.now()
    await target.disrupt({ confirm: from.id, cluster_id: from.id })
    mark('outage_started', outageAt)
    await watchFailover(to, stream.id, outageAt + timeoutMs)
    await checkSql(to, pair.toRole)
  } catch (err) {
    error = describe(err)
  } finally {
    // Whatever happened, the cluster does not stay down.
    try {
      await target.restore(from.id)
      mark('restored')
    } catch (err) {
      error = [error, `restoring ${from.id} failed, it is still disrupted (pcr simulate restore): ${describe(err)}`].filter(Boolean).join('; ')
    }
  }
  if (error === undefined && options.failback !== undefined) {
    try {
      await runFailback(options.failback)
    } catch (err) {
      error = describe(err)
    }
  }
  return report()
}
