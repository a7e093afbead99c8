import { type ClusterState, type NodeStatus, type RegionalDisruptorSpecification } from '../cloud/schemas.js'
import { failedPrecondition, invalidArgument } from './cloud-error.js'
import { combine, intervalsWhere, steps, valueAt, type Interval, type Steps } from './availability.js'
import { formatTimestamp, nanosFromMs } from './proto-time.js'
import { DEFAULT_CIDR_RANGE, type CloudProvider, type ClusterSeed, type Plan } from './seed.js'

// One emulated cluster: its nodes, the disruption set on it, and the JSON the
// Cloud API shows for it.

/** ClusterStatus.Type of the specification. */
export const clusterOperationStatuses = [
  'UNSPECIFIED',
  'CRDB_MAJOR_UPGRADE_RUNNING',
  'CRDB_MAJOR_UPGRADE_FAILED',
  'CRDB_MAJOR_ROLLBACK_RUNNING',
  'CRDB_MAJOR_ROLLBACK_FAILED',
  'CRDB_PATCH_RUNNING',
  'CRDB_PATCH_FAILED',
  'CRDB_SCALE_RUNNING',
  'CRDB_SCALE_FAILED',
  'MAINTENANCE_RUNNING',
  'CRDB_INSTANCE_UPDATE_RUNNING',
  'CRDB_INSTANCE_UPDATE_FAILED',
  'CRDB_EDIT_CLUSTER_RUNNING',
  'CRDB_EDIT_CLUSTER_FAILED',
  'CRDB_CMEK_OPERATION_RUNNING',
  'CRDB_CMEK_OPERATION_FAILED',
  'TENANT_RESTORE_RUNNING',
  'TENANT_RESTORE_FAILED',
  'CRDB_LOG_EXPORT_OPERATION_RUNNING',
  'CRDB_LOG_EXPORT_OPERATION_FAILED',
  'CRDB_CLUSTER_DISRUPTION_RUNNING',
  'CRDB_CLUSTER_DISRUPTION_FAILED',
  'CRDB_REPAVE_RUNNING',
  'CRDB_REPAVE_FAILED',
  'CRDB_CUSTOM_CLIENT_CA_RUNNING',
  'CRDB_CUSTOM_CLIENT_CA_FAILED',
  'DEDICATED_FULL_CLUSTER_RESTORE_RUNNING',
  'DEDICATED_FULL_CLUSTER_RESTORE_FAILED'
] as const
export type ClusterOperationStatus = (typeof clusterOperationStatuses)[number]

const CREATOR_ID = 'c0ffee00-0000-4000-8000-00000000c0de'
const MACHINE_TYPES: Record<CloudProvider, string> = {
  GCP: 'n2-standard-4',
  AWS: 'm6i.xlarge',
  AZURE: 'Standard_D4as_v5'
}

export interface NodeRecord {
  name: string
  az: string
  /** As set through the control API, from the moment of each change; a disruption overrides it. */
  status: Steps<NodeStatus>
  /** Whether a disruption holds the node down; while one is applied, its flips lie ahead. */
  disrupted: Steps<boolean>
}

export interface ClusterRecord {
  id: string
  name: string
  region: string
  cloudProvider: CloudProvider
  plan: Plan
  cockroachVersion: string
  sqlDns: string
  /** IPv4 CIDR; the API shows it on GCP Advanced clusters only. */
  cidrRange: string
  supportsClusterVirtualization: boolean
  createdAt: number
  state: ClusterState
  deletedAt?: number
  operationStatus: ClusterOperationStatus
  /** When the control API last set operationStatus. */
  operationStatusAt: number
  nodes: NodeRecord[]
  disruption: RegionalDisruptorSpecification[]
  /** When the disruption set was last replaced, and whether that change fails. */
  lastDisruption?: { at: number; failed: boolean }
  /** Pods the disruptor cannot move, set through the control API: a disruption that needs one fails. */
  failingPods: string[]
}

