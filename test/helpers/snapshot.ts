import type { Snapshot } from '../../src/engine/snapshot.js'

// A snapshot of a quiet pair, for tests that set only what they are about.
export function snapshotOf(parts: Partial<Snapshot> & Pick<Snapshot, 'phase' | 'activeClusterId' | 'watchedClusterId'>): Snapshot {
  return {
    failoverTargetId: null,
    clusters: [],
    stream: null,
    consecutiveFailures: 0,
    threshold: 3,
    delayEndsAt: null,
    blockedReason: null,
    paused: false,
    autoFailover: true,
    lastCheckAt: null,
    monitorStartedAt: null,
    lastHealthyAt: null,
    estimatedDataLossSeconds: null,
    dataLoss: null,
    stale: null,
    failover: null,
    checks: 0,
    pooler: null,
    fence: null,
    ...parts
  }
}
