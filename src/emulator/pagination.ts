import { invalidArgument } from './api-error.js'

// Keyset pagination as the Cloud API does it: the answer's next_page token
// names the last item returned, and the next request continues after it, so
// pages stay stable while items are added.

export type SortOrder = 'ASC' | 'DESC'

export interface PageRequest {
  after?: string[]
  limit: number
  order: SortOrder
}

export interface Page<T> {
  items: T[]
  pagination: { next_page?: string }
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
  if (token !== undefined) request.after = decodeToken(token)
  return request
}

export function paginate<T>(items: T[], key: (item: T) => string[], request: PageRequest): Page<T> {
  const direction = request.order === 'ASC' ? 1 : -1
  const sorted = [...items].sort((a, b) => direction * compareKeys(key(a), key(b)))
  const after = request.after
  const rest = after === undefined ? sorted : sorted.filter((item) => direction * compareKeys(key(item), after) > 0)
  const page = rest.slice(0, request.limit)
  const last = rest.length > page.length ? page.at(-1) : undefined
  return { items: page, pagination: last === undefined ? {} : { next_page: encodeToken(key(last)) } }
}

// NUL sorts before every other character, so joining on it keeps the order of
// the parts (no key part contains it).
function compareKeys(a: string[], b: string[]): number {
  const x = a.join('\u0000')
  const y = b.join('\u0000')
  return x === y ? 0 : x < y ? -1 : 1
}

function encodeToken(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

function decodeToken(token: string): string[] {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  if (Array.isArray(key) && key.every((part) => typeof part === 'string')) return key
  throw invalidArgument('pagination.page is not a page token this API returned')
}
