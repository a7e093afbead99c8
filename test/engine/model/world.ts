import type { Cluster, ClusterNode, Stream } from '../../../src/cloud/schemas.js'
import type { CorePolicy } from '../../../src/engine/core/types.js'
import type { Observation } from '../../../src/engine/verdict.js'

// A simulated Cloud API for the decision core's model tests: a primary that goes up
// and down on a script, a stream that fails over when a PATCH is applied, and the
// faults real APIs have (dark periods, empty or truncated listings, refused PATCHes).
// It answers at a given time; it knows nothing of the core.

export const A = 'aaaaaaaa-0000-4000-8000-00000000000a'
export const B = 'bbbbbbbb-0000-4000-8000-00000000000b'
export const CURRENT = 'cccccccc-0000-4000-8000-00000000000c'
// An older stream B→A, completed long ago: a truncated listing shows only this one.
export const OLDER = '0ddddddd-0000-4000-8000-00000000000d'

// The policy of the model's pair: what a test varies (the timeline, auto-failover, the
// data-loss guard) over what every world shares.
export function modelPolicy(
  p: Pick<CorePolicy, 'threshold' | 'intervalMs' | 'delayMs' | 'timeoutMs' | 'autoFailover' | 'maxDataLossSeconds'> & { suspectIntervalMs?: number }
): CorePolicy {
  return {
    pair: { primaryClusterId: A, standbyClusterId: B },
    ...p,
    suspectIntervalMs: p.suspectIntervalMs ?? p.intervalMs,
    failoverTimeoutMs: 600_000,
    activationTimeoutMs: 60_000,
    stateMaxAgeMs: 3_600_000,
    evidence: 'both',
    probed: [],
    sql: {}
  }
}

export type PatchAnswer = 'applied' | 'rate_limited' | 'refused' | 'unclear_applied' | 'unclear_not_applied' | 'error_read_back_replicating'

export interface WorldScript {
  // The primary's segments, in order, from time 0; the last one lasts to the end.
  primary: Array<{ down: boolean; ms: number }>
  // Every request fails (the API is unreachable).
  dark: Array<{ at: number; ms: number }>
  listings: Array<{ at: number; ms: number; kind: 'empty' | 'truncated' }>
  // How the API answers each PATCH, in order; 'applied' once the list is used up.
  patches: PatchAnswer[]
  lagMs: number
  failoverMs: number
}

const within = (windows: Array<{ at: number; ms: number }>, t: number) => windows.some((w) => t >= w.at && t < w.at + w.ms)

function cluster(id: string): Cluster {
  return {
    id,
    name: id === A ? 'primary' : 'standby',
    cockroach_version: 'v25.2.0',
    plan: 'ADVANCED',
    cloud_provider: 'GCP',
    state: 'CREATED',
    operation_status: 'CLUSTER_STATUS_UNSPECIFIED',
    regions: [{ name: 'us-east1', sql_dns: `${id}.sql.example`, ui_dns: '', internal_dns: '', node_count: 3 }]
  } as Cluster
}

export interface World {
  primaryDown(t: number): boolean
  // When the primary last served at time t (t itself while it is up).
  lastUpAt(t: number): number
  // How long the primary served between two times: what a failover cutting at `from` loses of it.
  upTime(from: number, to: number): number
  dark(t: number): boolean
  list(t: number): { ok: true; value: Stream | undefined } | { ok: false; error: string }
  getStream(id: string, t: number): { ok: true; value: Stream } | { ok: false; error: string }
  observe(id: string, t: number): Observation
  patch(t: number): { answer: PatchAnswer; stream?: Stream }
  stream(t: number): Stream
  // When an applied PATCH took effect.
  appliedAt(): number | undefined
}

export function createWorld(script: WorldScript): World {
  const edges: Array<{ from: number; to: number; down: boolean }> = []
  let t0 = 0
  for (const s of script.primary) {
    edges.push({ from: t0, to: t0 + s.ms, down: s.down })
    t0 += s.ms
  }
  const segmentAt = (t: number) => edges.find((e) => t >= e.from && t < e.to) ?? (edges.at(-1) as (typeof edges)[number])
  let applied: number | undefined
  let patchesSeen = 0
  const older: Stream = { id: OLDER, primary_cluster_id: B, standby_cluster_id: A, status: 'COMPLETED', created_at: '2026-01-01T00:00:00Z', activated_at: '2026-01-01T01:00:00Z' }

  const world: World = {
    primaryDown: (t) => segmentAt(t).down,
    lastUpAt(t) {
      if (!segmentAt(t).down) return t
      // The start of the run of down segments t falls in.
      let i = edges.indexOf(segmentAt(t))
      while (i > 0 && (edges[i - 1] as (typeof edges)[number]).down) i -= 1
      return (edges[i] as (typeof edges)[number]).from
    },
    upTime(from, to) {
      let up = 0
      for (const e of edges) if (!e.down) up += Math.max(0, Math.min(to, e.to) - Math.max(from, e.from))
      // The last segment lasts to the end.
      const last = edges.at(-1) as (typeof edges)[number]
      if (!last.down && to > last.to) up += to - Math.max(from, last.to)
      return up
    },
    dark: (t) => within(script.dark, t),
    stream(t) {
      const base = { id: CURRENT, primary_cluster_id: A, standby_cluster_id: B, created_at: '2026-02-01T00:00:00Z' }
      if (applied !== undefined && t >= applied + script.failoverMs) {
        return { ...base, status: 'COMPLETED', activated_at: new Date(applied).toISOString() }
      }
      if (applied !== undefined) return { ...base, status: 'FAILING_OVER' }
      const frontier = world.lastUpAt(t) - script.lagMs
      return {
        ...base,
        status: 'REPLICATING',
        replicated_time: new Date(frontier).toISOString(),
        retained_time: new Date(frontier - 3_600_000).toISOString(),
        replication_lag_seconds: (t - frontier) / 1000
      }
    },
    list(t) {
      if (world.dark(t)) return { ok: false, error: 'listStreams: 503' }
      const fault = script.listings.find((w) => t >= w.at && t < w.at + w.ms)
      if (fault?.kind === 'empty') return { ok: true, value: undefined }
      if (fault?.kind === 'truncated') return { ok: true, value: older }
      return { ok: true, value: world.stream(t) }
    },
    getStream(id, t) {
      if (world.dark(t)) return { ok: false, error: 'getStream: 503' }
      return { ok: true, value: id === OLDER ? older : world.stream(t) }
    },
    observe(id, t) {
      if (world.dark(t)) return { cluster: { ok: false, error: 'getCluster: 503' } }
      const down = id === A && world.primaryDown(t)
      const nodes: ClusterNode[] = [1, 2, 3].map((n) => ({ name: `n${n}`, region_name: 'us-east1', status: down ? 'NOT_READY' : 'LIVE' }))
      return { cluster: { ok: true, value: cluster(id) }, nodes: { ok: true, value: nodes } }
    },
    patch(t) {
      const scripted = script.patches[patchesSeen] ?? 'applied'
      patchesSeen += 1
      const current = world.stream(t)
      // A PATCH to a stream already failing over, or while the API is dark, is not applied.
      const answer: PatchAnswer = world.dark(t) ? 'rate_limited' : current.status !== 'REPLICATING' ? 'refused' : scripted
      if (answer === 'applied' || answer === 'unclear_applied') applied = t
      return { answer, stream: world.stream(t) }
    },
    appliedAt: () => applied
  }
  return world
}
