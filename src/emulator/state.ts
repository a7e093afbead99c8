import {
  SQL_PORT,
  type ClusterState,
  type CreateStreamRequest,
  type NodeStatus,
  type RegionalDisruptorSpecification,
  type UpdateStreamSpec
} from '../cloud/schemas.js'
import { failedPrecondition, invalidArgument, notFound } from './cloud-error.js'
import { intersect } from './availability.js'
import {
  checkDisruption,
  checkReplicationCandidate,
  checkReplicationPair,
  clusterJson,
  createCluster,
  downSince,
  nodeStatus,
  operationStatus,
  scheduleDisruption,
  setNodeStatus,
  upIntervals,
  type ClusterOperationStatus,
  type ClusterRecord
} from './clusters.js'
import { paginate, type PageRequest } from './pagination.js'
import {
  DEFAULT_STREAM_ID,
  DEFAULT_TIMINGS,
  defaultClusterSeeds,
  type ClusterSeed,
  type StreamSeed,
  type Timings
} from './seed.js'
import { iso } from './proto-time.js'
import { applyPatch, isLive, streamJson, streamStatus, type StreamContext, type StreamRecord } from './streams.js'

// The emulated Cloud API as a plain state machine: no HTTP, no timers. Time
// comes from the injected clock, and everything that depends on it is derived
// when read.

export interface StateOptions {
  /** The clock, in milliseconds; the control API can move it forward. */
  now?: () => number
  timings?: Partial<Timings>
  /** Default: a primary and a standby (see defaultClusterSeeds). */
  clusters?: ClusterSeed[]
  /** A stream from the first cluster to the second: already REPLICATING by default. */
  stream?: StreamSeed
}

export interface StreamFilter {
  primaryClusterId?: string
  standbyClusterId?: string
  clusterId?: string
  showCompleted: boolean
}

export interface ClusterPatch {
  state?: ClusterState
  operation_status?: ClusterOperationStatus
}

export type EmulatorState = ReturnType<typeof createEmulatorState>

const DAY_MS = 24 * 3600 * 1000

