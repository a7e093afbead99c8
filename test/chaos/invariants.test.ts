import t from 'tap'
import { busiestSecond, detectionMs, fdMargin, fdWarmupMs, maxFds, mustActMs, stallMs, violations, watchableOutages, watchableResumptions } from '../../tools/chaos/invariants.js'
import { quietOutageMinMs } from '../../tools/chaos/schedule.js'
import { emptyTrace, serviceRateLimit, type Trace } from '../../tools/chaos/runner.js'
import { PRIMARY, STANDBY } from '../../tools/stack.js'

// The checker itself, on hand-made traces: each invariant passes a trace that
// keeps it and names the one that breaks it, so a green chaos run means something.

function trace(over: Partial<Trace> = {}): Trace {
  const schedule = { primary: [], faults: [], kills: [], killAfterPatchMs: null, sqlOutages: [], totalMs: 5000 }
  return { ...emptyTrace(schedule), end: 5000, maxRssKb: 100 * 1024, eventCounts: [40], ...over }
}

// The primary down (nodes and SQL) from `from` to `to`.
const outage = (from: number, to: number) => ({
  nodes: [
    { value: 'down' as const, begin: from, end: from + 1 },
    { value: 'healthy' as const, begin: to, end: to + 1 }
  ],
  sqlUp: [
    { value: false, begin: from, end: from + 1 },
    { value: true, begin: to, end: to + 1 }
  ]
})

const served = (at: number) => ({ at, status: 200, reached: true, refused: false })

const numbers = (found: string[]) => found.map((v) => v.split(':')[0])

t.test('1: a PATCH needs the primary down for the whole detection window', async (t) => {
  t.same(violations(trace({ ...outage(1000, 3000), patches: [served(1000 + detectionMs + 50)] })), [])
  t.same(numbers(violations(trace({ ...outage(1000, 3000), patches: [served(1000 + detectionMs - 50)] }))), ['1'])
  const nodesOnly = { nodes: outage(1000, 3000).nodes, patches: [served(2000)] }
  t.same(numbers(violations(trace(nodesOnly))), ['1'], 'SQL still answering is not down')
})

t.test('1: a recovery hidden by an API fault joins the outages around it', async (t) => {
  const flap = {
    nodes: [...outage(1000, 1200).nodes, ...outage(2000, 2500).nodes],
    sqlUp: [...outage(1000, 1200).sqlUp, ...outage(2000, 2500).sqlUp],
    patches: [served(1000 + detectionMs + 20)]
  }
  t.same(numbers(violations(trace(flap))), ['1'], 'a recovery watched for a whole check resets')
  const hidden = { ...flap, faults: [{ burst: { kind: 'hang' as const, at: 0, operation: '*' as const, ms: 500, after: false }, id: 'fault-1', from: 1150, until: 2050 }] }
  t.same(violations(trace(hidden)), [])
})

t.test('2: a long outage the service could watch is patched', async (t) => {
  t.same(numbers(violations(trace(outage(500, 500 + mustActMs + 10)))), ['2'])
  t.same(violations(trace({ ...outage(500, 500 + mustActMs + 10), patches: [served(500 + mustActMs)] })), [])
  t.same(violations(trace({ ...outage(500, 500 + mustActMs + 10), kills: [{ at: 700, readyAt: 900 }] })), [], 'not when restarted')
  const hang = { burst: { kind: 'hang' as const, at: 0, operation: '*' as const, ms: 500, after: false }, id: 'fault-1' }
  t.same(violations(trace({ ...outage(500, 500 + mustActMs + 10), faults: [{ ...hang, from: 100, until: 300 }] })), [], 'not when the API failed a check before')
  t.same(numbers(violations(trace({ ...outage(500, 500 + mustActMs + 10), faults: [{ ...hang, from: 0, until: 150 }] }))), ['2'], 'a fault long before does not excuse')
})