export function createCluster(seed: ClusterSeed, createdAt: number): ClusterRecord {
  const cloudProvider = seed.cloudProvider ?? 'GCP'
  const nodeCount = seed.nodeCount ?? 3
  if (!Number.isInteger(nodeCount) || nodeCount < 1) {
    throw new Error(`cluster ${seed.id}: nodeCount must be a positive integer`)
  }
  const cidrRange = seed.cidrRange ?? DEFAULT_CIDR_RANGE
  if (parseCidr(cidrRange) === undefined) throw new Error(`cluster ${seed.id}: cidrRange must be an IPv4 CIDR range`)
  return {
    id: seed.id,
    name: seed.name,
    region: seed.region,
    cloudProvider,
    plan: seed.plan ?? 'ADVANCED',
    cockroachVersion: seed.cockroachVersion ?? 'v25.2.4',
    sqlDns: seed.sqlDns ?? dnsName('', seed.name, cloudProvider, seed.region),
    cidrRange,
    supportsClusterVirtualization: seed.supportsClusterVirtualization ?? true,
    createdAt,
    state: seed.state ?? 'CREATED',
    operationStatus: 'UNSPECIFIED',
    operationStatusAt: -Infinity,
    // Nodes spread over three zones, as Cloud places them.
    nodes: Array.from({ length: nodeCount }, (_, i) => ({
      name: `cockroachdb-${i}`,
      az: `${seed.region}-${'abc'[i % 3]}`,
      status: steps<NodeStatus>('LIVE'),
      disrupted: steps(false)
    })),
    disruption: [],
    failingPods: []
  }
}

/** An IPv4 CIDR range as its first address and prefix length, or undefined when it is not one. */
interface Cidr {
  address: number
  bits: number
}

function parseCidr(range: string): Cidr | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(range)
  if (match === null) return undefined
  const octets = match.slice(1, 5).map(Number)
  const bits = Number(match[5])
  if (octets.some((octet) => octet > 255) || bits > 32) return undefined
  return { address: octets.reduce((sum, octet) => sum * 256 + octet, 0), bits }
}

/** Whether two IPv4 CIDR ranges share an address: the shorter prefix decides. */
export function cidrRangesOverlap(a: string, b: string): boolean {
  // Both were checked when their clusters were seeded.
  const x = parseCidr(a) as Cidr
  const y = parseCidr(b) as Cidr
  const size = 2 ** (32 - Math.min(x.bits, y.bits))
  return Math.floor(x.address / size) === Math.floor(y.address / size)
}

function dnsName(prefix: string, name: string, cloudProvider: CloudProvider, region: string): string {
  return `${prefix}${name}.${cloudProvider.toLowerCase()}-${region}.cockroachlabs.cloud`
}

export function nodeStatus(node: NodeRecord, t: number): NodeStatus {
  return valueAt(node.disrupted, t) ? 'NOT_READY' : valueAt(node.status, t)
}

/**
 * The intervals in which a majority of the cluster's nodes was, or is
 * scheduled to be, live: a cluster keeps its ranges, and so serves, only then.
 */
export function upIntervals(cluster: ClusterRecord): Interval[] {
  // Each node's status, then whether it is disrupted.
  const inputs: Array<Steps<NodeStatus | boolean>> = cluster.nodes.flatMap((node) => [node.status, node.disrupted])
  const majority = combine(inputs, (values) => {
    const live = cluster.nodes.filter((_, i) => values[2 * i] === 'LIVE' && values[2 * i + 1] === false).length
    return live * 2 > cluster.nodes.length
  })
  return intervalsWhere(majority)
}

/** Since when the cluster has lacked a majority of live nodes, or null while it has one. */
export function downSince(up: Interval[], now: number): number | null {
  if (up.some(({ start, end }) => start <= now && now < end)) return null
  return up.filter(({ end }) => end <= now).at(-1)?.end ?? -Infinity
}

