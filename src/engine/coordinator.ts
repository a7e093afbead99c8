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
  mayAct(action: Action, context: { streamId: string; trigger: string }): Promise<Decision>
}

export function createLocalCoordinator(): Coordinator {
  return {
    name: 'local',
    async mayAct() {
      return { allowed: true }
    }
  }
}
