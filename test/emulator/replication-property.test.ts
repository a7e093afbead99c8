import fc from 'fast-check'
import t from 'tap'
import { advance, intersect, intervalsWhere, type Interval, type Steps } from '../../src/emulator/availability.js'
import { formatTimestamp, parseTimestamp, replicatedNanos } from '../../src/emulator/proto-time.js'
import { frontier, type ReplicationTimings } from '../../src/emulator/replication.js'

// The pure replication functions on generated availability histories: what
// every client may rely on, whatever the outages (spec: replicated_time,
// retained_time; PCR docs: technical overview).

/** A cluster's history: up at first, then toggled after each duration (ms). */
const history = fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 8 }).map((durations): Interval[] => {
  const s: Steps<boolean> = { initial: true, changes: [] }
  let at = 0
  durations.forEach((duration, i) => {
    at += duration
    s.changes.push({ at, value: i % 2 === 1 })
  })
  return intervalsWhere(s)
})

const timings = fc.record<ReplicationTimings>({
  startingMs: fc.integer({ min: 0, max: 5_000 }),
  initialScanMs: fc.integer({ min: 0, max: 10_000 }),
  lagMs: fc.integer({ min: 0, max: 3_000 }),
  catchUpRate: fc.double({ min: 1.5, max: 10, noNaN: true }),
  stepMs: fc.constantFrom(0, 100, 1_000, 30_000),
  retentionMs: fc.integer({ min: 1_000, max: 60_000 })
})

const times = fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 2, maxLength: 30 }).map((ts) => ts.sort((a, b) => a - b))

const scenario = fc.record({ primary: history, standby: history, timings, times })

t.test('replicated_time never decreases, never passes now − lag, and holds retained_time below it', async (t) => {
  fc.assert(
    fc.property(scenario, ({ primary, standby, timings, times }) => {
      const f = frontier(intersect(primary, standby), 0, timings)
      let previous = -Infinity
      for (const now of times.filter((time) => time >= f.scanEnd)) {
        const replicated = f.published(now)
        const retained = f.retained(now)
        if (replicated < previous) throw new Error(`replicated_time went back from ${previous} to ${replicated} at ${now}`)
        if (f.at(now) > now - timings.lagMs + 1e-6) throw new Error(`frontier ${f.at(now)} ahead of now − lag at ${now}`)
        if (retained > replicated) throw new Error(`retained ${retained} after replicated ${replicated} at ${now}`)
        previous = replicated
      }
    })
  )
})

t.test('the published value changes only at step boundaries (PCR docs: replicated time advances in steps)', async (t) => {
  fc.assert(
    fc.property(scenario, ({ primary, standby, timings, times }) => {
      const f = frontier(intersect(primary, standby), 0, timings)
      if (timings.stepMs === 0) return
      for (const now of times.filter((time) => time >= f.scanEnd)) {
        const boundary = f.scanEnd + Math.floor((now - f.scanEnd) / timings.stepMs) * timings.stepMs
        if (f.published(now) !== f.published(boundary)) throw new Error(`changed between ${boundary} and ${now}`)
      }
    })
  )
})

t.test('the frontier stands still while either cluster is down (PCR docs: ingestion needs both)', async (t) => {
  fc.assert(
    fc.property(scenario, ({ primary, standby, timings }) => {
      const bothUp = intersect(primary, standby)
      const f = frontier(bothUp, 0, timings)
      // Each gap between two up intervals after the scan.
      bothUp.forEach((interval, i) => {
        const next = bothUp[i + 1]?.start ?? interval.end + 50_000
        if (interval.end <= f.scanEnd || !Number.isFinite(interval.end)) return
        const frozen = f.at(interval.end)
        for (const t of [interval.end + 1, (interval.end + next) / 2, next]) {
          if (f.at(t) !== frozen) throw new Error(`moved from ${frozen} to ${f.at(t)} at ${t} while down`)
        }
      })
    })
  )
})

t.test('STARTING and the initial scan count only time with both clusters up', async (t) => {
  fc.assert(
    fc.property(scenario, ({ primary, standby, timings }) => {
      const bothUp = intersect(primary, standby)
      const f = frontier(bothUp, 0, timings)
      if (f.replicatingSince !== advance(bothUp, 0, timings.startingMs)) throw new Error('STARTING ended early')
      if (f.scanEnd < f.replicatingSince + timings.initialScanMs) throw new Error('the scan ended early')
    })
  )
})

t.test('reaches() is the first moment the frontier is at the target', async (t) => {
  fc.assert(
    fc.property(scenario, fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), (s, target, from) => {
      const f = frontier(intersect(s.primary, s.standby), 0, s.timings)
      const start = Math.max(from, f.scanEnd)
      if (!Number.isFinite(start)) return
      const reached = f.reaches(target, start)
      if (!Number.isFinite(reached)) {
        if (f.at(start + 1e9) >= target) throw new Error('reachable, yet Infinity')
        return
      }
      if (reached < start) throw new Error('before from')
      if (f.at(reached) < target - 1e-6) throw new Error(`not reached at ${reached}: ${f.at(reached)} < ${target}`)
      if (reached > start && f.at(reached - 1) >= target) throw new Error(`reached before ${reached}`)
    })
  )
})

t.test('published nanoseconds keep the order of the frontier and all four precisions appear (protojson Timestamp)', async (t) => {
  fc.assert(
    fc.property(fc.double({ min: 1e12, max: 2e12, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }), (a, d) => {
      const low = replicatedNanos(a)
      const high = replicatedNanos(a + d)
      if (low > high) throw new Error(`${a} → ${low} after ${a + d} → ${high}`)
      if (low > BigInt(Math.floor(a)) * 1_000_000n) throw new Error('after the frontier')
      if (parseTimestamp(formatTimestamp(low)) !== low) throw new Error('does not read back')
    })
  )
  const digits = new Set<number>()
  for (let ms = 1_748_865_600_000; digits.size < 4 && ms < 1_748_865_700_000; ms += 250) {
    digits.add(/\.(\d+)Z$/.exec(formatTimestamp(replicatedNanos(ms)))?.[1]?.length ?? 0)
  }
  t.strictSame([...digits].sort(), [0, 3, 6, 9])
})