/** Sets the status of nodes from now on. */
export function setNodeStatus(cluster: ClusterRecord, status: NodeStatus, names: string[] | undefined, now: number): void {
  for (const node of cluster.nodes) {
    if (names === undefined || names.includes(node.name)) node.status.changes.push({ at: now, value: status })
  }
}

/**
 * Replaces the disruption set at `now`. The disruptor moves one node at a
 * time: the nodes whose state changes flip one after another over `applyMs`,
 * from where they stand now (flips of an earlier set still ahead are
 * dropped). A failing pod is left as it is, and the change then fails.
 */
export function scheduleDisruption(
  cluster: ClusterRecord,
  specs: RegionalDisruptorSpecification[],
  now: number,
  applyMs: number
): void {
  for (const node of cluster.nodes) node.disrupted.changes = node.disrupted.changes.filter((change) => change.at <= now)
  const moving = cluster.nodes.filter((node) => {
    const wanted = specs.some((spec) => spec.is_whole_region || spec.pods?.includes(node.name) || spec.azs?.includes(node.az))
    return wanted !== valueAt(node.disrupted, now)
  })
  moving.forEach((node, i) => {
    if (cluster.failingPods.includes(node.name)) return
    const at = now + Math.round((applyMs * (i + 1)) / moving.length)
    node.disrupted.changes.push({ at, value: !valueAt(node.disrupted, now) })
  })
  cluster.disruption = specs
  cluster.lastDisruption = { at: now, failed: moving.some((node) => cluster.failingPods.includes(node.name)) }
}

/**
 * RUNNING while a disruption is applied; then FAILED if it failed, until the
 * control API sets another status, which otherwise shows.
 */
export function operationStatus(cluster: ClusterRecord, now: number, applySeconds: number): ClusterOperationStatus {
  const last = cluster.lastDisruption
  if (last === undefined) return cluster.operationStatus
  const appliedAt = last.at + applySeconds * 1000
  if (now < appliedAt) return 'CRDB_CLUSTER_DISRUPTION_RUNNING'
  return last.failed && cluster.operationStatusAt < appliedAt ? 'CRDB_CLUSTER_DISRUPTION_FAILED' : cluster.operationStatus
}

/**
 * Refuses a cluster that cannot take part in a replication stream, as the
 * Cloud's PCR prerequisites say: Advanced, created with cluster
 * virtualization, and CREATED (a LOCKED cluster is busy with an operation).
 */
export function checkReplicationCandidate(cluster: ClusterRecord): void {
  const meta = { cluster_id: cluster.id }
  if (cluster.state === 'LOCKED') {
    throw failedPrecondition(
      `cluster ${cluster.id} is LOCKED while an operation runs on it; a stream needs it CREATED`,
      'CLUSTER_LOCKED',
      meta
    )
  }
  if (cluster.state !== 'CREATED') {
    throw failedPrecondition(`cluster ${cluster.id} is ${cluster.state}; a stream needs it CREATED`, 'CLUSTER_NOT_READY', meta)
  }
  if (cluster.plan !== 'ADVANCED') {
    throw failedPrecondition(
      `cluster ${cluster.id} is on the ${cluster.plan} plan; replication needs ADVANCED`,
      'PLAN_NOT_SUPPORTED',
      meta
    )
  }
  if (!cluster.supportsClusterVirtualization) {
    throw failedPrecondition(
      `cluster ${cluster.id} was created without cluster virtualization support, which replication needs`,
      'CLUSTER_VIRTUALIZATION_REQUIRED',
      meta
    )
  }
}

/**
 * Refuses a primary and standby that cannot replicate to each other: another
 * cloud, the same region on AWS or Azure, overlapping CIDR ranges on GCP.
 */
