import fc from 'fast-check'
import t from 'tap'
import { createRateBudget, windowOf, type BudgetClock, type Priority } from '../../src/cloud/rate-budget.js'

// The rate budget on a manual clock: its timers fire only when the test moves time.

function manualClock() {
  let now = 0
  let next = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const clock: BudgetClock = {
    now: () => now,
    setTimeout(fn, ms) {
      timers.set(next, { at: now + ms, fn })
      return next++
    },
    clearTimeout: (handle) => void timers.delete(handle as number)
  }
  return {
    clock,
    now: () => now,
    // Moves to `to`, firing every timer due on the way, in order.
    async advanceTo(to: number) {
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= to).sort((a, b) => a[1].at - b[1].at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].fn()
        await Promise.resolve()
      }
      now = Math.max(now, to)
      await new Promise((resolve) => setImmediate(resolve))
    },
    pending: () => timers.size
  }
}

t.test('a whole number of requests in a window: 8 a second is 8 per second, 0.5 a second is 1 per 2 s', async (t) => {
  t.same(windowOf(8), { requests: 8, windowMs: 1000 })
  t.same(windowOf(0.5), { requests: 1, windowMs: 2000 })
  t.same(windowOf(2.5), { requests: 2, windowMs: 800 })
  t.throws(() => createRateBudget(0), RangeError)
})

t.test('8 go at once, the ninth waits for the first to leave the window', async (t) => {
  const m = manualClock()
  const budget = createRateBudget(8, m.clock)
  const grants = await Promise.all(Array.from({ length: 8 }, () => budget.take('normal')))
  t.ok(grants.every((g) => g.granted && g.waitedMs === 0))
  let ninth: { granted: boolean; waitedMs: number } | undefined
  void budget.take('normal').then((g) => (ninth = g))
  await m.advanceTo(999)
  t.equal(ninth, undefined, 'still within the second')
  t.equal(budget.waiting(), 1)
  await m.advanceTo(1000)
  t.same(ninth, { granted: true, waitedMs: 1000 })
  t.equal(m.pending(), 0, 'no timer left behind')
})

t.test('a decision goes ahead of background reads that came first', async (t) => {
  const m = manualClock()
  const budget = createRateBudget(1, m.clock)
  await budget.take('normal')
  const order: string[] = []
  const wait = (name: string, priority: Priority) => budget.take(priority).then(() => order.push(name))
  const all = [wait('poll 1', 'background'), wait('poll 2', 'background'), wait('write', 'normal'), wait('check', 'decide')]
  await m.advanceTo(5000)
  await Promise.all(all)
  t.same(order, ['check', 'write', 'poll 1', 'poll 2'])
})

t.test('a request not worth its wait gets no slot and takes none; an aborted one rejects with its reason', async (t) => {
  const m = manualClock()
  const budget = createRateBudget(1, m.clock)
  await budget.take('normal')
  t.same(await budget.take('normal', { maxWaitMs: 0 }), { granted: false, waitedMs: 0 })
  const late = budget.take('decide', { maxWaitMs: 300 })
  const patient = budget.take('normal')
  await m.advanceTo(300)
  t.same(await late, { granted: false, waitedMs: 300 })
  const stop = new AbortController()
  const aborted = budget.take('normal', { signal: stop.signal })
  stop.abort(new Error('shutting down'))
  await t.rejects(aborted, { message: 'shutting down' })
  await t.rejects(budget.take('normal', { signal: stop.signal }), { message: 'shutting down' }, 'aborted before asking')
  await m.advanceTo(1000)
  t.same(await patient, { granted: true, waitedMs: 1000 }, 'the slot the others gave up is the next one')
  t.equal(budget.waiting(), 0)
})

// Any requests, at any times, of any priority, some giving up: never more than the
// budget in a window, and every request that waits without a limit is let through.
t.test('property: no window ever holds more than the budget, and no patient request waits forever', async (t) => {
  const arrival = fc.record({
    gapMs: fc.integer({ min: 0, max: 400 }),
    priority: fc.constantFrom<Priority>('decide', 'normal', 'background'),
    maxWaitMs: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined })
  })
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(1, 2.5, 8, 10), fc.array(arrival, { minLength: 1, maxLength: 60 }), async (perSecond, arrivals) => {
      const m = manualClock()
      const budget = createRateBudget(perSecond, m.clock)
      const { requests, windowMs } = windowOf(perSecond)
      const grantedAt: number[] = []
      const outcomes: Array<Promise<boolean>> = []
      for (const a of arrivals) {
        await m.advanceTo(m.now() + a.gapMs)
        const askedAt = m.now()
        outcomes.push(
          budget.take(a.priority, { maxWaitMs: a.maxWaitMs }).then((g) => {
            if (g.granted) grantedAt.push(askedAt + g.waitedMs)
            return g.granted
          })
        )
      }
      await m.advanceTo(m.now() + (arrivals.length + 1) * windowMs)
      const granted = await Promise.all(outcomes)
      arrivals.forEach((a, i) => {
        if (a.maxWaitMs === undefined && !granted[i]) throw new Error(`request ${i} without a wait limit was never let through`)
      })
      grantedAt.sort((a, b) => a - b)
      for (let i = requests; i < grantedAt.length; i++) {
        if ((grantedAt[i] as number) - (grantedAt[i - requests] as number) < windowMs) {
          throw new Error(`${requests + 1} requests within ${windowMs} ms at ${grantedAt.slice(i - requests, i + 1).join(', ')}`)
        }
      }
      if (budget.waiting() !== 0 || m.pending() !== 0) throw new Error('waiters or timers left behind')
    }),
    { numRuns: 300 }
  )
  t.pass('300 generated arrival sequences')
})
