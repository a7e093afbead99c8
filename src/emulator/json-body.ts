import type { z } from 'zod'
import { invalidArgument } from './api-error.js'

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

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
  throw invalidArgument(`invalid ${what}: ${issues.join('; ')}`)
}
