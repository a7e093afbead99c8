import { InvalidArgumentError } from 'commander'
import { timestampProblem, utcTimestamp } from '../config/index.js'

// Option values checked where they are read, so a typo is a usage error (exit 2)
// before anything is asked of the API.

export function positiveSeconds(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number of seconds greater than 0')
  return n
}

export function count(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000')
  return n
}

// As FAILOVER_AT_TIMESTAMP: without an offset, the time is UTC.
export function timestamp(value: string): string {
  const parsed = utcTimestamp.safeParse(value)
  if (!parsed.success) throw new InvalidArgumentError(timestampProblem)
  return parsed.data
}

export function list(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  if (items.length === 0) throw new InvalidArgumentError('must be a comma-separated list')
  return items
}

export function port(value: string): string {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a TCP port (0 to 65535)')
  return value
}
