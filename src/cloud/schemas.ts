import { z } from 'zod'

// Shapes of the Cloud API answers this project reads, following the published
// specification (docs/cloud-api/openapi.json, version 2024-09-16). Fields the
// project never reads are not modelled; unknown fields are dropped.

export const API_VERSION = '2024-09-16'

// Every CockroachDB Cloud cluster serves SQL on this port.
export const SQL_PORT = 26257

const timestamp = z.iso.datetime({ offset: true })

export const clusterStates = ['CREATING', 'CREATED', 'CREATION_FAILED', 'DELETED', 'LOCKED'] as const
export const ClusterState = z.enum(clusterStates)
export type ClusterState = z.infer<typeof ClusterState>

export const nodeStatuses = ['LIVE', 'NOT_READY'] as const
export const NodeStatus = z.enum(nodeStatuses)
export type NodeStatus = z.infer<typeof NodeStatus>

export const streamStatuses = ['STARTING', 'REPLICATING', 'FAILING_OVER', 'COMPLETED', 'CANCELED'] as const
export const StreamStatus = z.enum(streamStatuses)
export type StreamStatus = z.infer<typeof StreamStatus>

export const Region = z.object({
  name: z.string(),
  sql_dns: z.string(),
  ui_dns: z.string(),
  internal_dns: z.string(),
  private_endpoint_dns: z.string(),
  node_count: z.number().int()
})
export type Region = z.infer<typeof Region>

export const Cluster = z.object({
  id: z.string().min(1),
  name: z.string(),
  cockroach_version: z.string(),
  plan: z.string(),
  cloud_provider: z.string(),
  state: ClusterState,
  // Kept open: the API adds operation kinds over time, and an unknown one must not
  // turn a healthy answer into an unreadable one.
  operation_status: z.string(),
  regions: z.array(Region),
  created_at: timestamp.optional(),
  deleted_at: timestamp.optional()
})
export type Cluster = z.infer<typeof Cluster>

export const KeysetPagination = z.object({
  next_page: z.string().optional(),
  previous_page: z.string().optional()
})

export const ClusterNode = z.object({
  name: z.string(),
  region_name: z.string(),
  status: NodeStatus
})
export type ClusterNode = z.infer<typeof ClusterNode>

export const ListClusterNodesResponse = z.object({
  nodes: z.array(ClusterNode),
  pagination: KeysetPagination.optional()
})

export const GetConnectionStringResponse = z.object({
  connection_string: z.string(),
  params: z.object({
    Host: z.string(),
    Port: z.string(),
    Database: z.string(),
    Username: z.string().optional()
  })
})
export type ConnectionStringAnswer = z.infer<typeof GetConnectionStringResponse>

export const RegionalDisruptorSpecification = z.object({
  region_code: z.string().min(1),
  is_whole_region: z.boolean(),
  azs: z.array(z.string()).optional(),
  pods: z.array(z.string()).optional()
})
export type RegionalDisruptorSpecification = z.infer<typeof RegionalDisruptorSpecification>

export const ClusterDisruptionInfo = z.object({
  regional_disruptor_specifications: z.array(RegionalDisruptorSpecification)
})
export type ClusterDisruptionInfo = z.infer<typeof ClusterDisruptionInfo>

export const PhysicalReplicationStream = z.object({
  id: z.string().min(1),
  status: StreamStatus,
  primary_cluster_id: z.string().min(1),
  standby_cluster_id: z.string().min(1),
  created_at: timestamp,
  replicated_time: timestamp.optional(),
  retained_time: timestamp.optional(),
  replication_lag_seconds: z.number().int().optional(),
  failover_at: timestamp.optional(),
  activated_at: timestamp.optional(),
  canceled_at: timestamp.optional()
})
export type Stream = z.infer<typeof PhysicalReplicationStream>

export const PhysicalReplicationStreamList = z.object({
  physical_replication_streams: z.array(PhysicalReplicationStream),
  pagination: KeysetPagination.optional()
})

export const CreateStreamRequest = z.object({
  primary_cluster_id: z.string().min(1),
  standby_cluster_id: z.string().min(1)
})
export type CreateStreamRequest = z.infer<typeof CreateStreamRequest>

export const UpdateStreamSpec = z.object({
  status: StreamStatus.optional(),
  failover_at: timestamp.optional()
})
export type UpdateStreamSpec = z.infer<typeof UpdateStreamSpec>

export const ApiStatus = z.object({
  code: z.number().int().optional(),
  message: z.string().optional(),
  details: z.array(z.unknown()).optional()
})
export type ApiStatus = z.infer<typeof ApiStatus>
