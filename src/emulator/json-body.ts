import type { z } from 'zod'
import { invalidArgument } from './cloud-error.js'

// Request bodies arrive as text (see createEmulator), so each route decides
// whether it needs JSON and how to complain when it is not.

export type JsonBody = { ok: true; value: unknown } | { ok: false; error: string }

/** An absent or empty body reads as undefined. */
export function readJson(raw: string | undefined): JsonBody {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(raw) }
  } catch (error) {
    return { ok: false, error: `the body is not valid JSON (${(error as Error).message})` }
  }
}

export function jsonValue(body: JsonBody): unknown {
  if (!body.ok) throw invalidArgument(body.error)
  return body.value
}

/**
 * The field names of a request body as the proto declares them. protojson,
 * which the API's gateway reads bodies with, takes a field under its proto name
 * (snake_case) or its JSON name (lowerCamelCase), but not both at once.
 */
export function protoNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(protoNames)
  if (value === null || typeof value !== 'object') return value
  const fields = new Map<string, unknown>()
  for (const [name, field] of Object.entries(value)) {
    const proto = name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)
    if (fields.has(proto)) throw invalidArgument(`the body gives field ${proto} twice (as ${proto} and in camelCase)`)
    fields.set(proto, protoNames(field))
  }
  return Object.fromEntries(fields)
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
  throw invalidArgument(`invalid ${what}: ${issues.join('; ')}`)
}
