import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject } from 'ajv'
import formats from 'ajv-formats'

// Validates JSON against the schemas of the published Cloud API specification
// (docs/cloud-api/openapi.json, the published document kept as it is): never a hand-written copy.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const specPath = join(repoRoot, 'docs', 'cloud-api', 'openapi.json')

interface Operation {
  responses: Record<string, { content?: { 'application/json'?: { schema?: { $ref?: string } } } }>
}
interface Spec {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}

export const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Spec

/**
 * The strict copy forbids the properties a schema does not declare, so an
 * answer cannot carry an invented field. A name the specification requires
 * without declaring it (Cluster.is_customer_cloud_account) counts as declared.
 */
function strictCopy(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictCopy)
  if (schema === null || typeof schema !== 'object') return schema
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) copy[key] = key === 'example' ? value : strictCopy(value)
  if (isObject(copy.properties) && copy.additionalProperties === undefined) {
    const properties: Record<string, unknown> = { ...copy.properties }
    for (const name of (copy.required as string[] | undefined) ?? []) properties[name] ??= {}
    copy.properties = properties
    copy.additionalProperties = false
  }
  return copy
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

// OpenAPI 3.0 on a draft-07 validator: ajv knows `nullable`; `example` is only
// an annotation; ajv-formats brings int32, int64, float, double and byte. The
// specification requires a few names it does not declare, which strict mode
// would take for a typo in the schema.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false })
formats.default(ajv)
ajv.addKeyword({ keyword: 'example' })
ajv.addKeyword({ keyword: 'components' })
ajv.addSchema({ $id: 'strict', components: { schemas: strictCopy(spec.components.schemas) } })
ajv.addSchema({ $id: 'loose', components: { schemas: spec.components.schemas } })

function describe(error: ErrorObject): string {
  const extra = error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : ''
  return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`
}

/** Problems of `value` as an instance of the named schema; empty when it conforms. */
export function validateAgainstSpec(schemaName: string, value: unknown, options: { strict?: boolean } = {}): string[] {
  if (spec.components.schemas[schemaName] === undefined) return [`the specification has no schema ${schemaName}`]
  const validate = ajv.getSchema(`${options.strict === false ? 'loose' : 'strict'}#/components/schemas/${schemaName}`)
  if (validate === undefined) throw new Error(`cannot compile schema ${schemaName}`)
  return validate(value) ? [] : (validate.errors ?? []).map(describe)
}

function templateMatches(template: string, path: string): boolean {
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')
  return new RegExp(`^${pattern}$`).test(path)
}

/**
 * The schema the specification gives for an answer: the 200 schema of the
 * operation for a success, Status (its default answer) for an error.
 */
export function answerSchemaName(method: string, path: string, status: number): string {
  const pathname = path.replace(/\?.*$/s, '')
  // A literal path segment beats a parameter: the fewest parameters win.
  const template = Object.keys(spec.paths)
    .filter((candidate) => templateMatches(candidate, pathname) && spec.paths[candidate]?.[method.toLowerCase()])
    .sort((a, b) => a.split('{').length - b.split('{').length)[0]
  const operation = template === undefined ? undefined : spec.paths[template]?.[method.toLowerCase()]
  const answer = status >= 200 && status < 300 ? operation?.responses['200'] : operation?.responses.default
  const ref = answer?.content?.['application/json']?.schema?.$ref
  return ref === undefined ? 'Status' : ref.replace('#/components/schemas/', '')
}
