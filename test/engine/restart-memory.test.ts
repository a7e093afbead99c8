import t from 'tap'
import { initialState, step } from '../../src/engine/core/step.js'
import type { Action, CoreState, Input } from '../../src/engine/core/types.js'
import { view } from '../../src/engine/core/view.js'
import type { PersistedState } from '../../src/engine/state-file.js'
import { A, B, CURRENT, modelPolicy } from './model/world.js'

// A process restarted from STATE_FILE writes the file again before it has read the
// Cloud API. That write must keep the stream it remembers: otherwise a second restart
// has nothing to hold an empty listing against, and sends applications back to the
// superseded primary (found by core-model.test.ts, seed 866483463).

const policy = modelPolicy({ threshold: 1, intervalMs: 1500, delayMs: 0, timeoutMs: 150, autoFailover: true, maxDataLossSeconds: undefined })

const failedOver: PersistedState = {
  version: 1,
  primaryClusterId: A,
  standbyClusterId: B,
  savedAt: new Date(4054).toISOString(),
  active: { clusterId: B, sqlDns: `${B}.sql.example`, sqlPort: 26257 },
  watchedClusterId: B,
  stream: { id: CURRENT, status: 'COMPLETED', primaryClusterId: A, standbyClusterId: B, createdAt: '2026-02-01T00:00:00Z' },
  patch: { streamId: CURRENT, state: 'asked', at: new Date(2332).toISOString(), retryAt: null }
}

function startFrom(file: PersistedState, now: number): { state: CoreState; written: PersistedState | undefined } {
  const out = step(initialState(policy), { kind: 'start', persisted: file }, now, policy)
  const written = out.actions.filter((a): a is Extract<Action, { type: 'persist' }> => a.type === 'persist').at(-1)?.state
  return { state: out.state, written }
}

t.test('a restart before the API is read keeps the remembered stream in the file it writes', async (t) => {
  const first = startFrom(failedOver, 4132)
  t.ok(first.written !== undefined, 'the restarted process writes the file')
  t.same(first.written?.stream, failedOver.stream, 'the stream is still in the file')
  t.same(first.written?.patch, failedOver.patch, 'and so is the PATCH record')
})

t.test('two restarts, then an empty listing: applications stay on the new primary', async (t) => {
  const first = startFrom(failedOver, 4132)
  const second = startFrom(first.written ?? failedOver, 4133)
  let state = second.state
  let now = 4204
  const feed = (input: Input) => {
    const out = step(state, input, now, policy)
    state = out.state
    return out.actions
  }
  const actions = feed({ kind: 'tick' })
  t.ok(actions.some((a) => a.type === 'list'), 'the check lists the streams')
  const next = feed({ kind: 'listed', reading: { ok: true, value: undefined } })
  now += 1
  t.not(view(state, policy, now).activeClusterId, A, 'an empty listing does not send applications back')
  t.ok(next.some((a) => a.type === 'confirm'), 'the remembered stream is read by id instead')
})
