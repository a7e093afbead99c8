import type { ClusterState } from '../cloud/schemas.js'

// What the emulator starts from, and returns to on reset.

export const DEFAULT_PRIMARY_ID = 'c0ffee00-0000-4000-8000-000000000001'
export const DEFAULT_STANDBY_ID = 'c0ffee00-0000-4000-8000-000000000002'
export const DEFAULT_STREAM_ID = '5eed0000-0000-4000-8000-000000000000'
export const DEFAULT_API_KEY = 'emulator-secret-key'
/** The range a GCP cluster gets when created without one (DedicatedClusterCreateSpecification.cidr_range). */
export const DEFAULT_CIDR_RANGE = '172.28.0.0/14'

export type CloudProvider = 'GCP' | 'AWS' | 'AZURE'
export type Plan = 'BASIC' | 'STANDARD' | 'ADVANCED'
export type StreamSeed = 'replicating' | 'starting' | 'none'

export interface ClusterSeed {
  id: string
  name: string
  /** The cluster's only region; clusters in a PCR stream are single-region. */
  region: string
  cloudProvider?: CloudProvider
  plan?: Plan
  state?: ClusterState
  nodeCount?: number
  /** The region's SQL host; tests point it at 127.0.0.1. */
  sqlDns?: string
  cockroachVersion?: string
  /**
   * The cluster's IPv4 range (Cluster.cidr_range, shown on GCP Advanced
   * clusters only). Default 172.28.0.0/14, the API's default for a cluster
   * created without one: two such GCP clusters overlap and cannot replicate.
   */
  cidrRange?: string
  /** Created with cluster virtualization, which replication needs (default true). */
  supportsClusterVirtualization?: boolean
}

// Every duration of the stream's life is counted only while the clusters it
// needs are up (see streams.ts): an outage stretches it.
export interface Timings {
  /** How long a new stream stays STARTING (network setup), with both clusters up. */
  startingSeconds: number
  /** How long REPLICATING shows no times: the initial scan, a full copy, with both clusters up. */
  initialScanSeconds: number
  /** How fast a frontier that is behind catches up: seconds of data per second. */
  catchUpRate: number
  /** How often the frontier is published as replicated_time. */
  replicationStepSeconds: number
  /** The cut-over, once the frontier has reached the failover time, with the standby up. */
  failoverSeconds: number
  /** How far the frontier trails the clock once caught up. */
  lagSeconds: number
  /** How far back retained_time reaches once the stream is old enough. */
  retentionSeconds: number
  /** How long a REPLICATING stream may make no progress before it is canceled. */
  stallCancelSeconds: number
  /** How long a disruption takes to move its nodes, one after another. */
  disruptionApplySeconds: number
}

export const DEFAULT_TIMINGS: Timings = {
  startingSeconds: 300,
  initialScanSeconds: 3600,
  catchUpRate: 4,
  replicationStepSeconds: 30,
  failoverSeconds: 60,
  lagSeconds: 10,
  retentionSeconds: 4 * 3600,
  stallCancelSeconds: 24 * 3600,
  disruptionApplySeconds: 5
}

export interface DefaultClusterOverrides {
  primary?: Partial<ClusterSeed>
  standby?: Partial<ClusterSeed>
}

/**
 * A primary in us-east1 and a standby in us-west2, both Advanced on GCP, with
 * CIDR ranges that do not overlap (the primary's is the API's default).
 */
export function defaultClusterSeeds(overrides: DefaultClusterOverrides = {}): ClusterSeed[] {
  return [
    { id: DEFAULT_PRIMARY_ID, name: 'pcr-primary', region: 'us-east1', cidrRange: DEFAULT_CIDR_RANGE, ...overrides.primary },
    { id: DEFAULT_STANDBY_ID, name: 'pcr-standby', region: 'us-west2', cidrRange: '172.24.0.0/14', ...overrides.standby }
  ]
}