t.test('2: counts the outages it applies to; what follows the PATCH does not excuse', async (t) => {
  const long = outage(500, 500 + mustActMs + 500)
  t.equal(watchableOutages(trace(long)).length, 1)
  t.equal(watchableOutages(trace(outage(500, 500 + mustActMs - 10))).length, 0, 'too short')
  const patched = { ...long, patches: [served(1300)] }
  t.equal(watchableOutages(trace({ ...patched, kills: [{ at: 1400, readyAt: 2500 }] })).length, 1, 'a restart after the PATCH')
  t.equal(watchableOutages(trace({ ...patched, kills: [{ at: 1200, readyAt: 2500 }] })).length, 0, 'a restart before it')
  t.equal(watchableOutages(trace({ ...long, kills: [{ at: 500 + mustActMs + 50, readyAt: 5000 }] })).length, 1, 'a restart after it was due')
  t.equal(watchableOutages(trace({ ...long, patches: [served(100)] })).length, 0, 'patched before')
  t.equal(quietOutageMinMs, mustActMs, 'the generator makes quiet outages as long as invariant 2 needs')
  const slow = (sent: number, at: number) => ({ at, sent, path: '/connection' as const, status: 200, clusterId: PRIMARY })
  t.equal(watchableOutages(trace({ ...long, answers: [slow(900, 900 + stallMs + 1)] })).length, 0, 'not while the service took too long to answer from memory')
  t.equal(watchableOutages(trace({ ...long, answers: [slow(900, 900 + stallMs)] })).length, 1, 'a slow answer within bounds')
  const sampled = (from: number, to: number, every: number) => Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => ({ at: from + i * every, status: 'REPLICATING' }))
  t.equal(watchableOutages(trace({ ...long, streams: [...sampled(0, 1000, 20), ...sampled(1000 + stallMs + 1, 5000, 20)] })).length, 0, 'nor while the runner sampled nothing')
  t.equal(watchableOutages(trace({ ...long, streams: sampled(0, 5000, 20) })).length, 1)
  t.equal(watchableOutages(trace({ ...long, answers: [slow(500 + mustActMs + 10, 500 + mustActMs + 500)] })).length, 1, 'a stall after the PATCH was due')
})

t.test('2: a PATCH refused with Retry-After is asked again once the API takes it', async (t) => {
  const long = outage(500, 2900 + mustActMs + 100)
  const burst = { kind: 'status' as const, status: 429 as const, retry_after_seconds: 1, at: 0, operation: 'patchStream' as const, ms: 500, after: false }
  // The burst's span ends a timeout and its Retry-After past the burst.
  const refusing = { faults: [{ burst, id: 'fault-1', from: 1000, until: 1000 + 500 + 400 + 1000 }] }
  const refused = { at: 1100, status: 429, reached: false, refused: true }
  t.same(numbers(violations(trace({ ...long, ...refusing, patches: [refused] }))), ['2'], 'never asked again')
  t.same(watchableResumptions(trace({ ...long, ...refusing, patches: [refused] })), [{ outage: [501, 2900 + mustActMs + 100], from: 2900 }])
  t.same(violations(trace({ ...long, ...refusing, patches: [refused, served(2900 + mustActMs - 10)] })), [], 'asked again in time')
  t.same(numbers(violations(trace({ ...long, ...refusing, patches: [refused, served(2900 + mustActMs + 150)] }))), ['2'], 'not once the primary is back')
  const unclear = { ...refused, status: 503, refused: false }
  t.same(violations(trace({ ...long, ...refusing, patches: [unclear] })), [], 'an unclear outcome counts as asked')
  const short = outage(500, 2900 + mustActMs - 10)
  t.same(violations(trace({ ...short, ...refusing, patches: [refused] })), [], 'the primary back before the time to act was over')
  const longer = outage(500, 3500 + mustActMs + 100)
  const restart = { kills: [{ at: 3000, readyAt: 3500 }] }
  t.same(watchableResumptions(trace({ ...longer, ...refusing, ...restart, patches: [refused] })).map((r) => r.from), [3500], 'a restart in the time to act: judged from when it listens')
})

t.test('2: an outage begun while the API was dark is acted on once it is back', async (t) => {
  const long = outage(1000, 1000 + 700 + mustActMs + 100)
  const dark = { faults: [{ burst: { kind: 'hang' as const, at: 0, operation: '*' as const, ms: 500, after: false }, id: 'fault-1', from: 800, until: 1700 }] }
  t.equal(watchableOutages(trace({ ...long, ...dark })).length, 0, 'not from its start')
  t.same(numbers(violations(trace({ ...long, ...dark }))), ['2'])
  t.same(violations(trace({ ...long, ...dark, patches: [served(1700 + mustActMs)] })), [])
  t.same(violations(trace({ ...long, ...dark, patches: [served(1500)] })), [], 'a PATCH before the API was back is not asked twice')
})

