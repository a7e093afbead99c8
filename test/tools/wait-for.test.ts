import t from 'tap'
import { waitFor } from '../../tools/wait-for.js'

t.test('returns the first truthy answer, sync or async', async (t) => {
  let calls = 0
  t.equal(await waitFor('the third call', () => ++calls >= 3 && calls, { intervalMs: 1 }), 3)
  t.same(await waitFor('a row', async () => [{ id: 1 }], { timeoutMs: 0 }), [{ id: 1 }], 'asked once even with no time at all')
})

t.test('an attempt that throws counts as a no', async (t) => {
  let calls = 0
  const value = await waitFor(
    'a server that answers on the second try',
    () => {
      if (++calls === 1) throw new Error('connection refused')
      return 'up'
    },
    { intervalMs: 1 }
  )
  t.equal(value, 'up')
})

t.test('on timeout the error names what was awaited and the last answer or error', async (t) => {
  await t.rejects(waitFor('the standby', () => 0, { timeoutMs: 30 }), { message: 'the standby: not within 30 ms (last answer: 0)' })
  let calls = 0
  await t.rejects(
    waitFor(
      'a leader',
      () => {
        throw new Error(`refused ${++calls}`)
      },
      { timeoutMs: 30 }
    ),
    { message: /^a leader: not within 30 ms \(last error: refused \d+\)$/ }
  )
  t.ok(calls > 1, 'asked again until the time was up')
})

t.test('an abort ends the wait at once with its reason', async (t) => {
  const exited = new AbortController()
  setTimeout(() => exited.abort(new Error('the process exited')), 20)
  const started = performance.now()
  await t.rejects(waitFor('a listening line', () => false, { timeoutMs: 60_000, signal: exited.signal }), { message: 'the process exited' })
  t.ok(performance.now() - started < 5000, 'long before the timeout')
  await t.rejects(waitFor('anything', () => true, { signal: exited.signal }), { message: 'the process exited' }, 'not even asked once aborted')
})
