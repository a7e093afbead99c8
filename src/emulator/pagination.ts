import { invalidArgument } from './cloud-error.js'

// Keyset pagination as the Cloud API does it: the answer's next_page token
// names the last item returned, and the next request continues after it, so
// pages stay stable while items are added. As the real API, a page that is
// exactly full carries next_page even when nothing follows (the page after it
// is empty); every page with items before it carries previous_page; and
// pagination.as_of_time leaves out the items created after that time.

export type SortOrder = 'ASC' | 'DESC'

export interface PageRequest {
  /** From next_page: the items after this key. */
  after?: string[]
  /** From previous_page: the items before this key (or up to it, inclusive). */
  before?: { key: string[]; inclusive: boolean }
  limit: number
  order: SortOrder
  /** pagination.as_of_time, in epoch ms. */
  asOf?: number
}

export interface Page<T> {
  items: T[]
  pagination: { next_page?: string; previous_page?: string }
}

export const DEFAULT_PAGE_LIMIT = 100

type Query = Record<string, unknown>

/**
 * One query parameter as a string. Empty reads as unset, as proto3 has it; a
 * repeated parameter is refused.
 */
export function queryParam(query: Query, name: string): string | undefined {
  const value = query[name]
  if (value === undefined || value === '') return undefined
  if (typeof value === 'string') return value
  throw invalidArgument(`query parameter ${name} must be given once`)
}

export function parsePageRequest(query: Query): PageRequest {
  const token = queryParam(query, 'pagination.page')
  const limit = queryParam(query, 'pagination.limit')
  const order = queryParam(query, 'pagination.sort_order') ?? 'ASC'
  if (order !== 'ASC' && order !== 'DESC') {
    throw invalidArgument(`pagination.sort_order must be ASC or DESC, got ${JSON.stringify(order)}`)
  }
  if (limit !== undefined && !/^\d+$/.test(limit)) {
    throw invalidArgument(`pagination.limit must be a non-negative integer, got ${JSON.stringify(limit)}`)
  }
  // Proto3 reads 0 as unset, so a zero limit means the default page size.
  const request: PageRequest = { limit: Number(limit ?? 0) || DEFAULT_PAGE_LIMIT, order }
  if (token !== undefined) Object.assign(request, decodeToken(token))
  const asOf = queryParam(query, 'pagination.as_of_time')
  if (asOf !== undefined) request.asOf = parseTime(asOf)
  return request
}

// RFC 3339, as protojson reads a Timestamp: a date, a time, any fraction, and Z or an offset.
function parseTime(value: string): number {
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(at)) throw invalidArgument(`pagination.as_of_time must be an RFC 3339 time, got ${JSON.stringify(value)}`)
  return at
}

/**
 * One page of `items`, ordered by `key`. `createdAt` (epoch ms) places an item
 * in time for pagination.as_of_time; without it every item counts as old.
 */
export function paginate<T>(
  items: T[],
  key: (item: T) => string[],
  request: PageRequest,
  createdAt?: (item: T) => number
): Page<T> {
  const direction = request.order === 'ASC' ? 1 : -1
  // Negative: a comes before b in the requested order.
  const order = (a: string[], b: string[]) => direction * compareKeys(a, b)
  const asOf = request.asOf
  const listed = items.filter((item) => asOf === undefined || createdAt === undefined || createdAt(item) <= asOf)
  const sorted = listed.sort((a, b) => order(key(a), key(b)))
  const { after, before, limit } = request
  let page: T[]
  if (before !== undefined) {
    const earlier = sorted.filter((item) => order(key(item), before.key) < (before.inclusive ? 1 : 0))
    page = earlier.slice(-limit)
  } else {
    page = (after === undefined ? sorted : sorted.filter((item) => order(key(item), after) > 0)).slice(0, limit)
  }
  const first = page[0]
  const last = page.at(-1)
  const pagination: Page<T>['pagination'] = {}
  // Forward, a full page always offers a next one; going back, there is one when something follows.
  const more = before === undefined ? page.length === limit : sorted.some((item) => order(key(item), key(last as T)) > 0)
  if (last !== undefined && more) pagination.next_page = encodeToken(key(last))
  // An empty page reached going forward leads back to the items up to where it began.
  const back = first !== undefined ? { key: key(first), inclusive: false } : after !== undefined ? { key: after, inclusive: true } : undefined
  if (back !== undefined && sorted.some((item) => order(key(item), back.key) < (back.inclusive ? 1 : 0))) {
    pagination.previous_page = encodeToken(back.key, back.inclusive ? 'through' : 'before')
  }
  return { items: page, pagination }
}

// NUL sorts before every other character, so joining on it keeps the order of
// the parts (no key part contains it).
function compareKeys(a: string[], b: string[]): number {
  const x = a.join('\u0000')
  const y = b.join('\u0000')
  return x === y ? 0 : x < y ? -1 : 1
}

// A next_page token is the JSON array of the key; a previous_page token says
// which way it points.
function encodeToken(key: string[], direction?: 'before' | 'through'): string {
  return Buffer.from(JSON.stringify(direction === undefined ? key : { [direction]: key })).toString('base64url')
}

function decodeToken(token: string): Pick<PageRequest, 'after' | 'before'> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  if (isKey(value)) return { after: value }
  const { before, through } = (value ?? {}) as { before?: unknown; through?: unknown }
  if (isKey(before)) return { before: { key: before, inclusive: false } }
  if (isKey(through)) return { before: { key: through, inclusive: true } }
  throw invalidArgument('pagination.page is not a page token this API returned')
}

function isKey(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((part) => typeof part === 'string')
}
