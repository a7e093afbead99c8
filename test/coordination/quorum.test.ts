import t from 'tap'
import { decideQuorum, parseObservations, type Observation } from '../../src/coordination/quorum.js'

const PRIMARY = 'c0ffee00-0000-4000-8000-000000000001'
const now = 1_000_000
const seen = (sidecarId: string, verdict: Observation['verdict'], ageMs = 0, clusterId = PRIMARY): Observation => ({
  sidecarId,
  clusterId,
  verdict,
  reason: `${verdict} from ${sidecarId}`,
  at: now - ageMs
})
const decide = (observations: Observation[], quorum: number | 'majority' = 'majority') =>
  decideQuorum(observations, { clusterId: PRIMARY, quorum, now, maxAgeMs: 1000 })

t.test('a majority of live observers must see the cluster down', async (t) => {
  t.match(decide([seen('a', 'unhealthy'), seen('b', 'unhealthy'), seen('c', 'healthy')]), { allowed: true, agree: 2, live: 3, needed: 2 })
  const alone = decide([seen('a', 'unhealthy'), seen('b', 'healthy'), seen('c', 'healthy')])
  t.match(alone, { allowed: false, agree: 1, live: 3, needed: 2 })
  t.equal(alone.reason, `only 1 of 3 live observers see ${PRIMARY} down (a); 2 needed (QUORUM=majority)`)
  t.match(decide([seen('a', 'unhealthy'), seen('b', 'unhealthy'), seen('c', 'healthy'), seen('d', 'unknown')]), { allowed: false, needed: 3 }, 'half is not a majority')
  t.match(decide([seen('a', 'unhealthy')]), { allowed: true, needed: 1 }, 'a lone survivor decides on its own view')
  t.match(decide([]), { allowed: false, live: 0, needed: 1 }, 'no observer, no failover')
  t.equal(decide([]).reason, `only 0 of 0 live observers see ${PRIMARY} down; 1 needed (QUORUM=majority)`)
})

t.test('a fixed QUORUM is a count of agreeing observers', async (t) => {
  t.match(decide([seen('a', 'unhealthy'), seen('b', 'unhealthy')], 3), { allowed: false, needed: 3 })
  t.match(decide([seen('a', 'unhealthy'), seen('b', 'unhealthy'), seen('c', 'unhealthy'), seen('d', 'healthy')], 3), { allowed: true })
})

t.test('stale observations and other clusters never agree', async (t) => {
  const r = decide([seen('a', 'unhealthy'), seen('b', 'unhealthy', 5000), seen('c', 'unhealthy', 0, 'another-cluster')])
  t.match(r, { allowed: false, agree: 1, live: 3 }, 'a stalled sidecar counts as live but not as agreeing')
  t.equal(decide([seen('b', 'unhealthy'), seen('a', 'unhealthy')]).reason, `2 of 2 observers see ${PRIMARY} down (a, b); 2 needed`)
})

t.test('unreadable observations are dropped, not fatal', async (t) => {
  const good = seen('a', 'unhealthy')
  t.same(parseObservations([JSON.stringify(good), 'not json', JSON.stringify({ sidecarId: 'b', verdict: 'down' }), '{}']), [good])
})
