import t, { type Test } from 'tap'
import * as fs from 'node:fs'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStateStore, PersistedState } from '../../src/engine/state-file.js'

const A = 'aaaaaaaa-0000-4000-8000-000000000001'
const B = 'bbbbbbbb-0000-4000-8000-000000000002'
const C = 'cccccccc-0000-4000-8000-000000000003'
const pair = { primaryClusterId: A, standbyClusterId: B }

const state: PersistedState = {
  version: 1,
  primaryClusterId: A,
  standbyClusterId: B,
  savedAt: '2026-03-01T12:00:00.000Z',
  active: { clusterId: A, sqlDns: 'primary.example.cockroachlabs.cloud', sqlPort: 26257 },
  watchedClusterId: A,
  stream: { id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', status: 'REPLICATING', primaryClusterId: A, standbyClusterId: B, createdAt: '2026-03-01T10:00:00Z' },
  patch: { streamId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', state: 'sending', at: '2026-03-01T12:00:00.000Z', retryAt: null }
}

function storeIn(dir = mkdtempSync(join(tmpdir(), 'pcr-state-'))) {
  return { dir, store: createStateStore({ path: join(dir, 'state.json'), pair }) }
}

// Writes a file by hand and loads it.
function loadText(text: string, options: { pair?: typeof pair } = {}) {
  const { dir } = storeIn()
  writeFileSync(join(dir, 'state.json'), text)
  return createStateStore({ path: join(dir, 'state.json'), pair: options.pair ?? pair }).load()
}
const loadValue = (value: unknown) => loadText(JSON.stringify(value))

t.test('a saved state loads back as it was, from a private file', async (t) => {
  const { dir, store } = storeIn()
  t.equal(store.path, join(dir, 'state.json'))
  t.same(store.save(state), { ok: true })
  t.same(store.load(), { kind: 'loaded', state })
  t.same(readdirSync(dir), ['state.json'], 'no temporary file left')
  t.equal(statSync(store.path).mode & 0o777, 0o600, "readable by the sidecar's user alone")
  t.same(JSON.parse(readFileSync(store.path, 'utf8')), state, 'plain JSON an operator can read')
  const nothing = { ...state, active: null, stream: null, patch: null }
  t.same(store.save(nothing), { ok: true })
  t.same(store.load(), { kind: 'loaded', state: nothing }, 'nothing known yet is a state too')
})

t.test('a save replaces the file whole: the old content or the new one, never a mix', async (t) => {
  const { dir, store } = storeIn()
  t.same(store.save(state), { ok: true })
  const next: PersistedState = { ...state, savedAt: '2026-03-01T12:05:00.000Z', active: null, stream: { ...state.stream!, status: 'FAILING_OVER' }, patch: { ...state.patch!, state: 'asked' } }
  t.same(store.save(next), { ok: true })
  t.same(store.load(), { kind: 'loaded', state: next }, 'the new content')
  t.same(readdirSync(dir), ['state.json'], 'no temporary file left')
  t.same(store.save({ ...next, savedAt: 'yesterday' }), { ok: false, error: 'not saved, it would be rejected: schema mismatch: savedAt' })
  t.same(store.save({ ...next, active: { clusterId: C, sqlDns: 'x', sqlPort: 26257 } }), {
    ok: false,
    error: 'not saved, it would be rejected: foreign: active.clusterId is not a cluster of this pair'
  })
  t.same(store.load(), { kind: 'loaded', state: next }, 'a refused save leaves the file as it was')
})

t.test('no file: absent', async (t) => {
  t.same(storeIn().store.load(), { kind: 'absent' })
})

t.test('a file that cannot be read is rejected, with the reason', async (t) => {
  const { dir } = storeIn()
  mkdirSync(join(dir, 'state.json'))
  t.same(createStateStore({ path: join(dir, 'state.json'), pair }).load(), { kind: 'rejected', problem: 'unreadable (EISDIR)' })
  writeFileSync(join(dir, 'file'), '')
  t.same(createStateStore({ path: join(dir, 'file', 'state.json'), pair }).load(), { kind: 'rejected', problem: 'unreadable (ENOTDIR)' })
})

t.test('a file that is not JSON is rejected, its text not repeated', async (t) => {
  for (const text of ['', '{"version": 1, "primaryClusterId": "secret-looking-value"', 'version=1\n', '\u0000\u0001']) {
    t.same(loadText(text), { kind: 'rejected', problem: 'not JSON' }, JSON.stringify(text))
  }
})

t.test('JSON of another shape is rejected, naming the fields and no value', async (t) => {
  const cases: Array<[unknown, string]> = [
    [null, 'schema mismatch: (the whole file)'],
    [[state], 'schema mismatch: (the whole file)'],
    ['state', 'schema mismatch: (the whole file)'],
    [{}, 'schema mismatch: version, primaryClusterId, standbyClusterId, savedAt, active, watchedClusterId, stream, patch'],
    [{ ...state, savedAt: 'not-a-time', watchedClusterId: '' }, 'schema mismatch: savedAt, watchedClusterId'],
    [{ ...state, active: { ...state.active, sqlPort: 0 } }, 'schema mismatch: active.sqlPort'],
    [{ ...state, active: { ...state.active, sqlPort: 26257.5 } }, 'schema mismatch: active.sqlPort'],
    [{ ...state, active: { ...state.active, sqlPort: 65536 } }, 'schema mismatch: active.sqlPort'],
    [{ ...state, stream: { ...state.stream, status: 'PAUSED' } }, 'schema mismatch: stream.status'],
    [{ ...state, patch: { ...state.patch, state: 'sent', retryAt: 'later' } }, 'schema mismatch: patch.state, patch.retryAt'],
    [{ ...state, patch: undefined }, 'schema mismatch: patch'],
    [{ ...state, token: 'hunter2-secret-value' }, 'schema mismatch: token (unknown)'],
    [{ ...state, active: { ...state.active, password: 'hunter2' } }, 'schema mismatch: active.password (unknown)'],
    [{ ...state, 'a key with spaces': 1, ['x'.repeat(65)]: 2 }, 'schema mismatch: ? (unknown)']
  ]
  for (const [value, problem] of cases) {
    const result = loadValue(value)
    t.same(result, { kind: 'rejected', problem }, problem)
    t.notMatch(JSON.stringify(result), /hunter2|not-a-time|PAUSED|later/, 'no value of the file')
  }
})

t.test('a file of another version is rejected as such', async (t) => {
  for (const version of [2, 0, '1', null]) {
    t.same(loadValue({ ...state, version }), { kind: 'rejected', problem: 'another version (this sidecar reads version 1)' }, String(version))
  }
})

t.test('a file of another pair is foreign; ours is recognised in either order', async (t) => {
  const swapped = { ...state, primaryClusterId: B, standbyClusterId: A }
  t.same(loadValue(swapped), { kind: 'loaded', state: swapped }, 'the roles swapped (after a failback)')
  t.same(loadValue(state), { kind: 'loaded', state }, 'as configured')
  const upper = { ...state, primaryClusterId: A.toUpperCase() }
  t.same(loadValue(upper), { kind: 'loaded', state: upper }, 'UUIDs in either case')
  t.same(loadText(JSON.stringify(state), { pair: { primaryClusterId: B, standbyClusterId: A } }), { kind: 'loaded', state }, 'a pair configured the other way round')
  const foreign = 'foreign: written for another pair of clusters'
  for (const [what, value] of [
    ['a third primary', { ...state, primaryClusterId: C }],
    ['a third standby', { ...state, standbyClusterId: C }],
    ['one of ours twice', { ...state, standbyClusterId: A }]
  ] as const) {
    t.same(loadValue(value), { kind: 'rejected', problem: foreign }, what)
  }
  t.same(loadValue({ ...state, watchedClusterId: C }), { kind: 'rejected', problem: 'foreign: watchedClusterId is not a cluster of this pair' })
  t.same(loadValue({ ...state, stream: { ...state.stream, primaryClusterId: C } }), { kind: 'rejected', problem: 'foreign: stream.primaryClusterId is not a cluster of this pair' })
  t.same(loadValue({ ...state, stream: { ...state.stream, standbyClusterId: C } }), { kind: 'rejected', problem: 'foreign: stream.standbyClusterId is not a cluster of this pair' })
})

t.test('a save where no file can be written fails, and leaves nothing behind', async (t) => {
  const { dir } = storeIn()
  const missing = createStateStore({ path: join(dir, 'missing', 'state.json'), pair })
  t.same(missing.save(state), { ok: false, error: 'cannot create a temporary file in its directory (ENOENT)' }, 'a missing directory')
  // Tests run as root, which chmod does not stop: a regular file in the path does.
  writeFileSync(join(dir, 'file'), '')
  const underFile = createStateStore({ path: join(dir, 'file', 'state.json'), pair })
  t.same(underFile.save(state), { ok: false, error: 'cannot create a temporary file in its directory (ENOTDIR)' }, 'a directory that cannot be written')
  t.same(readdirSync(dir), ['file'], 'nothing left')
})

// The failures a real file system rarely gives on demand, by a stand-in node:fs.
async function storeWith(t: Test, overrides: Partial<typeof fs>) {
  const { createStateStore: create } = await t.mockImport<typeof import('../../src/engine/state-file.js')>('../../src/engine/state-file.js', {
    'node:fs': { ...fs, ...overrides }
  })
  const { dir } = storeIn()
  return { dir, store: create({ path: join(dir, 'state.json'), pair }) }
}

const failing = (code: string) => () => {
  throw Object.assign(new Error(`${code}: simulated`), { code })
}

t.test('a write or rename that fails keeps the old file and removes the temporary one', async (t) => {
  for (const [step, overrides] of [
    ['write', { writeFileSync: failing('ENOSPC') }],
    ['rename', { renameSync: failing('EXDEV') }]
  ] as const) {
    const { dir, store } = await storeWith(t, overrides as Partial<typeof fs>)
    writeFileSync(store.path, JSON.stringify(state))
    const code = step === 'write' ? 'ENOSPC' : 'EXDEV'
    t.same(store.save({ ...state, active: null }), { ok: false, error: `cannot write the new content (${code})` }, step)
    t.same(store.load(), { kind: 'loaded', state }, `${step}: the old content`)
    t.same(readdirSync(dir), ['state.json'], `${step}: no temporary file left`)
  }
})

t.test('the directory is synced where the platform can, and a failed sync is a failed save', async (t) => {
  // The first fsync is the file's, the second the directory's.
  const directorySync = (code: string) => {
    let calls = 0
    return (fd: number) => (++calls === 2 ? failing(code)() : fs.fsyncSync(fd))
  }
  const opened: string[] = []
  const { store: plain } = await storeWith(t, {
    openSync: ((path: string, ...rest: never[]) => {
      opened.push(path)
      return (fs.openSync as (...args: unknown[]) => number)(path, ...rest)
    }) as typeof fs.openSync
  })
  t.same(plain.save(state), { ok: true })
  t.equal(opened.at(-1), join(plain.path, '..'), 'the directory is opened and synced after the rename')

  const { store: noDirectoryOpen } = await storeWith(t, {
    openSync: ((path: string, flags: string, mode?: number) => (flags === 'r' ? failing('EISDIR')() : fs.openSync(path, flags, mode))) as typeof fs.openSync
  })
  t.same(noDirectoryOpen.save(state), { ok: true }, 'a directory that cannot be opened (Windows): the file alone is synced')

  for (const code of ['EINVAL', 'ENOTSUP', 'EISDIR']) {
    const { store } = await storeWith(t, { fsyncSync: directorySync(code) })
    t.same(store.save(state), { ok: true }, `${code}: this file system cannot sync a directory`)
    t.same(store.load(), { kind: 'loaded', state })
  }
  const { store: broken } = await storeWith(t, { fsyncSync: directorySync('EIO') })
  t.same(broken.save(state), { ok: false, error: 'written, but its directory could not be synced (EIO)' }, 'the rename may not survive a crash')
})

t.test('an error without a code is still reported', async (t) => {
  const { store } = await storeWith(t, {
    writeFileSync: () => {
      throw new Error('no code')
    }
  })
  t.same(store.save(state), { ok: false, error: 'cannot write the new content (unknown error)' })
})
