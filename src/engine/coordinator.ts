// The one place a decision to act (fail over, fail back) is asked for. The
// single-process coordinator always allows it; a distributed one (etcd) plugs in
// here without touching the engine.

export type Action = 'failover' | 'failback'

export interface Decision {
  allowed: boolean
  reason?: string
}

export interface Coordinator {
  readonly name: string
  // fromClusterId: the cluster the action moves away from (the one judged down).
  mayAct(action: Action, context: { streamId: string; trigger: string; fromClusterId: string }): Promise<Decision>
  // Another process that decides in this one's place (the fleet's leader): an
  // automatic failover is then not attempted here, nor reported as blocked.
  deferTo?(): string | undefined
}

export function createLocalCoordinator(): Coordinator {
  return {
    name: 'local',
    async mayAct() {
      return { allowed: true }
    }
  }
}
