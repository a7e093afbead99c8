import t from 'tap'
import { createAuthLimiter } from '../../src/plugins/auth-limiter.js'

function limiter(maxTracked?: number) {
  const clock = { at: 1_000_000 }
  const l = createAuthLimiter({ maxFailures: 3, windowMs: 10_000, lockoutMs: 60_000, now: () => clock.at, maxTracked })
  return { l, clock }
}

t.test('the Nth failure within the window locks that address for the cool-down', async (t) => {
  const { l, clock } = limiter()
  t.equal(l.lockedFor('a'), 0, 'an unknown address may try')
  t.equal(l.fail('a'), false)
  t.equal(l.fail('a'), false)
  t.equal(l.lockedFor('a'), 0, 'below the limit')
  t.equal(l.fail('a'), true, 'the third starts a lockout')
  t.equal(l.lockedFor('a'), 60_000)
  t.equal(l.lockedFor('b'), 0, 'another address is not affected')
  clock.at += 59_000
  t.equal(l.lockedFor('a'), 1_000)
  clock.at += 1_000
  t.equal(l.lockedFor('a'), 0, 'the lockout ends by itself')
  t.equal(l.fail('a'), false, 'and the count starts again from zero')
})

t.test('failures older than the window are forgotten', async (t) => {
  const { l, clock } = limiter()
  l.fail('a')
  l.fail('a')
  clock.at += 10_000
  t.equal(l.fail('a'), false, 'the first two slid out of the window')
  t.equal(l.fail('a'), false)
  t.equal(l.fail('a'), true)
})

t.test('failures during a lockout do not extend it', async (t) => {
  const { l, clock } = limiter()
  for (let i = 0; i < 3; i++) l.fail('a')
  clock.at += 30_000
  t.equal(l.fail('a'), false)
  t.equal(l.lockedFor('a'), 30_000, 'still ends when it first would have')
})

t.test('the number of tracked addresses is capped, least recently seen first out', async (t) => {
  const { l } = limiter(2)
  l.fail('a')
  l.fail('a')
  l.fail('b')
  l.fail('a')
  t.equal(l.lockedFor('a'), 60_000)
  l.fail('c')
  t.equal(l.tracked(), 2)
  t.equal(l.lockedFor('a'), 60_000, 'the most recently seen is kept')
  t.equal(l.fail('b'), false, 'b was forgotten: its count restarted')
})
