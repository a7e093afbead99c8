import t from 'tap'
import { detectionMs, mustActMs, violations } from '../chaos-lib/invariants.js'
import type { Trace } from '../chaos-lib/runner.js'
import { PRIMARY, STANDBY } from '../helpers/stack.js'

// The checker itself, on hand-made traces: each invariant passes a trace that
// keeps it and names the one that breaks it, so a green chaos run means something.

function trace(over: Partial<Trace> = {}): Trace {
  return {
    schedule: { primary: [], faults: [], kills: [], killAfterPatchMs: null, sqlOutages: [], totalMs: 5000 },
    start: 0,
    end: 5000,
    nodes: [],
    sqlUp: [],
    faults: [],
    kills: [],
    patches: [],
    streams: [],
    answers: [],
    maxRssKb: 100 * 1024,
    eventCounts: [40],
    unexpectedExits: [],
    ...over
  }
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

const served = (at: number) => ({ at, status: 200, reached: true })

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
})

t.test('3: one PATCH at most reaches the stream, and none follows it', async (t) => {
  t.same(numbers(violations(trace({ ...outage(0, 3000), patches: [served(1000), served(2000)] }))), ['3'])
  const refused = { at: 1000, status: 503, reached: false }
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
})

t.test('5: no exit of its own, no undocumented 5xx', async (t) => {
  t.same(numbers(violations(trace({ unexpectedExits: [{ at: 10, code: 1, signal: null, stderr: 'boom' }] }))), ['5'])
  t.same(numbers(violations(trace({ answers: [{ at: 10, path: '/health', status: 500 }] }))), ['5'])
  t.same(violations(trace({ answers: [{ at: 10, path: '/health', status: 503, code: 'stale' }] })), [])
})

t.test('6: memory and events stay bounded', async (t) => {
  t.same(numbers(violations(trace({ maxRssKb: 400 * 1024, eventCounts: [501] }))), ['6', '6'])
})
