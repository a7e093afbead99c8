import { PRIMARY, STANDBY } from '../stack.js'
import { policy, serviceRateLimit, type Change, type Trace } from './runner.js'

// The eight chaos invariants, judged on a trace against the schedule's ground
// truth. Where the exact moment of a change is unsure (between asking for it and
// its answer), each invariant takes the reading that cannot blame the service
// for what it could not have seen.

type Span = [number, number]

const { intervalMs, timeoutMs, threshold, delayMs } = policy
/** Node timers may fire a millisecond early. */
const tolerance = 5
/** The shortest continuous outage the engine's policy can act on: first failure to double-check. */
export const detectionMs = (threshold - 1) * intervalMs + delayMs
/** Invariant 2's outage: threshold × interval + delay + two intervals, and room for a loaded machine. */
export const mustActMs = threshold * intervalMs + delayMs + 2 * intervalMs + 800
/** How stale /connection may be: one check (interval and timeout) and some scheduling room. */
const lagMs = intervalMs + timeoutMs + 200
const rssLimitKb = 300 * 1024
/** Open descriptors: a process is warmed up this long after it listens; after that it may not grow past its first count by more than fdMargin. */
export const fdWarmupMs = 1000
export const fdMargin = 48
const eventsLimit = 500

/**
 * When a flag was true. wide: from the moment it may have turned on to the moment
 * it surely turned off; narrow: only while it surely held.
 */
function spans<T>(changes: Array<Change<T>>, on: (v: T) => boolean, end: number, wide: boolean): Span[] {
  const out: Span[] = []
  let from: number | undefined
  for (const c of changes) {
    if (on(c.value) && from === undefined) from = wide ? c.begin : c.end
    else if (!on(c.value) && from !== undefined) {
      out.push([from, wide ? c.end : c.begin])
      from = undefined
    }
  }
  if (from !== undefined) out.push([from, end])
  return out.filter(([a, b]) => b > a)
}

function intersect(a: Span[], b: Span[]): Span[] {
  const out: Span[] = []
  for (const [a0, a1] of a) for (const [b0, b1] of b) if (Math.max(a0, b0) < Math.min(a1, b1)) out.push([Math.max(a0, b0), Math.min(a1, b1)])
  return out.sort((x, y) => x[0] - y[0])
}

const overlaps = (s: Span, t: Span) => s[0] < t[1] && t[0] < s[1]

/** Spans in which the service could not see the primary: an API fault may be active, or the process is restarting. */
function blind(trace: Trace): Span[] {
  return [...trace.faults.map((f): Span => [f.from, f.until]), ...trace.kills.map((k): Span => [k.at, k.readyAt])]
}

/** A stall longer than this (ms) means the machine could not keep the policy's timing. */
export const stallMs = 200

/**
 * When the machine was too loaded for the policy's timing, seen from outside the
 * service: the service took longer than stallMs to answer /connection or /health
 * from memory, or the runner (which hosts the emulator) sampled nothing for that
 * long. A check in flight then may time out a timeout later.
 */
function stalls(trace: Trace): Span[] {
  const out: Span[] = []
  for (const a of trace.answers) if (a.sent !== undefined && a.at - a.sent > stallMs) out.push([a.sent, a.at + timeoutMs])
  for (let i = 1; i < trace.streams.length; i++) {
    const [prev, next] = [trace.streams[i - 1]!.at, trace.streams[i]!.at]
    if (next - prev > stallMs) out.push([prev, next + timeoutMs])
  }
  return out
}

/** The primary really down (every node not ready and SQL stopped). */
export function downSpans(trace: Trace, wide: boolean): Span[] {
  const nodes = spans(trace.nodes, (v) => v === 'down', trace.end, wide)
  const sql = spans(trace.sqlUp, (up) => !up, trace.end, wide)
  return intersect(nodes, sql)
}

// Unknown checks neither count nor reset, so a recovery the service could not
// watch for a whole check (interval plus timeout) joins the outages around it.
function asTheEngineMaySeeIt(down: Span[], blinded: Span[]): Span[] {
  const needed = intervalMs + timeoutMs + 150
  const merged: Span[] = []
  for (const span of down) {
    const last = merged.at(-1)
    if (last !== undefined && !clearWindow([last[1], span[0]], blinded, needed)) last[1] = Math.max(last[1], span[1])
    else merged.push([...span])
  }
  return merged
}

