import { InvalidArgumentError } from 'commander'
import { z } from 'zod'

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

const rfc3339 = z.iso.datetime({ offset: true })

export function timestamp(value: string): string {
  if (!rfc3339.safeParse(value).success) throw new InvalidArgumentError('must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z')
  return value
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
