import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import formats from 'ajv-formats'

// The sidecar's own OpenAPI document (openapi/openapi.json, generated from the
// routes), read as it is, and what it promises about each answer.

interface Answer {
  content?: Record<string, { schema?: unknown }>
}
interface Operation {
  responses: Record<string, Answer>
}
interface Document {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}

export const document = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as Document

/**
 * OpenAPI 3.0 schemas on a draft-07 validator. Ajv knows `nullable` next to a
 * `type` only; zod writes it next to an `anyOf` or an `allOf` too (Event.data,
 * Clusters.stream), where it means "this, or null". Refs are made to point
 * into the document, added to ajv under the id `sidecar`.
 */
function normalize(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(normalize)
  if (schema === null || typeof schema !== 'object') return schema
  const copy: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) copy[k] = k === '$ref' && typeof v === 'string' ? `sidecar${v}` : normalize(v)
  if (copy.nullable !== true || copy.type !== undefined) return copy
  const { nullable: _, ...rest } = copy
  return { anyOf: [rest, { type: 'null' }] }
}

const ajv = new Ajv({ allErrors: true, strict: true })
formats.default(ajv)
ajv.addKeyword({ keyword: 'components' })
ajv.addSchema({ $id: 'sidecar', components: normalize(document.components) })

export const operations = Object.entries(document.paths).flatMap(([template, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ template, method: method.toUpperCase(), operation }))
)

function templateRegExp(template: string): RegExp {
  return new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`)
}

// The operation Fastify routes a request to: a literal path beats a parameter.
// HEAD is answered by the GET route.
export function operationFor(method: string, rawPath: string): Operation | undefined {
  const pathname = rawPath.replace(/[?#].*$/s, '')
  const wanted = method === 'HEAD' ? 'GET' : method
  return operations
    .filter((o) => o.method === wanted && templateRegExp(o.template).test(pathname))
    .sort((a, b) => a.template.split('{').length - b.template.split('{').length)[0]?.operation
}

const validators = new Map<string, ReturnType<typeof ajv.compile>>()

function validatorFor(schema: unknown): ReturnType<typeof ajv.compile> {
  const key = JSON.stringify(schema)
  let validate = validators.get(key)
  if (validate === undefined) {
    validate = ajv.compile(normalize(schema) as object)
    validators.set(key, validate)
  }
  return validate
}

const errorSchema = { $ref: '#/components/schemas/Error' }

/**
 * Whether an answer keeps the document's promises. A status the operation
 * declares must carry its schema; any other status (no such route, a refusal
 * of the HTTP layer) must be a 4xx with the Error body every route shares.
 */
export function answerProblems(method: string, rawPath: string, status: number, contentType: string, text: string): string[] {
  const operation = operationFor(method, rawPath)
  const declared = operation?.responses[String(status)]
  if (declared === undefined && (status < 400 || status >= 500)) return [`status ${status} is not declared for ${method} ${rawPath}`]
  if (method === 'HEAD') return []
  const schema = declared === undefined ? errorSchema : declared.content?.['application/json']?.schema
  if (schema === undefined) {
    // A route that is not JSON declares its media type (the status page, its stream), or answers text/plain.
    const media = Object.keys(declared?.content ?? {})[0] ?? 'text/plain'
    return contentType.startsWith(media) ? [] : [`content-type ${contentType}, not ${media}`]
  }
  if (!contentType.startsWith('application/json')) return [`content-type ${contentType}, not application/json`]
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return [`not JSON: ${text.slice(0, 200)}`]
  }
  const validate = validatorFor(schema)
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}: ${text.slice(0, 300)}`)
}