export function checkReplicationPair(primary: ClusterRecord, standby: ClusterRecord): void {
  if (primary.cloudProvider !== standby.cloudProvider) {
    throw failedPrecondition(
      `primary and standby must be on the same cloud provider (${primary.cloudProvider} and ${standby.cloudProvider})`,
      'CLOUD_PROVIDER_MISMATCH'
    )
  }
  if (primary.cloudProvider !== 'GCP' && primary.region === standby.region) {
    throw failedPrecondition(
      `primary and standby are both in ${primary.region}; on ${primary.cloudProvider} they must be in different regions`,
      'SAME_REGION'
    )
  }
  if (primary.cloudProvider === 'GCP' && cidrRangesOverlap(primary.cidrRange, standby.cidrRange)) {
    throw failedPrecondition(
      `the CIDR ranges of primary (${primary.cidrRange}) and standby (${standby.cidrRange}) overlap; on GCP they must not`,
      'CIDR_RANGES_OVERLAP'
    )
  }
}

/** Checks a disruption set against the cluster and returns it in its stored form. */
export function checkDisruption(
  cluster: ClusterRecord,
  specs: RegionalDisruptorSpecification[]
): RegionalDisruptorSpecification[] {
  const regions = new Set<string>()
  return specs.map((spec) => {
    const { region_code: region, is_whole_region: whole } = spec
    const pods = spec.pods ?? []
    const azs = spec.azs ?? []
    if (region !== cluster.region) {
      throw invalidArgument(`region ${region} is not a region of cluster ${cluster.id}`)
    }
    if (regions.has(region)) throw invalidArgument(`region ${region} is listed more than once`)
    regions.add(region)
    if (whole && pods.length + azs.length > 0) {
      throw invalidArgument(`region ${region}: is_whole_region must not come with pods or azs`)
    }
    if (!whole && pods.length + azs.length === 0) {
      throw invalidArgument(`region ${region}: name pods or azs, or set is_whole_region`)
    }
    const unknownPods = pods.filter((pod) => !cluster.nodes.some((node) => node.name === pod))
    if (unknownPods.length > 0) throw invalidArgument(`region ${region}: unknown pods ${unknownPods.join(', ')}`)
    const unknownAzs = azs.filter((az) => !cluster.nodes.some((node) => node.az === az))
    if (unknownAzs.length > 0) throw invalidArgument(`region ${region}: unknown azs ${unknownAzs.join(', ')}`)
    return {
      region_code: region,
      is_whole_region: whole,
      ...(pods.length > 0 && { pods }),
      ...(azs.length > 0 && { azs })
    }
  })
}

export function clusterJson(cluster: ClusterRecord, operation: ClusterOperationStatus) {
  const { name, cloudProvider, region } = cluster
  return {
    id: cluster.id,
    name,
    cockroach_version: cluster.cockroachVersion,
    upgrade_status: 'FINALIZED',
    plan: cluster.plan,
    cloud_provider: cloudProvider,
    state: cluster.state,
    creator_id: CREATOR_ID,
    operation_status: operation,
    config: {
      dedicated: {
        machine_type: MACHINE_TYPES[cloudProvider],
        num_virtual_cpus: 4,
        storage_gib: 150,
        memory_gib: 16,
        disk_iops: 0
      }
    },
    regions: [
      {
        name: region,
        sql_dns: cluster.sqlDns,
        ui_dns: dnsName('admin-', name, cloudProvider, region),
        internal_dns: dnsName('internal-', name, cloudProvider, region),
        private_endpoint_dns: dnsName('private-', name, cloudProvider, region),
        node_count: cluster.nodes.length
      }
    ],
    // The specification: set only on GCP Advanced clusters, otherwise empty.
    cidr_range: cloudProvider === 'GCP' && cluster.plan === 'ADVANCED' ? cluster.cidrRange : '',
    labels: {},
    is_customer_cloud_account: false,
    network_visibility: 'PUBLIC',
    delete_protection: 'DISABLED',
    parent_id: 'root',
    created_at: formatTimestamp(nanosFromMs(cluster.createdAt)),
    ...(cluster.deletedAt !== undefined && { deleted_at: formatTimestamp(nanosFromMs(cluster.deletedAt)) })
  }
}
