import { z } from 'zod'
import { Cluster, ClusterNode, PhysicalReplicationStream } from '../cloud/schemas.js'
import type { Clock, EngineCloud } from '../engine/engine.js'
import type { Session } from './session.js'

// The Cloud API as the engine sees it in a fleet. The leader reads the real API
// and publishes what it read (answers and errors alike) as the view; followers
// answer their engine's reads from that view, so N sidecars cost the API what one
// does, and each follower still judges with its own SQL probe. A follower whose
// view is missing or older than the bound reads the API itself. Failover
// requests always go to the API.

// Each read carries when it was made, so views from several leaders merge by recency.
const read = <T extends z.ZodType>(value: T) =>
  z.union([
    z.object({ ok: z.literal(true), value, at: z.number() }),
    z.object({ ok: z.literal(false), error: z.string(), at: z.number() })
  ])

const ClusterReads = z.object({ cluster: read(Cluster).optional(), nodes: read(z.array(ClusterNode)).optional() })

export const View = z.object({
  leaderId: z.string(),
  publishedAt: z.number(),
  stream: read(PhysicalReplicationStream.nullable()).optional(),
  clusters: z.record(z.string(), ClusterReads)
})
export type View = z.infer<typeof View>
type Reads = Pick<View, 'stream' | 'clusters'>

type Read<T> = ({ ok: true; value: T } | { ok: false; error: string }) & { at: number }

export interface SharedCloud {
  cloud: EngineCloud
  // Whether the engine's reads are answered from the leader's view right now.
  fromView(): boolean
  view(): View | undefined
  // A view published by the leader (a follower's watch delivers them).
  receive(raw: string | undefined): View | undefined
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function answer<T>(r: Read<T>, what: string): T {
  if (r.ok) return r.value
  throw new Error(`the leader could not read ${what}: ${r.error}`)
}

function newer<T extends { at: number }>(a: T | undefined, b: T | undefined): T | undefined {
  if (a === undefined) return b
  return b === undefined || a.at >= b.at ? a : b
}

export function createSharedCloud(options: {
  real: EngineCloud
  session: Session
  viewKey: string
  sidecarId: string
  staleAfterMs: number
  clock: Clock
}): SharedCloud {
  const { real, session, clock } = options
  let received: View | undefined
  // Every read this sidecar made itself, leading or not: a new leader publishes
  // the newest of these and of the view it followed, so followers never see a hole.
  const own: Reads = { clusters: {} }
  let publishing = false
  let dirty = false

  function fromView(): boolean {
    return !session.state().isLeader && received !== undefined && clock.now() - received.publishedAt <= options.staleAfterMs
  }

  function merged(): View {
    const ids = new Set([...Object.keys(own.clusters), ...Object.keys(received?.clusters ?? {})])
    const clusters: View['clusters'] = {}
    for (const id of ids) {
      const [mine, theirs] = [own.clusters[id], received?.clusters[id]]
      clusters[id] = { cluster: newer(mine?.cluster, theirs?.cluster), nodes: newer(mine?.nodes, theirs?.nodes) }
    }
    return { leaderId: options.sidecarId, publishedAt: clock.now(), stream: newer(own.stream, received?.stream), clusters }
  }

  async function flush(): Promise<void> {
    if (publishing) return
    publishing = true
    while (dirty && session.state().isLeader) {
      dirty = false
      // A lost leadership or an unreachable etcd shows in the session; followers see the view age.
      await session.putIfLeader(options.viewKey, JSON.stringify(merged())).catch(() => false)
    }
    publishing = false
  }

  // A real read; what it gave (or why it failed) is kept, and published when leading.
  async function through<T>(call: () => Promise<T>, keep: (r: Read<T>) => void): Promise<T> {
    const note = (r: Read<T>) => {
      keep(r)
      dirty = true
      void flush()
    }
    try {
      const value = await call()
      note({ ok: true, value, at: clock.now() })
      return value
    } catch (err) {
      note({ ok: false, error: message(err), at: clock.now() })
      throw err
    }
  }

  function clusterReads(id: string) {
    const reads = own.clusters[id] ?? {}
    own.clusters[id] = reads
    return reads
  }

  const cloud: EngineCloud = {
    async discoverStream(primaryId, standbyId, call) {
      if (fromView() && received?.stream !== undefined) return answer(received.stream, 'the streams') ?? undefined
      return through(
        () => real.discoverStream(primaryId, standbyId, call),
        (r) => {
          own.stream = r.ok ? { ...r, value: r.value ?? null } : r
        }
      )
    },
    async getStream(id, call) {
      const known = received?.stream
      if (fromView() && known?.ok === true && known.value?.id === id) return known.value
      return through(
        () => real.getStream(id, call),
        (r) => {
          if (r.ok) own.stream = r
        }
      )
    },
    async getCluster(id, call) {
      const known = received?.clusters[id]?.cluster
      if (fromView() && known !== undefined) return answer(known, `cluster ${id}`)
      return through(
        () => real.getCluster(id, call),
        (r) => {
          clusterReads(id).cluster = r
        }
      )
    },
    async listNodes(id, call) {
      const known = received?.clusters[id]?.nodes
      if (fromView() && known !== undefined) return answer(known, `the nodes of ${id}`)
      return through(
        () => real.listNodes(id, call),
        (r) => {
          clusterReads(id).nodes = r
        }
      )
    },
    patchStream: (id, change, call) => real.patchStream(id, change, call)
  }

  return {
    cloud,
    fromView,
    view: () => received,
    receive(raw) {
      if (raw === undefined) return received
      try {
        const parsed = View.safeParse(JSON.parse(raw))
        if (parsed.success && (received === undefined || parsed.data.publishedAt >= received.publishedAt || parsed.data.leaderId !== received.leaderId)) {
          received = parsed.data
        }
      } catch {
        // A view this version cannot read is ignored; the follower reads the API once it ages.
      }
      return received
    }
  }
}
