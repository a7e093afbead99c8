import type { StreamChange } from '../../cloud/client.js'
import type { Cluster, Stream } from '../../cloud/schemas.js'
import type { Decision } from '../coordinator.js'
import type { EventInput } from '../events.js'
import type { PersistedState } from '../state-file.js'
import type { StreamView } from '../snapshot.js'
import type { TimelineState } from '../timeline.js'
import type { Pair, Topology } from '../topology.js'
import type { EvidenceMode, Judgement, Observation } from '../verdict.js'

// The decision core's vocabulary: what it remembers (CoreState), what it is told
// (Input) and what it asks the shell to do (Action). No I/O, no timers, no clock:
// time comes in with each input.

export interface CorePolicy {
  pair: Pair
  threshold: number
  intervalMs: number
  // After a failed check, until a healthy one: SUSPECT_CHECK_INTERVAL (at most intervalMs).
  suspectIntervalMs: number
  delayMs: number
  timeoutMs: number
  autoFailover: boolean
  maxDataLossSeconds?: number
  // FAILOVER_AT_TIMESTAMP, unless FAILOVER_TO_LATEST wins.
  configuredFailoverAt?: string
  configuredStreamId?: string
  failoverTimeoutMs: number
  activationTimeoutMs: number
  stateMaxAgeMs: number
  evidence: EvidenceMode
  // Clusters with a SQL probe.
  probed: readonly string[]
  // PRIMARY_SQL_DNS / STANDBY_SQL_DNS and their ports, by cluster id.
  sql: Record<string, { dns?: string; port?: number }>
}

export interface FailoverRequest {
  trigger: 'auto' | 'manual'
  requestedBy: string
  failoverAt?: string
  allowDataLoss?: boolean
  dryRun?: boolean
}

export type BlockCode =
  | 'in_progress'
  | 'no_stream'
  | 'stream_not_replicating'
  | 'initial_scan'
  | 'standby_unusable'
  | 'data_loss'
  | 'data_loss_unknown'
  | 'auto_disabled'
  | 'paused'
  | 'coordinator'
  | 'already_patched'
  | 'retry_later'
  | 'api_unavailable'
  | 'failover_at_out_of_range'

export interface DataLossRange {
  lowerSeconds: number
  upperSeconds: number
}

export interface FailoverPlan {
  streamId: string
  fromClusterId: string
  toClusterId: string
  failoverAt: string | null
  // The upper bound of the range: what the guard compares.
  estimatedDataLossSeconds: number | null
  dataLoss: DataLossRange | null
}

export type FailoverResult =
  | { outcome: 'started' | 'adopted'; plan: FailoverPlan; stream: StreamView }
  | { outcome: 'dry_run'; plan: FailoverPlan }
  | { outcome: 'blocked'; code: BlockCode; reason: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'refused'; reason: string }

export type Reading<T> = { ok: true; value: T } | { ok: false; error: string }

export interface ClusterRecord {
  cluster?: Cluster
  judgement: Judgement
  checkedAt?: number
}

export interface FailoverRecord {
  streamId: string
  trigger: 'auto' | 'manual' | 'adopted'
  requestedBy: string
  startedAt: number
  failoverAt?: string
  completedAt?: number
  timedOut: boolean
}

// After COMPLETED, the new primary's SQL probe must answer (or ACTIVATION_TIMEOUT pass)
// before applications are sent there.
export interface ActivationRecord {
  streamId: string
  clusterId: string
  since: number
  lastError?: string
  settled?: 'answered' | 'timed_out' | 'no_probe'
}

// One PATCH per stream that may have taken effect. `sending` is written down before the
// PATCH goes out; `refused` means the API certainly did not apply it.
export interface PatchRecord {
  streamId: string
  state: 'sending' | 'asked' | 'refused'
  at: number
  retryAt?: number
}

export interface Served {
  clusterId: string
  sqlDns: string
  sqlPort: number
}

export interface CheckInProgress {
  startedAt: number
  // An operator's read: it refreshes what is shown, and never counts.
  look: boolean
}

export interface AttemptInProgress {
  request: FailoverRequest
  // What has been read for the gates so far.
  facts: { stream?: Stream; standby?: { judgement: Judgement; cluster?: Cluster }; coordinator?: Decision | { error: string } }
  plan?: FailoverPlan
}

export interface CoreState {
  started: boolean
  monitorStartedAt?: number
  checks: number
  lastCheckAt?: number
  nextCheckAt?: number
  // A PATCH just went through: the check after this one follows it at once.
  pollSoon?: boolean
  check?: CheckInProgress
  attempt?: AttemptInProgress
  // Topology of the newest stream seen; undefined until the streams were first read.
  topology?: Topology
  // The newest stream seen before this process started (STATE_FILE), until the API is read.
  remembered?: Stream
  // The listing lacked the newest stream seen, and it could not be read by id.
  unconfirmed?: string
  clusters: Record<string, ClusterRecord>
  timeline: TimelineState
  lastHealthyAt?: number
  // The first and the latest check that saw the watched cluster unhealthy since it was last healthy.
  firstUnhealthyAt?: number
  lastUnhealthyAt?: number
  replicated?: { streamId: string; at: number }
  paused?: { by: string }
  blocked?: { code: BlockCode; reason: string }
  deferredTo?: string
  failover?: FailoverRecord
  activation?: ActivationRecord
  patch?: PatchRecord
  // Where applications were last sent, and before that.
  target?: Served
  previousId?: string
  // The active cluster read from STATE_FILE at start, served until the API is read.
  restored?: { served: Served; savedAt: number }
  persistedKey?: string
}

export type PatchOutcome =
  | { kind: 'applied'; stream: Stream; confirmedBy: 'answer' | 'read_back' }
  | { kind: 'adopted'; stream: Stream }
  | { kind: 'refused'; error: string; retryAt?: number }
  | { kind: 'unclear'; error: string }

export interface ObservedCluster {
  clusterId: string
  observation: Observation
  startedAt: number
}

export type Input =
  | { kind: 'start'; persisted?: PersistedState; rejected?: string }
  | { kind: 'stop' }
  | { kind: 'tick'; look?: boolean }
  | { kind: 'listed'; reading: Reading<Stream | undefined> }
  | { kind: 'confirmed'; streamId: string; reading: Reading<Stream> }
  | { kind: 'observed'; watched: ObservedCluster; other?: ObservedCluster; leader?: string }
  | { kind: 'request'; request: FailoverRequest }
  | { kind: 'fresh'; reading: Reading<Stream> }
  | { kind: 'standby'; observed: ObservedCluster }
  | { kind: 'coordinated'; decision: Decision | { error: string } }
  | { kind: 'patched'; outcome: PatchOutcome }
  | { kind: 'pause'; by: string }
  | { kind: 'resume'; by: string }

export type Action =
  | { type: 'emit'; event: EventInput }
  | { type: 'persist'; state: PersistedState }
  | { type: 'list' }
  | { type: 'confirm'; streamId: string }
  | { type: 'observe'; watched: string; probeWatched: boolean; other?: string; probeOther?: boolean }
  | { type: 'fresh'; streamId: string }
  | { type: 'standby'; clusterId: string }
  | { type: 'coordinate'; streamId: string; trigger: string; fromClusterId: string }
  | { type: 'patch'; streamId: string; change: StreamChange }
  | { type: 'result'; result: FailoverResult | { outcome: 'toggled'; changed: boolean } }
  | { type: 'checked'; clusterId: string; judgement: Judgement; durationMs: number }
