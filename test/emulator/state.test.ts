import t from 'tap'
import { createEmulatorState } from '../../src/emulator/state.js'
import { DEFAULT_PRIMARY_ID as PRIMARY, DEFAULT_STREAM_ID, DEFAULT_TIMINGS } from '../../src/emulator/seed.js'
import { manualClock } from '../helpers/emulator.js'

// The state machine on its own, without HTTP.

t.test('seeds are checked', async (t) => {
  t.throws(
    () => createEmulatorState({ clusters: [{ id: 'a', name: 'a', region: 'r' }, { id: 'a', name: 'b', region: 'r' }] }),
    /cluster ids must be unique/
  )
  t.throws(() => createEmulatorState({ clusters: [{ id: 'a', name: 'a', region: 'r' }] }), /a seeded stream needs two clusters/)
  t.throws(
    () => createEmulatorState({ stream: 'none', clusters: [{ id: 'a', name: 'a', region: 'r', nodeCount: 0 }] }),
    /nodeCount must be a positive integer/
  )
  t.doesNotThrow(() => createEmulatorState({ stream: 'none', clusters: [{ id: 'a', name: 'a', region: 'r', nodeCount: 1 }] }))
})

t.test('defaults: the real timings and the wall clock', async (t) => {
  const state = createEmulatorState()
  t.strictSame(state.timings, DEFAULT_TIMINGS)
  t.ok(Math.abs(state.now() - Date.now()) < 1000)
  t.equal(state.getStream(DEFAULT_STREAM_ID).status, 'REPLICATING')
})

t.test('SQL lives while a majority of nodes is live', async (t) => {
  const clock = manualClock()
  const state = createEmulatorState({
    now: clock.now,
    stream: 'none',
    clusters: [
      { id: 'five', name: 'five', region: 'r', nodeCount: 5 },
      { id: 'one', name: 'one', region: 'r', nodeCount: 1 }
    ]
  })
  state.setNodeStatus('five', 'NOT_READY', ['cockroachdb-0', 'cockroachdb-1'])
  t.equal(state.isSqlAvailable('five'), true, '3 of 5')
  state.setNodeStatus('five', 'NOT_READY', ['cockroachdb-2'])
  t.equal(state.isSqlAvailable('five'), false, '2 of 5')
  state.setNodeStatus('one', 'NOT_READY')
  t.equal(state.isSqlAvailable('one'), false)
  t.throws(() => state.isSqlAvailable('none'), { httpStatus: 404, code: 5 })
})

t.test('the moment SQL went down is kept through further changes', async (t) => {
  const clock = manualClock()
  const state = createEmulatorState({ now: clock.now })
  state.setNodeStatus(PRIMARY, 'NOT_READY')
  clock.advance(30)
  state.putDisruption(PRIMARY, [{ region_code: 'us-east1', is_whole_region: true }])
  t.equal(state.describeCluster(PRIMARY).down_since, new Date(clock.now() - 30_000).toISOString())
})
