import t from 'tap'
import type { Stream, StreamStatus } from '../../src/cloud/schemas.js'
import { newestFirst } from '../../src/cloud/stream-time.js'
import { deriveTopology } from '../../src/engine/topology.js'

const A = 'aaaaaaaa-0000-4000-8000-000000000001'
const B = 'bbbbbbbb-0000-4000-8000-000000000002'
const C = 'cccccccc-0000-4000-8000-000000000003'
const pair = { primaryClusterId: A, standbyClusterId: B }

let n = 0
function stream(primary: string, standby: string, status: StreamStatus, createdAt: string, id?: string): Stream {
  n += 1
  return {
    id: id ?? `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    primary_cluster_id: primary,
    standby_cluster_id: standby,
    status,
    created_at: createdAt
  }
}

t.test('no stream: the configured primary is active and watched, nothing to fail over to', async (t) => {
  t.same(deriveTopology([], pair), {
    activeClusterId: A,
    watchedClusterId: A,
    failoverTargetId: undefined,
    stream: undefined
  })
})

t.test('each status of a single stream A→B', async (t) => {
  const expected: Record<StreamStatus, [string | undefined, string, string | undefined]> = {
    STARTING: [A, A, B],
    REPLICATING: [A, A, B],
    CANCELED: [A, A, undefined],
    FAILING_OVER: [undefined, A, B],
    COMPLETED: [B, B, undefined]
  }
  for (const [status, [active, watched, target]] of Object.entries(expected)) {
    const s = stream(A, B, status as StreamStatus, '2026-01-01T00:00:00Z')
    const topo = deriveTopology([s], pair)
    t.equal(topo.activeClusterId, active, `${status}: active`)
    t.equal(topo.watchedClusterId, watched, `${status}: watched`)
    t.equal(topo.failoverTargetId, target, `${status}: failover target`)
    t.equal(topo.stream, s, `${status}: the stream`)
  }
})

t.test('the newest stream decides, in either direction (failback)', async (t) => {
  const first = stream(A, B, 'COMPLETED', '2026-01-01T00:00:00Z')
  const reverse = stream(B, A, 'REPLICATING', '2026-01-02T00:00:00Z')
  t.match(deriveTopology([first, reverse], pair), { activeClusterId: B, watchedClusterId: B, failoverTargetId: A })
  t.match(deriveTopology([reverse, first], pair), { activeClusterId: B, watchedClusterId: B }, 'order of input does not matter')
  const reverseDone = { ...reverse, status: 'COMPLETED' as const }
  t.match(deriveTopology([first, reverseDone], pair), { activeClusterId: A, watchedClusterId: A, failoverTargetId: undefined }, 'failed back')
  const reverseFailing = { ...reverse, status: 'FAILING_OVER' as const }
  t.match(deriveTopology([first, reverseFailing], pair), { activeClusterId: undefined, watchedClusterId: B, failoverTargetId: A })
  const canceled = { ...reverse, status: 'CANCELED' as const }
  t.match(deriveTopology([first, canceled], pair), { activeClusterId: B, failoverTargetId: undefined }, 'a canceled failback leaves B active')
})

t.test('streams involving other clusters are ignored', async (t) => {
  const mine = stream(A, B, 'REPLICATING', '2026-01-01T00:00:00Z')
  const foreign = stream(A, C, 'COMPLETED', '2026-02-01T00:00:00Z')
  const foreign2 = stream(C, B, 'FAILING_OVER', '2026-03-01T00:00:00Z')
  const self = stream(A, A, 'COMPLETED', '2026-04-01T00:00:00Z')
  t.equal(deriveTopology([foreign, mine, foreign2, self], pair).stream, mine)
})

t.test('equal creation times are ordered by id, the same for every sidecar', async (t) => {
  const x = stream(A, B, 'COMPLETED', '2026-01-01T00:00:00Z', '00000000-0000-4000-8000-00000000000a')
  const y = stream(B, A, 'REPLICATING', '2026-01-01T00:00:00Z', '00000000-0000-4000-8000-00000000000b')
  t.equal(deriveTopology([x, y], pair).stream, y)
  t.equal(deriveTopology([y, x], pair).stream, y)
  t.equal(newestFirst(x, x), 0)
  t.ok(newestFirst(x, y) > 0)
  t.ok(newestFirst(y, x) < 0)
})

t.test('timestamps with offsets and fractions are compared as instants', async (t) => {
  const older = stream(A, B, 'COMPLETED', '2026-01-01T01:00:00.999+01:00')
  const newer = stream(B, A, 'STARTING', '2026-01-01T00:00:01Z')
  t.equal(deriveTopology([newer, older], pair).stream, newer)
})
