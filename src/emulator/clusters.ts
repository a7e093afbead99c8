import { type ClusterState, type NodeStatus, type RegionalDisruptorSpecification } from '../cloud/schemas.js'
import { invalidArgument } from './api-error.js'
import type { CloudProvider, ClusterSeed, Plan } from './seed.js'

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
  return {
    id: seed.id,
    name: seed.name,
    region: seed.region,
    cloudProvider,
    plan: seed.plan ?? 'ADVANCED',
    cockroachVersion: seed.cockroachVersion ?? 'v25.2.4',
    sqlDns: seed.sqlDns ?? dnsName('', seed.name, cloudProvider, seed.region),
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
    cidr_range: cloudProvider === 'GCP' && cluster.plan === 'ADVANCED' ? '172.28.0.0/14' : '',
    labels: {},
    is_customer_cloud_account: false,
    network_visibility: 'PUBLIC',
    delete_protection: 'DISABLED',
    parent_id: 'root',
    created_at: new Date(cluster.createdAt).toISOString(),
    ...(cluster.deletedAt !== undefined && { deleted_at: new Date(cluster.deletedAt).toISOString() })
  }
}
