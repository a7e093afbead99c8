import type { z } from 'zod'
import type {
  ActiveBody,
  ClustersBody,
  EventBody,
  FailbackAcceptedBody,
  FailbackStatusBody,
  FailoverAcceptedBody,
  OperationBody,
  SimulateBody,
  StreamCreatedBody
} from '../api-schemas.js'

// What the verbs and the drill drive: the operator in this process (direct mode)
// or a running sidecar's HTTP API (remote mode). Both answer with the admin API's
// JSON shapes, so every --json output is the same in either mode.

export type ActiveJson = z.infer<typeof ActiveBody>
export type ClustersJson = z.infer<typeof ClustersBody>
export type EventJson = z.infer<typeof EventBody>
export type FailoverJson = z.infer<typeof FailoverAcceptedBody>
export type FailbackStatusJson = z.infer<typeof FailbackStatusBody>
export type FailbackFullJson = z.infer<typeof FailbackAcceptedBody>
export type OperationJson = z.infer<typeof OperationBody>
export type SimulateJson = z.infer<typeof SimulateBody>
export type StreamCreatedJson = z.infer<typeof StreamCreatedBody>

export interface Unavailable {
  code: string
  message: string
}

export interface FailoverInput {
  failover_at?: string
  allow_data_loss?: boolean
  dry_run?: boolean
}

export interface DisruptInput {
  confirm: string
  cluster_id: string
  region_code?: string
  pods?: string[]
  azs?: string[]
}

export interface Backend {
  readonly mode: 'direct' | 'remote'
  // How often progress is polled.
  readonly pollMs: number
  // Where the state comes from, for headers.
  readonly source: string
  // The state as of now: a fresh check in direct mode, /clusters in remote mode.
  refresh(): Promise<ClustersJson>
  // The state as last observed, without a new check.
  clusters(): Promise<ClustersJson>
  // Newest first, as GET /events.
  events(limit: number): Promise<EventJson[]>
  // The cluster applications are handed now (GET /connection); null while none is.
  connectionClusterId(): Promise<string | null>
  // Where applications connect, as of now (GET /active: a fresh check in direct mode);
  // while none is handed out, why: failing_over, activating or unknown.
  active(): Promise<ActiveJson | Unavailable>
  // Resolves once there is something new to look at: the next check, or a poll interval.
  next(): Promise<void>
  failover(input: FailoverInput): Promise<FailoverJson>
  createFailbackStream(): Promise<StreamCreatedJson>
  failbackStatus(maxLagSeconds: number): Promise<FailbackStatusJson>
  initiateFailback(input: Omit<FailoverInput, 'dry_run'>): Promise<FailoverJson>
  // Without timeout_seconds the sidecar's FAILBACK_TIMEOUT bounds the wait for the reverse stream.
  failbackFull(input: { max_lag_seconds: number; timeout_seconds?: number }): Promise<FailbackFullJson>
  // Without timeout_seconds the sidecar's SWITCHOVER_TIMEOUT bounds the fence and the wait.
  switchover(input: { timeout_seconds?: number; unfenced: boolean }): Promise<FailbackFullJson>
  disrupt(input: DisruptInput): Promise<SimulateJson>
  restore(clusterId: string): Promise<SimulateJson>
  disruptionStatus(): Promise<SimulateJson>
  setup(): Promise<StreamCreatedJson>
  operation(id: string): Promise<OperationJson>
  close(): Promise<void>
}
