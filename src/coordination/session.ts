import { randomUUID } from 'node:crypto'
import type { Etcd3, Lease, Watcher } from 'etcd3'
import type { Clock } from '../engine/engine.js'

// This sidecar's membership in the fleet: one lease that dies with the process,
// a leader key held on that lease (the first to create it leads until its lease
// ends), and writes that succeed only while the leadership is still ours.

export interface LeaderInfo {
  id: string
  url: string | null
}

export interface SessionState {
  // etcd answered within the last lease TTL.
  connected: boolean
  leader: LeaderInfo | null
  isLeader: boolean
}

export interface Session {
  // Resolves once the first round with etcd has ended, reached or not.
  start(): Promise<void>
  stop(): Promise<void>
  state(): SessionState
  onChange(listener: (state: SessionState, before: SessionState) => void): void
  // One transaction: the write happens only if the leader key is still ours.
  putIfLeader(key: string, value: string, guard?: Guard): Promise<boolean>
  // A key that disappears when this sidecar's lease ends.
  putLeased(key: string, value: string): Promise<void>
  get(key: string): Promise<{ value: string; modRevision: string } | undefined>
  getPrefix(prefix: string): Promise<string[]>
  // onLost: etcd ended the watch (a compaction, revoked rights); it must be made again.
  watch(key: string, onValue: (value: string | undefined) => void, onLost: () => void): Promise<() => Promise<void>>
}

// An extra condition on putIfLeader: the key is absent, or unchanged since it was read.
export type Guard = { key: string; modRevision: string | null }

export interface SessionOptions {
  client: Etcd3
  prefix: string
  sidecarId: string
  sidecarUrl?: string
  ttlSeconds: number
  clock: Clock
}

const disconnected: SessionState = { connected: false, leader: null, isLeader: false }

export function createSession(options: SessionOptions): Session {
  const { client, clock } = options
  const ttlMs = options.ttlSeconds * 1000
  const leaderKey = `${options.prefix}leader`
  // The instance makes the token unique: a restarted sidecar with the same id is another holder.
  const token = JSON.stringify({ id: options.sidecarId, url: options.sidecarUrl ?? null, instance: randomUUID() })
  const listeners: Array<(state: SessionState, before: SessionState) => void> = []
  let lease: Lease | undefined
  let leaseId: string | undefined
  let leaderWatch: Watcher | undefined
  let lastContact: number | undefined
  let leaderValue: string | undefined
  let current: SessionState = disconnected
  let running = false
  let timer: unknown
  let inFlight: Promise<void> | undefined

  function parseLeader(value: string | undefined): LeaderInfo | null {
    if (value === undefined) return null
    try {
      const parsed = JSON.parse(value) as { id?: unknown; url?: unknown }
      return { id: String(parsed.id), url: typeof parsed.url === 'string' ? parsed.url : null }
    } catch {
      return { id: value, url: null }
    }
  }

  function update(): void {
    const connected = lastContact !== undefined && clock.now() - lastContact < ttlMs
    const next: SessionState = connected
      ? { connected, leader: parseLeader(leaderValue), isLeader: leaderValue === token }
      : disconnected
    const before = current
    current = next
    if (before.connected !== next.connected || before.isLeader !== next.isLeader || before.leader?.id !== next.leader?.id) {
      for (const listener of listeners) listener(next, before)
    }
  }

  async function ensureLease(): Promise<string> {
    if (lease !== undefined && leaseId !== undefined) return leaseId
    const fresh = client.lease(options.ttlSeconds, { autoKeepAlive: true })
    fresh.on('lost', () => {
      if (lease !== fresh) return
      lease = undefined
      leaseId = undefined
      leaderValue = undefined
      update()
      reschedule(0)
    })
    // A lease that cannot be granted reports itself lost too; that handler is not ours to run twice.
    lease = fresh
    try {
      leaseId = await fresh.grant()
    } catch (err) {
      lease = undefined
      throw err
    }
    return leaseId
  }

  // Becomes leader if no one is, learns who is otherwise.
  async function tend(): Promise<void> {
    try {
      const id = await ensureLease()
      const result = await client
        .if(leaderKey, 'Create', '==', 0)
        .then(client.put(leaderKey).value(token).lease(id))
        .else(client.get(leaderKey))
        .commit()
      leaderValue = result.succeeded ? token : result.responses[0]?.response_range?.kvs[0]?.value.toString()
      lastContact = clock.now()
      if (leaderWatch === undefined) {
        leaderWatch = await client.watch().key(leaderKey).create()
        // An error event nobody listens to would end the process.
        leaderWatch.on('error', () => {
          leaderWatch = undefined
          reschedule(0)
        })
        leaderWatch.on('delete', () => {
          leaderValue = undefined
          update()
          reschedule(0)
        })
        leaderWatch.on('put', (kv) => {
          leaderValue = kv.value.toString()
          update()
        })
      }
    } catch {
      // Unreachable etcd: the state turns disconnected once the last contact is a TTL old.
    }
    update()
  }

  function reschedule(ms: number): void {
    if (!running || inFlight !== undefined) return
    clock.clearTimeout(timer)
    timer = clock.setTimeout(run, ms)
  }

  function run(): Promise<void> {
    timer = undefined
    const round = tend().then(() => {
      inFlight = undefined
      // A third of the TTL: two missed rounds still leave time before the lease ends.
      if (running) timer = clock.setTimeout(run, ttlMs / 3)
    })
    inFlight = round
    return round
  }

  return {
    async start() {
      if (running) return
      running = true
      await run()
    },
    async stop() {
      running = false
      clock.clearTimeout(timer)
      await inFlight
      await leaderWatch?.cancel().catch(() => undefined)
      // Revoking ends the leadership at once instead of a TTL later.
      await lease?.revoke().catch(() => undefined)
      lease = undefined
      lastContact = undefined
      update()
    },
    state: () => {
      update()
      return current
    },
    onChange(listener) {
      listeners.push(listener)
    },
    async putIfLeader(key, value, guard) {
      let txn = client.if(leaderKey, 'Value', '==', token)
      if (guard !== undefined) {
        txn = guard.modRevision === null ? txn.and(guard.key, 'Create', '==', 0) : txn.and(guard.key, 'Mod', '==', guard.modRevision)
      }
      const result = await txn.then(client.put(key).value(value)).commit()
      lastContact = clock.now()
      return result.succeeded
    },
    async putLeased(key, value) {
      const id = await ensureLease()
      await client.put(key).value(value).lease(id)
      lastContact = clock.now()
    },
    async get(key) {
      const response = await client.get(key).exec()
      lastContact = clock.now()
      const kv = response.kvs[0]
      return kv === undefined ? undefined : { value: kv.value.toString(), modRevision: kv.mod_revision }
    },
    async getPrefix(prefix) {
      const values = await client.getAll().prefix(prefix).strings()
      lastContact = clock.now()
      return Object.values(values)
    },
    async watch(key, onValue, onLost) {
      const watcher = await client.watch().key(key).create()
      watcher.on('put', (kv) => onValue(kv.value.toString()))
      watcher.on('delete', () => onValue(undefined))
      watcher.on('error', onLost)
      return () => watcher.cancel()
    }
  }
}
