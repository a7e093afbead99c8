import { type ClusterState, type NodeStatus, type RegionalDisruptorSpecification } from '../cloud/schemas.js'
import { failedPrecondition, invalidArgument } from './api-error.js'
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
  /** As set through the control API; a disruption overrides it. */
  status: NodeStatus
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
  nodes: NodeRecord[]
  disruption: RegionalDisruptorSpecification[]
  /** When the disruption set was last replaced. */
  disruptedAt?: number
  /** Since when SQL has been unavailable, or null while it serves. */
  downSince: number | null
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
    // Nodes spread over three zones, as Cloud places them.
    nodes: Array.from({ length: nodeCount }, (_, i) => ({
      name: `cockroachdb-${i}`,
      az: `${seed.region}-${'abc'[i % 3]}`,
      status: 'LIVE' as const
    })),
    disruption: [],
    downSince: null
  }
}

/** An IPv4 CIDR range as its first address and prefix length, or undefined when it is not one. */
function parseCidr(range: string): { address: number; bits: number } | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(range)
  if (match === null) return undefined
  const octets = match.slice(1, 5).map(Number)
  const bits = Number(match[5])
  if (octets.some((octet) => octet > 255) || bits > 32) return undefined
  return { address: octets.reduce((sum, octet) => sum * 256 + octet, 0), bits }
}

/** Whether two IPv4 CIDR ranges share an address: the shorter prefix decides. */
export function cidrRangesOverlap(a: string, b: string): boolean {
  const x = parseCidr(a)
  const y = parseCidr(b)
  if (x === undefined || y === undefined) return false
  const size = 2 ** (32 - Math.min(x.bits, y.bits))
  return Math.floor(x.address / size) === Math.floor(y.address / size)
}

function dnsName(prefix: string, name: string, cloudProvider: CloudProvider, region: string): string {
  return `${prefix}${name}.${cloudProvider.toLowerCase()}-${region}.cockroachlabs.cloud`
}

export function nodeStatus(cluster: ClusterRecord, node: NodeRecord): NodeStatus {
  const disrupted = cluster.disruption.some(
    (spec) => spec.is_whole_region || spec.pods?.includes(node.name) || spec.azs?.includes(node.az)
  )
  return disrupted ? 'NOT_READY' : node.status
}

/** A cluster serves SQL while a majority of its nodes is live. */
export function sqlAvailable(cluster: ClusterRecord): boolean {
  const live = cluster.nodes.filter((node) => nodeStatus(cluster, node) === 'LIVE').length
  return live * 2 > cluster.nodes.length
}

export function operationStatus(cluster: ClusterRecord, now: number, applySeconds: number): ClusterOperationStatus {
  const applying = cluster.disruptedAt !== undefined && now < cluster.disruptedAt + applySeconds * 1000
  return applying ? 'CRDB_CLUSTER_DISRUPTION_RUNNING' : cluster.operationStatus
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
    created_at: new Date(cluster.createdAt).toISOString(),
    ...(cluster.deletedAt !== undefined && { deleted_at: new Date(cluster.deletedAt).toISOString() })
  }
}
