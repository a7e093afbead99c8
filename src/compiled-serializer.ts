import fastJson from 'fast-json-stringify'
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import { validatorCompiler } from 'fastify-type-provider-zod'
import { z } from 'zod'

// The hot routes' compilers. Responses go through Fastify's compiled serializer
// (fast-json-stringify) fed the JSON Schema of the same zod schema that the OpenAPI
// document shows; request parts made of plain strings are accepted by a check
// derived from their zod schema, and zod itself speaks only for what it refuses.

const serializers = new WeakMap<z.ZodType, (value: unknown) => string>()

type JsonSchema = { [key: string]: unknown }

// zod writes "X or null" as anyOf, which fast-json-stringify can only serve by
// validating each value against the branches (Ajv, compiled at start); its own
// `nullable` says the same without a validator.
function nullableInPlace(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullableInPlace)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: JsonSchema = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, nullableInPlace(value)]))
  const branches = out.anyOf
  if (!Array.isArray(branches) || branches.length !== 2) return out
  const other = branches.find((b: JsonSchema) => b.type !== 'null')
  if (other === undefined || !branches.some((b: JsonSchema) => b.type === 'null')) return out
  const { anyOf: _, ...rest } = out
  return { ...other, ...rest, nullable: true }
}

export function compiledSerializer<T extends z.ZodType>(schema: T): (value: z.output<T>) => string {
  let serialize = serializers.get(schema)
  if (serialize === undefined) {
    serialize = fastJson(nullableInPlace(z.toJSONSchema(schema, { target: 'draft-7', io: 'output' })) as object) as (value: unknown) => string
    serializers.set(schema, serialize)
  }
  return serialize
}

// Typed for any route schema: a route's own types are inferred from its zod schemas.
export const hotSerializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) => compiledSerializer(schema as z.ZodType)

interface Bounds {
  name: string
  min: number
  max: number
}

// The fields of an object of plain strings with their length bounds; any other
// check (a pattern, a format, a transform) is refused here so that it cannot be skipped.
function stringFields(schema: z.ZodType): Bounds[] {
  if (!(schema instanceof z.ZodObject)) throw new Error('a fast check needs an object schema')
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    if (!(field instanceof z.ZodString)) throw new Error(`${name}: a fast check handles plain strings only`)
    for (const check of field._zod.def.checks ?? []) {
      const kind = check._zod.def.check
      if (kind !== 'min_length' && kind !== 'max_length') throw new Error(`${name}: a fast check cannot apply ${kind}`)
    }
    return { name, min: field.minLength ?? 0, max: field.maxLength ?? Infinity }
  })
}

export function stringFieldsCheck(schema: z.ZodType): (value: unknown) => boolean {
  const fields = stringFields(schema)
  return (value) => {
    if (typeof value !== 'object' || value === null) return false
    for (const { name, min, max } of fields) {
      const field = (value as Record<string, unknown>)[name]
      if (typeof field !== 'string' || field.length < min || field.length > max) return false
    }
    return true
  }
}

// What passes the fast check is taken as it is; the rest goes to zod, whose errors the error handler knows.
export const hotValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const accepts = stringFieldsCheck(route.schema as z.ZodType)
  const zod = validatorCompiler(route as Parameters<typeof validatorCompiler>[0])
  return (value: unknown) => (accepts(value) ? { value } : zod(value))
}
