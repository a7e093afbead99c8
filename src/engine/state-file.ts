import { randomUUID } from 'node:crypto'
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'
import { streamStatuses } from '../cloud/schemas.js'
import type { Pair } from './topology.js'

// What a sidecar remembers across its own restarts (STATE_FILE): where applications
// were sent, so it can keep serving that while the Cloud API is unreadable, and the
// failover request it made, so it never sends a second PATCH for a stream.

const VERSION = 1

const id = z.string().min(1)
const timestamp = z.iso.datetime({ offset: true })

const patchStates = ['sending', 'asked', 'refused'] as const

// Strict objects throughout: a file another tool wrote must be refused, not half-read.
export const PersistedState = z.strictObject({
  version: z.literal(VERSION),
  primaryClusterId: id,
  standbyClusterId: id,
  savedAt: timestamp,
  // Where applications were sent; null while no cluster was handed out.
  active: z
    .strictObject({
      clusterId: id,
      sqlDns: z.string().min(1),
      sqlPort: z.number().int().min(1).max(65535)
    })
    .nullable(),
  watchedClusterId: id,
  // The newest stream seen between the two clusters.
  stream: z
    .strictObject({
      id,
      status: z.enum(streamStatuses),
      primaryClusterId: id,
      standbyClusterId: id,
      createdAt: timestamp
    })
    .nullable(),
  // `sending` is written before the PATCH goes out: found at start, that request may
  // have reached the API, so it is not sent again.
  patch: z
    .strictObject({
      streamId: id,
      state: z.enum(patchStates),
      at: timestamp,
      retryAt: timestamp.nullable()
    })
    .nullable()
})
export type PersistedState = z.infer<typeof PersistedState>

export interface StateStoreOptions {
  path: string
  pair: Pair
}

export type LoadResult = { kind: 'absent' } | { kind: 'loaded'; state: PersistedState } | { kind: 'rejected'; problem: string }

export type SaveResult = { ok: true } | { ok: false; error: string }

export interface StateStore {
  path: string
  load(): LoadResult
  save(state: PersistedState): SaveResult
}

// Problems name fields and error codes only: never a value read from the file.
const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'unknown error'

// A field name from the file is shown only when it is plainly one.
const fieldName = (key: PropertyKey) => (typeof key === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(key) ? key : '?')

function schemaProblem(error: z.ZodError): string {
  const fields = error.issues.flatMap((issue) => {
    const at = issue.path.map(fieldName)
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${[...at, fieldName(key)].join('.')} (unknown)`)
    return [at.length === 0 ? '(the whole file)' : at.join('.')]
  })
  return `schema mismatch: ${[...new Set(fields)].join(', ')}`
}

// A state written for this pair, in either order (a failback swaps the roles), and
// naming no cluster outside it.
function pairProblem(state: PersistedState, pair: Pair): string | undefined {
  const ours = new Set([pair.primaryClusterId, pair.standbyClusterId].map((c) => c.toLowerCase()))
  const inPair = (clusterId: string) => ours.has(clusterId.toLowerCase())
  if (state.primaryClusterId.toLowerCase() === state.standbyClusterId.toLowerCase() || !inPair(state.primaryClusterId) || !inPair(state.standbyClusterId)) {
    return 'foreign: written for another pair of clusters'
  }
  const named: Array<[string, string | undefined]> = [
    ['active.clusterId', state.active?.clusterId],
    ['watchedClusterId', state.watchedClusterId],
    ['stream.primaryClusterId', state.stream?.primaryClusterId],
    ['stream.standbyClusterId', state.stream?.standbyClusterId]
  ]
  const outside = named.find(([, clusterId]) => clusterId !== undefined && !inPair(clusterId))
  return outside === undefined ? undefined : `foreign: ${outside[0]} is not a cluster of this pair`
}

function check(value: unknown, pair: Pair): { state: PersistedState } | { problem: string } {
  const version = typeof value === 'object' && value !== null && 'version' in value ? value.version : VERSION
  if (version !== VERSION) return { problem: `another version (this sidecar reads version ${VERSION})` }
  const parsed = PersistedState.safeParse(value)
  if (!parsed.success) return { problem: schemaProblem(parsed.error) }
  const problem = pairProblem(parsed.data, pair)
  return problem === undefined ? { state: parsed.data } : { problem }
}

// The rename is durable only once the directory is synced. Some platforms cannot open
// a directory (Windows) or sync one (some file systems): the file itself is synced.
function syncDirectory(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return
  }
  try {
    fsyncSync(fd)
  } catch (err) {
    if (!['EINVAL', 'ENOTSUP', 'EISDIR'].includes(errorCode(err))) throw err
  } finally {
    closeSync(fd)
  }
}

export function createStateStore(options: StateStoreOptions): StateStore {
  const { path, pair } = options

  function load(): LoadResult {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      return errorCode(err) === 'ENOENT' ? { kind: 'absent' } : { kind: 'rejected', problem: `unreadable (${errorCode(err)})` }
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      // JSON.parse's message quotes the text: not repeated.
      return { kind: 'rejected', problem: 'not JSON' }
    }
    const checked = check(value, pair)
    return 'state' in checked ? { kind: 'loaded', state: checked.state } : { kind: 'rejected', problem: checked.problem }
  }

  // Synchronous, so the record is on disk before the caller's next step (a PATCH).
  function save(state: PersistedState): SaveResult {
    const checked = check(state, pair)
    if ('problem' in checked) return { ok: false, error: `not saved, it would be rejected: ${checked.problem}` }
    // Same directory, so the rename never crosses file systems.
    const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`)
    let fd: number
    try {
      fd = openSync(temp, 'wx', 0o600)
    } catch (err) {
      return { ok: false, error: `cannot create a temporary file in its directory (${errorCode(err)})` }
    }
    try {
      try {
        writeFileSync(fd, `${JSON.stringify(checked.state, null, 2)}\n`, 'utf8')
        // On disk before the rename, so a crash never leaves an empty file under the name.
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temp, path)
    } catch (err) {
      rmSync(temp, { force: true })
      return { ok: false, error: `cannot write the new content (${errorCode(err)})` }
    }
    try {
      syncDirectory(dirname(path))
    } catch (err) {
      return { ok: false, error: `written, but its directory could not be synced (${errorCode(err)})` }
    }
    return { ok: true }
  }

  return { path, load, save }
}
