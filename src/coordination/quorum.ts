import { z } from 'zod'

// What each sidecar saw of the watched cluster from where it runs, published
// under its lease: a sidecar that dies stops counting once its lease ends.
export const Observation = z.object({
  sidecarId: z.string(),
  clusterId: z.string(),
  verdict: z.enum(['healthy', 'unhealthy', 'unknown']),
  reason: z.string(),
  at: z.number()
})
export type Observation = z.infer<typeof Observation>

export interface QuorumResult {
  allowed: boolean
  agree: number
  live: number
  needed: number
  reason: string
}

export function parseObservations(values: string[]): Observation[] {
  return values.flatMap((v) => {
    try {
      const parsed = Observation.safeParse(JSON.parse(v))
      return parsed.success ? [parsed.data] : []
    } catch {
      return []
    }
  })
}

// A failover away from clusterId needs `needed` live observers that judge it
// unhealthy now. An observation older than maxAgeMs is a sidecar whose checks
// have stalled: it counts as live but never as agreeing.
export function decideQuorum(
  observations: Observation[],
  input: { clusterId: string; quorum: number | 'majority'; now: number; maxAgeMs: number }
): QuorumResult {
  const live = observations.length
  const agreeing = observations.filter(
    (o) => o.clusterId === input.clusterId && o.verdict === 'unhealthy' && input.now - o.at <= input.maxAgeMs
  )
  const agree = agreeing.length
  const needed = input.quorum === 'majority' ? Math.floor(live / 2) + 1 : input.quorum
  const allowed = agree >= needed
  const names = agreeing.map((o) => o.sidecarId).sort().join(', ')
  const reason = allowed
    ? `${agree} of ${live} observers see ${input.clusterId} down (${names}); ${needed} needed`
    : `only ${agree} of ${live} live observers see ${input.clusterId} down${agree > 0 ? ` (${names})` : ''}; ${needed} needed (QUORUM=${input.quorum})`
  return { allowed, agree, live, needed, reason }
}
