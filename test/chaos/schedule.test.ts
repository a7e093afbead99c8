import fc from 'fast-check'
import t from 'tap'
import { FaultSpec } from '../../src/emulator/faults.js'
import { faultSpec } from '../../tools/chaos/runner.js'
import { primaryPlan, scheduleArbitrary, storms, type FaultBurst, type Schedule } from '../../tools/chaos/schedule.js'

// The generator against the emulator it plays on: every burst is a fault the
// control API takes, and the faults the engine must survive come up often
// enough for a short run to meet them.

const schedules = fc.sample(scheduleArbitrary({ totalMs: 5000 }), { seed: 20260626, numRuns: 400 })
const share = (holds: (s: Schedule) => boolean) => schedules.filter(holds).length / schedules.length

const refusesPatch = (f: FaultBurst) => f.operation === 'patchStream' && 'retry_after_seconds' in f && !f.after
const listing = (f: FaultBurst) => f.kind === 'empty' || f.kind === 'truncated'
/** When the primary first goes down, if it does. */
const firstDown = (s: Schedule) => primaryPlan(s).find((p) => p.state === 'down')?.at

t.test('every burst is a fault the emulator takes', async (t) => {
  const refused = schedules.flatMap((s) => s.faults).filter((f) => !FaultSpec.safeParse(faultSpec(f)).success)
  t.same(refused, [])
  t.ok(schedules.flatMap((s) => s.faults).some((f) => f.after), 'after: true is still sent where it applies')
})

t.test('PATCH refusals, listing faults after a failover, and the API dark across an outage start', async (t) => {
  const patchRefused = share((s) => s.faults.some(refusesPatch))
  t.ok(patchRefused >= 0.15, `a PATCH refused with Retry-After in ${patchRefused}`)
  const statuses = new Set(schedules.flatMap((s) => s.faults.filter(refusesPatch).map((f) => (f.kind === 'status' ? f.status : 0))))
  t.same([...statuses].sort(), [429, 503])

  const kinds = new Set(schedules.flatMap((s) => s.faults.filter(listing).map((f) => f.kind)))
  t.same([...kinds].sort(), ['empty', 'truncated'])
  t.ok(schedules.flatMap((s) => s.faults).filter(listing).every((f) => f.operation === 'listStreams' && !f.after))
  // After the quiet outage's window, by when the failover has been asked for.
  const afterFailover = share((s) => {
    const down = firstDown(s)
    return down !== undefined && s.faults.some((f) => listing(f) && f.at >= down + 1500)
  })
  t.ok(afterFailover >= 0.1, `a listing fault after the failover in ${afterFailover}`)

  const dark = share((s) => {
    const down = firstDown(s)
    return down !== undefined && s.faults.some((f) => f.operation === '*' && f.at < down && f.at + f.ms > down)
  })
  t.ok(dark >= 0.1, `the API dark from before the primary dies to after in ${dark}`)
})

t.test('rate-limit storms: the whole API or several operations refusing at once, across an outage or not', async (t) => {
  const stormy = schedules.filter((s) => storms(s).length > 0)
  t.ok(stormy.length / schedules.length >= 0.1, `a storm in ${stormy.length / schedules.length}`)
  const found = stormy.flatMap(storms)
  t.ok(found.some((s) => s.operations.includes('*')), 'the whole API')
  t.ok(found.some((s) => s.operations.length >= 2 && !s.operations.includes('*')), 'several operations')
  const refusals = stormy.flatMap((s) => s.faults).flatMap((f) => (f.kind === 'status' && 'retry_after_seconds' in f ? [f] : []))
  t.same([...new Set(refusals.map((f) => f.status))].sort(), [429, 503])
  t.same([...new Set(refusals.map((f) => f.retry_after_seconds))].sort(), [0, 1])
  const across = stormy.filter((s) => {
    const down = firstDown(s)
    return down !== undefined && storms(s).some((storm) => storm.at <= down && storm.at + storm.ms > down)
  })
  t.ok(across.length > 0, `across the start of an outage in ${across.length} of ${stormy.length}`)
  t.ok(stormy.some((s) => firstDown(s) === undefined), 'and with the primary healthy throughout')
  t.same(storms({ ...stormy[0]!, faults: stormy[0]!.faults.slice(0, 1).map((f) => ({ ...f, operation: 'getCluster' as const })) }), [], 'one operation refused is no storm')
})