t.test('2: an outage begun in a rate-limit storm is acted on once the storm and its Retry-After pass', async (t) => {
  const long = outage(1000, 1000 + 2200 + mustActMs + 100)
  const refusing = (operation: '*' | 'listNodes' | 'patchStream', id: string) => ({
    burst: { kind: 'status' as const, status: 429 as const, retry_after_seconds: 1, at: 0, operation, ms: 800, after: false },
    id,
    from: 800,
    // The storm's end, a timeout and its Retry-After.
    until: 800 + 800 + 400 + 1000
  })
  const storm = { faults: [refusing('listNodes', 'fault-1'), refusing('patchStream', 'fault-2')] }
  const refused = { at: 1900, status: 429, reached: false, refused: true }
  t.same(watchableResumptions(trace({ ...long, ...storm, patches: [refused] })).map((r) => r.from), [3000], 'once, from the storm\'s end')
  t.same(numbers(violations(trace({ ...long, ...storm, patches: [refused] }))), ['2'], 'the refused PATCH never asked again')
  t.same(violations(trace({ ...long, ...storm, patches: [refused, served(3000 + mustActMs - 10)] })), [])
  t.same(violations(trace({ ...outage(1000, 3000 + mustActMs - 10), ...storm })), [], 'the primary back before the time to act was over')
})

t.test('3: one PATCH at most reaches the stream, and none follows it', async (t) => {
  t.same(numbers(violations(trace({ ...outage(0, 3000), patches: [served(1000), served(2000)] }))), ['3'])
  const refused = { at: 1000, status: 503, reached: false, refused: false }
  t.same(violations(trace({ ...outage(0, 3000), patches: [refused, served(2000)] })), [], 'a refused PATCH may be retried after a restart')
  t.same(numbers(violations(trace({ ...outage(0, 3000), patches: [served(1000), { ...refused, at: 2000 }] }))), ['3'])
})

t.test('4: /connection follows the stream history', async (t) => {
  // Sampled every 20 ms, as the runner does.
  const streams = Array.from({ length: 250 }, (_, i) => ({
    at: i * 20,
    status: i * 20 < 2000 ? 'REPLICATING' : i * 20 < 3000 ? 'FAILING_OVER' : 'COMPLETED'
  }))
  const ok = [
    { at: 2100, path: '/connection' as const, status: 200, clusterId: PRIMARY },
    { at: 2200, path: '/connection' as const, status: 503, code: 'failing_over' },
    { at: 3100, path: '/connection' as const, status: 200, clusterId: STANDBY }
  ]
  t.same(violations(trace({ ...outage(0, 5000), patches: [served(1990)], streams, answers: ok })), [])
  const stale = [{ at: 4000, path: '/connection' as const, status: 200, clusterId: PRIMARY }]
  t.same(numbers(violations(trace({ ...outage(0, 5000), patches: [served(1990)], streams, answers: stale }))), ['4'])
  const early = [{ at: 1000, path: '/connection' as const, status: 200, clusterId: STANDBY }]
  t.same(numbers(violations(trace({ streams, answers: early }))), ['4'])
  const needless = [{ at: 1000, path: '/connection' as const, status: 503, code: 'failing_over' }]
  t.same(numbers(violations(trace({ streams, answers: needless }))), ['4'])

  // A loaded runner: no sample from 2480 to 3020, when the stream was COMPLETED
  // (some time in between), nor an answer (sent at 2480, arrived at 3060).
  const gap = streams.filter((s) => s.at <= 2480 || s.at >= 3020)
  const late = [{ at: 3060, sent: 2480, path: '/connection' as const, status: 503, code: 'failing_over' }, { at: 3105, path: '/connection' as const, status: 503, code: 'failing_over' }]
  t.same(violations(trace({ ...outage(0, 5000), patches: [served(1990)], streams: gap, answers: late })), [], 'the last sample before a gap may still hold')
  const tooLate = [{ at: 3700, path: '/connection' as const, status: 503, code: 'failing_over' }]
  t.same(numbers(violations(trace({ ...outage(0, 5000), patches: [served(1990)], streams: gap, answers: tooLate }))), ['4'], 'but not a check later')
})

