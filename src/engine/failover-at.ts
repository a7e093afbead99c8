import type { Stream } from '../cloud/schemas.js'

// The time a failover goes to (FAILOVER_AT_TIMESTAMP, or failover_at asked for by
// hand): the Cloud API takes one between the stream's retained_time (the oldest
// history it keeps) and one hour from now (a scheduled failover). Anything else
// it refuses; the engine says why before asking.

export const maxScheduleAheadMs = 3_600_000

// Why this time cannot be failed over to, or undefined when it can. A stream not
// yet REPLICATING has no retained_time: only the upper bound is known then.
export function failoverAtProblem(
  at: string,
  stream: Pick<Stream, 'id' | 'retained_time'>,
  now: number,
  // What the time is called in the message: FAILOVER_AT_TIMESTAMP or failover_at.
  source: string
): string | undefined {
  const time = Date.parse(at)
  if (stream.retained_time !== undefined && time < Date.parse(stream.retained_time)) {
    return `${source} ${at} is before the retained time ${stream.retained_time} of stream ${stream.id}, the oldest time it can fail over to`
  }
  if (time > now + maxScheduleAheadMs) {
    return `${source} ${at} is more than one hour ahead (after ${new Date(now + maxScheduleAheadMs).toISOString()}): the Cloud API schedules a failover at most one hour ahead`
  }
  return undefined
}