export function createEmulatorState(options: StateOptions = {}) {
  const clock = options.now ?? Date.now
  const timings: Timings = { ...DEFAULT_TIMINGS, ...options.timings }
  const seeds = options.clusters ?? defaultClusterSeeds()
  const streamSeed = options.stream ?? 'replicating'
  if (new Set(seeds.map((seed) => seed.id)).size !== seeds.length) throw new Error('cluster ids must be unique')

  let offsetMs = 0
  let clusters = new Map<string, ClusterRecord>()
  let streams: StreamRecord[] = []
  // Not rewound by reset, so an id never names two different streams.
  let streamCount = 0

  const now = () => clock() + offsetMs

  function seed(): void {
    const t = now()
    clusters = new Map(seeds.map((s) => [s.id, createCluster(s, t - 30 * DAY_MS)]))
    streams = []
    if (streamSeed === 'none') return
    const [primary, standby] = seeds
    if (primary === undefined || standby === undefined) throw new Error('a seeded stream needs two clusters')
    const createdAt = streamSeed === 'starting' ? t : t - timings.startingSeconds * 1000 - DAY_MS
    streams.push({ id: DEFAULT_STREAM_ID, primaryId: primary.id, standbyId: standby.id, createdAt })
  }

  function cluster(id: string): ClusterRecord {
    const found = clusters.get(id)
    if (found === undefined) throw notFound(`cluster ${id} not found`, 'CLUSTER_NOT_FOUND', { cluster_id: id })
    return found
  }

  function checkNodeNames(c: ClusterRecord, names: string[]): void {
    const unknown = names.filter((name) => !c.nodes.some((node) => node.name === name))
    if (unknown.length > 0) throw invalidArgument(`cluster ${c.id} has no node ${unknown.join(', ')}`)
  }

  function stream(id: string): StreamRecord {
    const found = streams.find((s) => s.id === id)
    if (found === undefined) throw notFound(`replication stream ${id} not found`, 'REPLICATION_STREAM_NOT_FOUND', { id })
    return found
  }

  function context(s: StreamRecord): StreamContext {
    const standbyUp = upIntervals(cluster(s.standbyId))
    return { now: now(), bothUp: intersect(upIntervals(cluster(s.primaryId)), standbyUp), standbyUp, timings }
  }

  const view = (s: StreamRecord) => streamJson(s, context(s))
  const clockJson = () => ({ now: iso(now()), offset_seconds: offsetMs / 1000 })
  const statusOf = (s: StreamRecord) => streamStatus(s, context(s))
  const disruptionJson = (c: ClusterRecord) => ({ regional_disruptor_specifications: c.disruption })
  const lostMajoritySince = (c: ClusterRecord) => downSince(upIntervals(c), now())

  /**
   * Whether the cluster's application SQL serves: a majority of its nodes is
   * live, and it is not the standby of a live stream, whose application
   * virtual cluster is offline until the failover completes (PCR docs).
   */
  function sqlServes(c: ClusterRecord): boolean {
    return lostMajoritySince(c) === null && !streams.some((s) => s.standbyId === c.id && isLive(statusOf(s)))
  }

  // What the control API shows of a cluster: more than the Cloud API tells.
  const controlView = (c: ClusterRecord) => {
    const since = lostMajoritySince(c)
    return {
      id: c.id,
      name: c.name,
      region: c.region,
      state: c.state,
      operation_status: operationStatus(c, now(), timings.disruptionApplySeconds),
      sql_available: sqlServes(c),
      down_since: since === null ? null : iso(since),
      disruption: c.disruption,
      failing_pods: c.failingPods,
      nodes: c.nodes.map((node) => ({ name: node.name, az: node.az, status: nodeStatus(node, now()) }))
    }
  }

  seed()

  return {
    timings,
    now,

    getCluster(id: string) {
      const c = cluster(id)
      return clusterJson(c, operationStatus(c, now(), timings.disruptionApplySeconds))
    },

    listNodes(id: string, regionName: string | undefined, page: PageRequest) {
      const c = cluster(id)
      const nodes = c.nodes
        .filter(() => regionName === undefined || regionName === c.region)
        .map((node) => ({ name: node.name, region_name: c.region, status: nodeStatus(node, now()) }))
      // A node is as old as its cluster, for pagination.as_of_time.
      const { items, pagination } = paginate(nodes, (node) => [node.region_name, node.name], page, () => c.createdAt)
      return { nodes: items, pagination }
    },

    connectionString(id: string, database: string, sqlUser: string | undefined) {
      const host = cluster(id).sqlDns
      const user = sqlUser === undefined ? '' : `${encodeURIComponent(sqlUser)}@`
      return {
        connection_string: `postgresql://${user}${host}:${SQL_PORT}/${encodeURIComponent(database)}?sslmode=verify-full`,
        params: {
          Host: host,
          Port: String(SQL_PORT),
          Database: database,
          ...(sqlUser !== undefined && { Username: sqlUser })
        }
      }
    },

    getDisruption(id: string) {
      return disruptionJson(cluster(id))
    },

    /** Replaces the whole disruption set; an empty set ends every disruption. Nodes follow one by one. */
    putDisruption(id: string, specs: RegionalDisruptorSpecification[]) {
      const c = cluster(id)
      scheduleDisruption(c, checkDisruption(c, specs), now(), timings.disruptionApplySeconds * 1000)
      return disruptionJson(c)
    },

    listStreams(filter: StreamFilter, page: PageRequest) {
      const { primaryClusterId, standbyClusterId, clusterId, showCompleted } = filter
      const selected = streams.filter(
        (s) =>
          (primaryClusterId === undefined || s.primaryId === primaryClusterId) &&
          (standbyClusterId === undefined || s.standbyId === standbyClusterId) &&
          (clusterId === undefined || s.primaryId === clusterId || s.standbyId === clusterId) &&
          (showCompleted || statusOf(s) !== 'COMPLETED')
      )
      const { items, pagination } = paginate(selected.map(view), (s) => [s.created_at, s.id], page, (s) => Date.parse(s.created_at))
      return { physical_replication_streams: items, pagination }
    },

    createStream(request: CreateStreamRequest) {
      const { primary_cluster_id: primaryId, standby_cluster_id: standbyId } = request
      if (primaryId === standbyId) throw invalidArgument('primary and standby must be two different clusters')
      const pair = [cluster(primaryId), cluster(standbyId)] as const
      for (const c of pair) {
        checkReplicationCandidate(c)
        const busy = streams.find((s) => (s.primaryId === c.id || s.standbyId === c.id) && isLive(statusOf(s)))
        if (busy !== undefined) {
          throw failedPrecondition(
            `cluster ${c.id} already takes part in replication stream ${busy.id} (${statusOf(busy)})`,
            'CLUSTER_IN_REPLICATION_STREAM',
            { cluster_id: c.id, stream_id: busy.id }
          )
        }
      }
      checkReplicationPair(...pair)
      streamCount += 1
      const created: StreamRecord = {
        id: `5eed0000-0000-4000-8000-${streamCount.toString(16).padStart(12, '0')}`,
        primaryId,
        standbyId,
        createdAt: now()
      }
      streams.push(created)
      return view(created)
    },

    getStream(id: string) {
      return view(stream(id))
    },

    patchStream(id: string, spec: UpdateStreamSpec) {
      const s = stream(id)
      applyPatch(s, spec, context(s))
      return view(s)
    },

    /** Whether the cluster's application SQL endpoint serves now. */
    isSqlAvailable(id: string): boolean {
      return sqlServes(cluster(id))
    },

    describeCluster(id: string) {
      return controlView(cluster(id))
    },

    /** Sets the status of the named nodes, or of every node, from now on; a disruption still overrides it. */
    setNodeStatus(id: string, status: NodeStatus, names?: string[]) {
      const c = cluster(id)
      checkNodeNames(c, names ?? [])
      setNodeStatus(c, status, names, now())
    },

    /** Names the pods the disruptor cannot move: a disruption that needs one of them ends FAILED. */
    setFailingPods(id: string, names: string[]) {
      const c = cluster(id)
      checkNodeNames(c, names)
      c.failingPods = names
    },

    patchCluster(id: string, patch: ClusterPatch) {
      const c = cluster(id)
      if (patch.operation_status !== undefined) {
        c.operationStatus = patch.operation_status
        c.operationStatusAt = now()
      }
      if (patch.state !== undefined) {
        c.state = patch.state
        c.deletedAt = patch.state === 'DELETED' ? now() : undefined
      }
    },

    /** Moves the clock forward; it is never rewound, not even by reset. */
    advanceClock(seconds: number) {
      offsetMs += seconds * 1000
      return clockJson()
    },

    reset() {
      seed()
    },

    /** Everything at once, as the control API shows it. */
    snapshot() {
      return {
        clock: clockJson(),
        clusters: [...clusters.values()].map(controlView),
        streams: streams.map(view)
      }
    }
  }
}