t.test('7: once the standby was named after a completed failover, the old primary never is again', async (t) => {
  const streams = Array.from({ length: 250 }, (_, i) => ({
    at: i * 20,
    status: i * 20 < 2000 ? 'REPLICATING' : i * 20 < 2500 ? 'FAILING_OVER' : 'COMPLETED'
  }))
  const connection = (at: number, clusterId: string) => ({ at, sent: at - 5, path: '/connection' as const, status: 200, clusterId })
  const failedOver = { ...outage(0, 5000), patches: [served(1990)], streams }
  t.same(violations(trace({ ...failedOver, answers: [connection(1000, PRIMARY), connection(2600, STANDBY), connection(4000, STANDBY)] })), [])
  const back = [connection(2600, STANDBY), connection(3000, PRIMARY), connection(3020, PRIMARY)]
  // An empty listing since before the failover: invariant 4 cannot tell what the service saw.
  const listing = { burst: { kind: 'empty' as const, at: 0, operation: 'listStreams' as const, ms: 2500, after: false }, id: 'fault-1', from: 1500, until: 4400 }
  t.same(violations(trace({ ...failedOver, faults: [listing], answers: back })), [
    '7: /connection named the superseded primary 2 times from +3000 ms to +3020 ms, after naming the standby at +2600 ms'
  ])
  t.same(numbers(violations(trace({ ...failedOver, answers: back }))), ['4', '4', '7'], 'and without the fault, invariant 4 too')
  const never = streams.map((s) => ({ ...s, status: 'REPLICATING' }))
  t.same(numbers(violations(trace({ ...failedOver, streams: never, faults: [listing], answers: back }))), ['4'], 'no completed failover, nothing superseded')
})

t.test('5: no exit of its own, no undocumented 5xx', async (t) => {
  t.same(numbers(violations(trace({ unexpectedExits: [{ at: 10, code: 1, signal: null, stderr: 'boom' }] }))), ['5'])
  t.same(numbers(violations(trace({ answers: [{ at: 10, path: '/health', status: 500 }] }))), ['5'])
  t.same(violations(trace({ answers: [{ at: 10, path: '/health', status: 503, code: 'stale' }] })), [])
})

t.test('6: memory and events stay bounded', async (t) => {
  t.same(numbers(violations(trace({ maxRssKb: 400 * 1024, eventCounts: [501] }))), ['6', '6'])
})

t.test('6: open file descriptors stay within a margin of the first count after warm-up', async (t) => {
  const sample = (at: number, pid: number, count: number, sinceReady = at) => ({ at, pid, count, sinceReady })
  const steady = [sample(500, 1, 200), sample(fdWarmupMs, 1, 30), sample(2000, 1, 30 + fdMargin), sample(3000, 2, 90, fdWarmupMs)]
  t.same(violations(trace({ fdSamples: steady })), [], 'busy while warming up, a margin after it, and each process judged on its own')
  const leak = [sample(fdWarmupMs, 1, 30), sample(2000, 1, 60), sample(3000, 1, 31 + fdMargin), sample(4000, 1, 200)]
  t.same(numbers(violations(trace({ fdSamples: leak }))), ['6'], 'reported once')
  t.equal(maxFds(trace({ fdSamples: leak })), 200)
  t.equal(maxFds(trace()), 0)
})

t.test('8: a process sends no more API requests in any second than its budget, refused or not', async (t) => {
  const steady = (from: number, count: number, every: number) => Array.from({ length: count }, (_, i) => from + i * every)
  // As the budget allows: one request every 1/rate s, a full second's worth in any window.
  const within = steady(0, 3 * serviceRateLimit, 1000 / serviceRateLimit)
  t.equal(busiestSecond(trace({ requests: within })), serviceRateLimit)
  t.same(violations(trace({ requests: within })), [])
  const spinning = [...within, ...steady(1500, 50, 2)]
  t.same(numbers(violations(trace({ requests: spinning }))), ['8'], 'a burst within one second')
  const restarted = [...steady(0, serviceRateLimit, 10), ...steady(900, serviceRateLimit, 1)]
  t.same(violations(trace({ requests: restarted, kills: [{ at: 850, readyAt: 1200 }] })), [], 'each process on its own')
  t.same(numbers(violations(trace({ requests: restarted }))), ['8'], 'one process')
  t.equal(busiestSecond(trace()), 0)
})