function clearWindow(gap: Span, blinded: Span[], needed: number): boolean {
  let pieces: Span[] = [gap]
  for (const [b0, b1] of blinded) {
    pieces = pieces.flatMap(([a, b]): Span[] => (b <= b0 || a >= b1 ? [[a, b]] : [[a, Math.min(b, b0)], [Math.max(a, b1), b]]))
  }
  return pieces.some(([a, b]) => b - a >= needed)
}

/**
 * Outages invariant 2 applies to: long enough, nothing patched before, and the API
 * reachable and the process up from a check before the outage until the PATCH is
 * due (mustActMs into it) or sent, whichever comes first. What happens after the
 * PATCH (a fault on its answer, a restart mid-failover) cannot excuse a missing one.
 * Nor a stall of the machine (see stalls): an API that cannot answer in time is not reachable.
 */
export function watchableOutages(trace: Trace): Span[] {
  const blinded = [...blind(trace), ...stalls(trace)]
  return downSpans(trace, false).filter(([d, u]) => {
    if (u - d < mustActMs || trace.patches.some((p) => p.at < d)) return false
    const sent = trace.patches.find((p) => p.at >= d && p.at <= u)?.at ?? Infinity
    const window: Span = [d - timeoutMs, Math.min(d + mustActMs, sent)]
    return !blinded.some((b) => overlaps(b, window))
  })
}

/**
 * The API back within an outage, and invariant 2's time to act from there: each
 * blinding (a fault burst with its Retry-After, a restart, a stall) that ends
 * inside an outage, where the primary stays down, and nothing blinds, for
 * mustActMs after it. An API dark since before the outage: the service must see
 * it once the API is back. A PATCH refused with Retry-After was not asked: the
 * service must ask again. Not after any other PATCH (it reached the stream, or
 * its outcome was unclear and it counts as asked), nor from an outage's start,
 * which watchableOutages judges.
 */
export function watchableResumptions(trace: Trace): Array<{ outage: Span; from: number }> {
  const blinded = [...blind(trace), ...stalls(trace)]
  const out: Array<{ outage: Span; from: number }> = []
  for (const [d, u] of downSpans(trace, false)) {
    const ends = [...new Set(blinded.map(([, b1]) => b1))].filter((b1) => b1 > d && b1 + mustActMs <= u).sort((a, b) => a - b)
    for (const from of ends) {
      if (trace.patches.some((p) => !p.refused && p.at < from)) break
      if (!blinded.some((b) => overlaps(b, [from, from + mustActMs]))) out.push({ outage: [d, u], from })
    }
  }
  return out
}

function activeOf(status: string): string | null {
  if (status === 'FAILING_OVER') return null
  return status === 'COMPLETED' ? STANDBY : PRIMARY
}

