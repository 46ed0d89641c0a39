/**
 * Schema validation: one Ajv for bodies (no type coercion, so `null` never becomes 0 and "0.5" is not a
 * number) and one for query strings and path parameters (which are text and must be coerced).
 * Failures become the FastAPI-style 422 list `{loc, msg, type}` that clients already parse.
 */
import { Ajv, type ErrorObject } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import { decodeHotkey } from '../crypto/sr25519.ts'
import { validationError } from '../errors.ts'
import type { ValidationItem } from '../schemas/common.ts'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

const bodyAjv = addFormats(
  new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false }),
)
const textAjv = addFormats(
  new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false }),
)

/** The only text an integer parameter may be: plain decimal digits, an optional minus, no leading zeros. */
const PLAIN_INTEGER = /^(0|-?[1-9][0-9]*)$/

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return bodyAjv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>
  const validate = textAjv.compile(schema as object)
  // Ajv's coercion reads " " as 0, "+1", "00001" and "1e0" as 1 and "0x10" as 16: an integer in a path or
  // query must be written one way only, checked on the text before coercion.
  const integers = Object.entries((schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {})
    .filter(([, property]) => property.type === 'integer')
    .map(([name]) => name)
  return ((data: Record<string, unknown> | null) => {
    for (const name of integers) {
      const raw = data?.[name]
      for (const text of Array.isArray(raw) ? raw : [raw]) {
        if (typeof text === 'string' && !PLAIN_INTEGER.test(text)) {
          return {
            error: [
              {
                instancePath: `/${name}`,
                keyword: 'pattern',
                message: `must be a plain decimal integer, got "${text}"`,
                params: {},
              },
            ],
          }
        }
      }
    }
    return validate(data) ? true : { error: validate.errors ?? [] }
  }) as unknown as ReturnType<FastifySchemaCompiler<unknown>>
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' }

export function toValidationItems(errors: readonly Partial<ErrorObject>[], context: string): ValidationItem[] {
  return errors.map((e) => {
    const loc: Array<string | number> = [PART_NAMES[context] ?? context]
    for (const part of (e.instancePath ?? '').split('/').slice(1)) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~')
      loc.push(/^\d+$/.test(key) ? Number(key) : key)
    }
    const params = (e.params ?? {}) as Record<string, unknown>
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      loc.push(params.missingProperty)
      return { loc, msg: 'Field required', type: 'missing' }
    }
    if (e.keyword === 'type')
      return { loc, msg: `Input should be of type ${String(params.type)}`, type: `type_error.${String(params.type)}` }
    return { loc, msg: e.message ?? 'invalid value', type: `value_error.${e.keyword ?? 'invalid'}` }
  })
}

/**
 * A hotkey named in a URL. Another spelling of a valid key is refused with the canonical address to use
 * (one key is one miner); anything that is no key at all is looked up as given and simply not found.
 */
export function refuseOtherSpelling(value: string, loc: Array<string | number>): void {
  const decoded = decodeHotkey(value)
  if ('error' in decoded && decoded.canonical !== undefined) throw validationError(loc, decoded.error)
}
