import type { OperatorDeps } from '../../src/engine/operator.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'

// The operator's settings as the defaults have them, for tests that set only what they are about.
export function operatorSettings(timeline: Partial<OperatorDeps['settings']['timeline']> = {}, pooled?: boolean): OperatorDeps['settings'] {
  return {
    pair: { primaryClusterId: PRIMARY, standbyClusterId: STANDBY },
    timeline: {
      intervalSeconds: 30,
      checkTimeoutSeconds: 10,
      failoverTimeoutSeconds: 900,
      activationTimeoutSeconds: 60,
      failbackTimeoutSeconds: 6 * 3600,
      failbackProgressIntervalSeconds: 300,
      switchoverTimeoutSeconds: 30,
      switchoverDrainSeconds: 0,
      ...timeline
    },
    ...(pooled === undefined ? {} : { pooled })
  }
}