export function violations(trace: Trace): string[] {
  const found: string[] = []
  const blinded = blind(trace)
  const rel = (t: number) => `+${t - trace.start} ms`

  // 1. No PATCH without a long enough outage.
  const mayDown = asTheEngineMaySeeIt(downSpans(trace, true), blinded)
  for (const { at: p } of trace.patches) {
    const legit = mayDown.some(([d, u]) => d <= p - detectionMs + tolerance && u >= d + detectionMs - tolerance)
    if (!legit) found.push(`1: PATCH at ${rel(p)} without the primary down for ${detectionMs} ms before it`)
  }

  // 2. A long outage the service could watch is acted on.
  for (const [d, u] of watchableOutages(trace)) {
    if (!trace.patches.some((p) => p.at >= d && p.at <= u)) found.push(`2: primary down from ${rel(d)} to ${rel(u)} with the API reachable, and no PATCH`)
  }

  // ... and so is one that goes on once the API is back (a refused PATCH tried again).
  for (const { outage: [d, u], from } of watchableResumptions(trace)) {
    if (!trace.patches.some((p) => p.at >= from && p.at <= u)) {
      found.push(`2: primary down from ${rel(d)} to ${rel(u)}, the API reachable again from ${rel(from)}, and no PATCH since`)
    }
  }

  // 3. One PATCH at most reaches the stream, across restarts, and none follows it. A
  // PATCH refused before it was served left the stream REPLICATING; a restarted
  // process reads that and may rightly try again.
  const first = trace.patches.findIndex((p) => p.reached)
  if (first !== -1 && first < trace.patches.length - 1) {
    found.push(`3: ${trace.patches.length} PATCHes: ${trace.patches.map((p) => `${rel(p.at)} ${p.status ?? 'no answer'}${p.reached ? ' (reached the stream)' : ''}`).join(', ')}`)
  }

  // 4. /connection follows the stream, a little late at most; 503 only when it may.
  for (const a of trace.answers) {
    if (a.path !== '/connection') continue
    // The service answered between sending and arrival, from what it knew up to one check before.
    let from = (a.sent ?? a.at) - lagMs
    // While the API was failing the service could not learn of a change.
    for (const [b0, b1] of [...blinded].sort((x, y) => y[0] - x[0])) if (b0 < a.at && b1 > from) from = Math.min(from, b0 - lagMs)
    // The stream's status at `from` is the last one sampled before it: on a loaded
    // machine the samples can be hundreds of ms apart.
    const before = trace.streams.findLast((s) => s.at < from)
    const window = [...(before === undefined ? [] : [before]), ...trace.streams.filter((s) => s.at >= from && s.at <= a.at + 3 * 20)]
    if (a.status === 200 && !window.some((s) => activeOf(s.status) === a.clusterId)) {
      found.push(`4: /connection named ${a.clusterId} at ${rel(a.at)}; the stream made ${[...new Set(window.map((s) => s.status))].join('/')} active`)
    }
    if (a.status === 503 && a.code !== 'unknown') {
      const failingOver = window.some((s) => s.status === 'FAILING_OVER') || trace.patches.some((p) => p.at >= from && p.at <= a.at)
      if (a.code !== 'failing_over' || !failingOver) found.push(`4: /connection 503 (${a.code}) at ${rel(a.at)} with no failover under way`)
    }
  }

  // 5. Never exits on its own; no 5xx but the documented 503s.
  for (const e of trace.unexpectedExits) found.push(`5: the process exited on its own at ${rel(e.at)} (${e.signal ?? e.code}): ${e.stderr.slice(-500)}`)
  for (const a of trace.answers) {
    const documented = a.status === 503 && (a.path === '/connection' || a.code === 'stale')
    if (a.status !== 200 && !documented) found.push(`5: ${a.path} answered ${a.status} at ${rel(a.at)}`)
  }

  // 6. Bounded memory and event log.
  if (trace.maxRssKb > rssLimitKb) found.push(`6: resident memory reached ${Math.round(trace.maxRssKb / 1024)} MB`)
  for (const n of trace.eventCounts) if (n > eventsLimit) found.push(`6: /events returned ${n} events`)
  const baseline = new Map<number, number>()
  for (const s of trace.fdSamples) {
    if (s.sinceReady < fdWarmupMs) continue
    const first = baseline.get(s.pid)
    if (first === undefined) baseline.set(s.pid, s.count)
    else if (s.count > first + fdMargin) {
      found.push(`6: process ${s.pid} had ${s.count} open file descriptors at ${rel(s.at)}, ${first} after warm-up`)
      baseline.set(s.pid, Infinity)
    }
  }

  // 7. A completed failover supersedes the old primary (a run has one stream): once
  // /connection has named the standby, it never names the old primary again,
  // whatever the API shows or hides and across restarts.
  if (trace.streams.some((s) => s.status === 'COMPLETED')) {
    const named = (id: string) => trace.answers.filter((a) => a.path === '/connection' && a.status === 200 && a.clusterId === id)
    const moved = named(STANDBY)[0]
    const back = moved === undefined ? [] : named(PRIMARY).filter((a) => (a.sent ?? a.at) >= moved.at)
    if (moved !== undefined && back.length > 0) {
      found.push(`7: /connection named the superseded primary ${back.length} times from ${rel(back[0]!.at)} to ${rel(back.at(-1)!.at)}, after naming the standby at ${rel(moved.at)}`)
    }
  }
  // 8. Never spins: refused or not, a process sends no more than its budget in any second.
  const busiest = busiestSecond(trace)
  if (busiest > serviceRateLimit) found.push(`8: a process sent ${busiest} API requests within one second; its budget is ${serviceRateLimit}`)
  return found
}

/** The most API requests one process sent in any second: each restart starts another process. */
export function busiestSecond(trace: Trace): number {
  const cuts = trace.kills.map((k) => k.at).sort((a, b) => a - b)
  const times = [...trace.requests].sort((a, b) => a - b)
  let busiest = 0
  for (let last = 0, first = 0; last < times.length; last++) {
    const from = cuts.findLast((c) => c <= times[last]!) ?? -Infinity
    while (times[first]! <= times[last]! - 1000 || times[first]! < from) first++
    busiest = Math.max(busiest, last - first + 1)
  }
  return busiest
}

/** The most open file descriptors any process of the trace had. */
export const maxFds = (trace: Trace): number => Math.max(0, ...trace.fdSamples.map((s) => s.count))
