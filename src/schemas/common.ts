/** Schemas shared by many routes: errors, auth headers, amounts, and the nullable and one-of wrappers. */
import { Type, type Static, type TLiteral, type TSchema, type TSchemaOptions, type TUnion } from 'typebox'

/** `t` or null. */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

/** One of a list of names declared once elsewhere: the union of their literals, in the list's order. */
export const OneOf = <const T extends readonly string[]>(names: T, options?: TSchemaOptions) =>
  Type.Union(
    names.map((name) => Type.Literal(name)),
    options,
  ) as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>

/** A validation item in the FastAPI shape clients already parse. */
export const ValidationItem = Type.Object({
  loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
  msg: Type.String(),
  type: Type.String(),
})
export type ValidationItem = Static<typeof ValidationItem>

export const ErrorResponse = Type.Object(
  {
    detail: Type.Union([Type.String(), Type.Array(ValidationItem)], {
      description: 'What was wrong: a message, or for 422 a list of {loc, msg, type}.',
    }),
    code: Type.String({ description: 'Stable POOL_ERR_* identifier (see the error table).' }),
  },
  { $id: 'ErrorResponse', description: 'Every error body.' },
)
export type ErrorResponse = Static<typeof ErrorResponse>

export const errorRef = Type.Unsafe<ErrorResponse>({ $ref: 'ErrorResponse#' })

/** Standard error responses for a route, by status. */
export const errors = (...statuses: number[]): Record<number, typeof errorRef> =>
  Object.fromEntries(statuses.map((s) => [s, { ...errorRef, description: STATUS_TEXT[s] ?? 'Error' }]))

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Authentication failed',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Body too large',
  422: 'Validation failed',
  429: 'Rate limited',
  503: 'Degraded',
}

export const Units = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]{1,20}$' })], {
  description: 'Unit amount (1 alpha = 10^9 units): an integer up to 2^53 − 1, a decimal string above.',
})

export const Hotkey = Type.String({ minLength: 1, maxLength: 64, description: 'SS58 address (prefix 42).' })

export const IsoTime = Type.String({ description: 'UTC time, ISO 8601.' })

export const walletSecurity = [{ XKey: [], XTimestamp: [], XSignature: [] }]
