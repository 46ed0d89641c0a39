/**
 * HTTP fuzzing support (used by test/integration/fuzz.test.ts): a pool whose error log is captured, the
 * operations of the served OpenAPI document, JSON-schema → fast-check arbitraries for the subset the
 * document uses, mutations (wrong types, missing fields, huge and negative numbers, raw JSON tokens such
 * as 2^64, 1e309 and NaN, deep nesting, ~100 KB strings, unicode, NUL bytes, `__proto__` keys), nasty
 * path parameters, query strings and auth headers, and the one check every response must pass.
 *
 * Values that only exist while the fuzzer runs (lease and batch ids, algorithm ids) are generated as
 * `Ref` placeholders and resolved when the request is sent, from what earlier responses returned.
 */
import fc from 'fast-check'
import { pino } from 'pino'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { signedHeaders } from '../../src/crypto/keys.ts'
import { ERROR_TABLE } from '../../src/errors.ts'
import { evolvedProgram, reformattedProgram, type TestMiner } from './miner.ts'
import { twoBytePrefixSpelling } from './ss58.ts'
import { startTestPool, type TestPool } from './pool.ts'

// --- a pool whose error log is kept -------------------------------------------------------------------

export interface FuzzPool extends TestPool {
  /** Every log line at level error or above (pino JSON), e.g. the stack behind a 500. */
  errorLogs: string[]
}

/** A test pool whose app logs errors into `errorLogs`, so a 500 found by the fuzzer comes with its stack. */
export async function startFuzzPool(env: Record<string, string> = {}): Promise<FuzzPool> {
  const errorLogs: string[] = []
  const logger = pino(
    { level: 'error' },
    {
      write: (line: string) => {
        errorLogs.push(line)
      },
    },
  )
  return { ...(await startTestPool(env, {}, { logger })), errorLogs }
}

// --- the OpenAPI document -------------------------------------------------------------------------------

export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  nullable?: boolean
  $ref?: string
}

export interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>
        requestBody?: { content?: Record<string, { schema?: JsonSchema }> }
        responses?: Record<string, { content?: Record<string, unknown> }>
        security?: Array<Record<string, unknown>>
        description?: string
      }
    >
  >
  components?: { schemas?: Record<string, JsonSchema> }
}

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'
  path: string
  pathParams: Array<{ name: string; schema: JsonSchema }>
  queryParams: Array<{ name: string; required: boolean; schema: JsonSchema }>
  body: JsonSchema | undefined
  /** Needs the wallet signature headers. */
  signed: boolean
  /** Signed over `recipient_coldkey:update:{ts}:{recipient}` rather than `auth:{ts}`. */
  recipientSigned: boolean
  /** Answers text/markdown on success. */
  markdown: boolean
  documentedStatuses: Set<number>
}

export const operationKey = (op: Pick<Operation, 'method' | 'path'>): string => `${op.method} ${op.path}`

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters = op.parameters ?? []
      const security = JSON.stringify(op.security ?? [])
      ops.push({
        method: method.toUpperCase() as Operation['method'],
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        queryParams: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: p.required === true, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema,
        signed: security.includes('XKey'),
        recipientSigned: security.includes('XKey') && (op.description ?? '').includes('recipient_coldkey:update'),
        markdown:
          Object.keys(op.responses?.['200']?.content ?? {}).some((t) => t.startsWith('text/markdown')) ||
          path.endsWith('.md'),
        documentedStatuses: new Set(Object.keys(op.responses ?? {}).map(Number)),
      })
    }
  }
  return ops
}

function deref(schema: JsonSchema, doc: OpenApiDocument): JsonSchema {
  let s = schema
  for (let hops = 0; s.$ref !== undefined && hops < 8; hops++) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '').replace(/#$/, '')
    const target = doc.components?.schemas?.[name]
    if (target === undefined) throw new Error(`unresolvable $ref ${s.$ref}`)
    s = target
  }
  return s
}

// --- placeholders and raw JSON ------------------------------------------------------------------------

/** A JSON token written as is (2^64, 1e309, -0, NaN…), which JSON.stringify cannot produce. */
export class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return `raw(${this.text})`
  }
  toJSON(): string {
    return this.toString()
  }
}
export const raw = (text: string): RawJson => new RawJson(text)

/**
 * `assignment`, `algorithm`: the i-th harvested id of that kind (modulo how many there are).
 * `own`: the signing miner's own live assignment id. `submission`: a whole submission body that fits the
 * signing miner's own assignment (its evaluate set scored, an evolution of one of its seeds), `i` choosing
 * the scores and the program.
 */
export type RefKind = 'assignment' | 'algorithm' | 'own' | 'submission'

/** A value known only when the request is sent. */
export class Ref {
  constructor(
    readonly kind: RefKind,
    readonly i: number,
  ) {}
  toString(): string {
    return `ref(${this.kind}#${this.i})`
  }
  toJSON(): string {
    return this.toString()
  }
}

/** A miner's live lease or batch: its id, kind, and the algorithms it was handed. */
export interface OwnAssignment {
  id: string
  kind: 'lease' | 'evolve' | 'evaluate'
  evaluate: number[]
  seeds: number[]
}

const SCORES = [0.5, 0.5, 0.51, 0.9, 0, 1, null, 0.123456789, 5e-324, 0.5000001]

/** What the fuzzer learnt from successful responses. */
export class Harvest {
  readonly assignments: string[] = []
  readonly algorithms: number[] = []
  /** The live lease or batch of each miner (by hotkey), as its 200 answer described it. */
  readonly own = new Map<string, OwnAssignment>()

  /** Remembers a lease or batch `miner` was given, or forgets it once submitted. */
  learnOwn(miner: string, body: unknown): void {
    const b = (body ?? {}) as Record<string, unknown>
    const ids = (list: unknown): number[] =>
      Array.isArray(list) ? list.map((a) => Number((a as { id?: unknown }).id)).filter(Number.isSafeInteger) : []
    if (typeof b.status === 'string' && b.status === 'accepted') {
      this.own.delete(miner)
    } else if (typeof b.lease_id === 'string') {
      this.own.set(miner, {
        id: b.lease_id,
        kind: 'lease',
        evaluate: ids(b.evaluate_algorithms),
        seeds: ids(b.seed_algorithms),
      })
    } else if (typeof b.batch_id === 'string' && (b.task_type === 'evolve' || b.task_type === 'evaluate')) {
      const algorithms = ids(b.algorithms)
      this.own.set(miner, {
        id: b.batch_id,
        kind: b.task_type,
        evaluate: b.task_type === 'evaluate' ? algorithms : [],
        seeds: b.task_type === 'evolve' ? algorithms : [],
      })
    }
  }

  /** A submission body for the miner's own assignment (see RefKind). */
  submission(miner: string, i: number): unknown {
    const a = this.own.get(miner)
    if (a === undefined) return { evaluations: [], evolutions: [] }
    const evaluations = a.evaluate
      .filter((_, j) => (i >> j) % 7 !== 6)
      .map((id, j) => ({ algorithm_id: id, score: SCORES[(i + j) % SCORES.length] }))
    const parents = [...a.seeds, ...a.evaluate].slice(0, 1 + (i % 2))
    if (a.kind === 'evolve')
      return {
        evolved_function: evolvedProgram(i % 50),
        parent_functions: parents.map((id, j) => (j % 2 === 0 ? id : { id })),
      }
    if (a.kind === 'evaluate') return { evaluations }
    return {
      evaluations,
      evolutions:
        i % 3 === 0
          ? []
          : [
              {
                parent_algorithm_ids: parents,
                algorithm_dsl: i % 5 === 0 ? reformattedProgram(i % 50) : evolvedProgram(i % 50),
              },
            ],
    }
  }

  /** Records ids found in a 2xx JSON body (lease and batch ids, algorithm ids). */
  learn(body: unknown): void {
    const visit = (v: unknown, key: string | undefined, depth: number): void => {
      if (depth > 6 || v === null || typeof v !== 'object') {
        if (typeof v === 'string' && (key === 'lease_id' || key === 'batch_id') && !this.assignments.includes(v))
          this.assignments.push(v)
        if (
          typeof v === 'number' &&
          Number.isSafeInteger(v) &&
          v > 0 &&
          (key === 'id' || key === 'algorithm_id' || key === 'new_algorithm_ids' || key === 'algorithm_ids') &&
          !this.algorithms.includes(v)
        ) {
          this.algorithms.push(v)
        }
        return
      }
      if (Array.isArray(v)) for (const item of v) visit(item, key, depth + 1)
      else for (const [k, item] of Object.entries(v)) visit(item, k, depth + 1)
    }
    visit(body, undefined, 0)
  }

  resolve(ref: Ref, miner: string): unknown {
    if (ref.kind === 'own') return this.own.get(miner)?.id ?? this.resolve(new Ref('assignment', ref.i), miner)
    if (ref.kind === 'submission') return this.submission(miner, ref.i)
    const list: Array<string | number> = ref.kind === 'assignment' ? this.assignments : this.algorithms
    if (list.length === 0) return ref.kind === 'assignment' ? '00000000-0000-4000-8000-000000000000' : 1
    return list[ref.i % list.length]!
  }
}

/** A deep copy keeping RawJson and Ref instances (structuredClone would turn them into plain objects). */
export function clone(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof RawJson || v instanceof Ref) return v
  if (Array.isArray(v)) return v.map(clone)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) setOwn(out, k, clone((v as Record<string, unknown>)[k]))
  return out
}

/** Sets an own enumerable property, also for `__proto__` (plain assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

export function resolveRefs(v: unknown, harvest: Harvest, miner: string): unknown {
  if (v instanceof Ref) return harvest.resolve(v, miner)
  if (v === null || typeof v !== 'object' || v instanceof RawJson) return v
  if (Array.isArray(v)) return v.map((item) => resolveRefs(item, harvest, miner))
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) setOwn(out, k, resolveRefs((v as Record<string, unknown>)[k], harvest, miner))
  return out
}

/** JSON text of a value that may hold RawJson tokens and own `__proto__` keys. */
export function toJsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text
  if (v instanceof Ref) return JSON.stringify(v.toString())
  if (v === undefined) return 'null'
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null'
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`
  return `{${Object.keys(v)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${toJsonText((v as Record<string, unknown>)[k])}`)
    .join(',')}}`
}

/**
 * Arrays or objects nested `depth` levels deep, as JSON text: the pool parses them into deep values, while
 * the fuzzer's own copying and printing never recurse through them.
 */
export function nested(depth: number, kind: 'array' | 'object', core = '1'): RawJson {
  return raw(
    kind === 'array'
      ? `${'['.repeat(depth)}${core}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}${core}${'}'.repeat(depth)}`,
  )
}

// --- nasty values ---------------------------------------------------------------------------------------

export const LONG_ASCII = 'x'.repeat(100_000)
export const LONG_UNICODE = 'ä中💥\u0301\u202e'.repeat(16_000)
const NUMBER_TOKENS = [
  '18446744073709551616',
  '18446744073709551615',
  '-18446744073709551616',
  '9223372036854775808',
  '9223372036854775807',
  '-9223372036854775809',
  '9007199254740993',
  '9007199254740992',
  '1e309',
  '-1e309',
  '1E400',
  '-0',
  '1e-400',
  '4.9e-324',
  '123456789012345678901234567890',
  '1.0',
  '2e0',
  '0.0',
  '1e2',
  '-1.5e300',
]
const NASTY_STRINGS = [
  '',
  ' ',
  '\t\n',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '0x10',
  '-1',
  '0',
  '1',
  '1.5',
  '١٢٣',
  'null',
  'true',
  'undefined',
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(64),
  '\uD800',
  '\uDFFF\uD800',
  '\u202E',
  '\uFEFF',
  'ﷺ',
  '💥',
  'Ω≈ç√∫',
  '../../etc/passwd',
  '..\\..\\windows',
  "' OR '1'='1",
  '"; drop table miners; --',
  '<script>alert(1)</script>',
  '%00',
  '%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '${7*7}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'evaluate',
  'evolve',
  'cifar10_binary',
  'cifar10_binary\u0000',
]

export function nastyValue(addresses: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom<unknown>(
        -1,
        0,
        1,
        -0.5,
        0.5,
        1.5,
        2 ** 31,
        2 ** 32,
        2 ** 53,
        -(2 ** 53),
        1e308,
        -1e308,
        5e-324,
        true,
        false,
        null,
        [],
        {},
        [null],
        [[]],
        { '': '' },
      ),
    },
    { weight: 4, arbitrary: fc.constantFrom(...NUMBER_TOKENS).map(raw) },
    { weight: 1, arbitrary: fc.constantFrom('NaN', '-Infinity', 'Infinity').map(raw) },
    { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 1, arbitrary: fc.constantFrom(LONG_ASCII, LONG_UNICODE) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.constantFrom(...addresses) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(10, 64, 65, 100, 1000, 10_000, 20_000),
          fc.constantFrom('array' as const, 'object' as const),
          fc.constantFrom('1', '"\\u0000"', '"x"'),
        )
        .map(([d, k, core]) => nested(d, k, core)),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  )
}

// --- schema → arbitrary -------------------------------------------------------------------------------

export interface SchemaContext {
  doc: OpenApiDocument
  /** Valid SS58 addresses (prefix 42): miners, recipients. */
  addresses: readonly string[]
  taskTypes: readonly string[]
  /** Known good bodies per operation key (e.g. real claim packages), sent as is and mutated. */
  examples?: Record<string, unknown[]>
}

const ID_KEYS = new Set(['algorithm_id', 'id', 'parent_algorithm_ids', 'parent_functions', 'result_id'])
const ADDRESS_KEYS = new Set(['hotkey', 'recipient_coldkey', 'coldkey_address', 'miner_hotkey', 'public_address'])
const DSL_KEYS = new Set(['algorithm_dsl', 'evolved_function'])

/** Programs: valid ones, the same with a line broken, and junk. */
export function dslValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: 1_000_000 }).map(evolvedProgram),
    fc.nat({ max: 1_000_000 }).map(reformattedProgram),
    fc
      .tuple(
        fc.nat({ max: 1000 }),
        fc.nat(),
        fc.constantFrom(
          's2 = 1e309',
          's2 = 99999999999999999999999',
          'v1 = dot(v1, v1, v1)',
          's999999999 = 1',
          'm0 = m0 * m0',
          '# meta: scalar_count=99999999999',
          `s0 = ${'('.repeat(2000)}1${')'.repeat(2000)}`,
          'CONST NaN -> s2',
          '\u0000',
          'setup:',
          '',
        ),
      )
      .map(([k, line, junk]) => {
        const lines = evolvedProgram(k).split('\n')
        lines[line % lines.length] = junk
        return lines.join('\n')
      }),
    fc.string({ maxLength: 200 }),
  )
}

/** Values valid for `schema` (bounded sizes), with domain hints for the keys the pool gives meaning to. */
export function schemaArb(schema: JsonSchema, ctx: SchemaContext, key?: string, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(schema, ctx.doc)
  const hinted = hint(s, ctx, key)
  const base = plainSchemaArb(s, ctx, key, depth)
  const withNull =
    s.nullable === true ? fc.oneof({ weight: 4, arbitrary: base }, { weight: 1, arbitrary: fc.constant(null) }) : base
  return hinted === undefined ? withNull : fc.oneof(withNull, hinted)
}

function hint(s: JsonSchema, ctx: SchemaContext, key: string | undefined): fc.Arbitrary<unknown> | undefined {
  if (key === undefined) return undefined
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  if (ADDRESS_KEYS.has(key) && type === 'string')
    return fc.constantFrom(...ctx.addresses, ...ctx.addresses.map((a) => ` ${a}\n`))
  if (key === 'task_type' && type === 'string' && s.enum === undefined) return fc.constantFrom(...ctx.taskTypes)
  if (DSL_KEYS.has(key) && type === 'string') return dslValue()
  if (ID_KEYS.has(key) && type === 'integer') return fc.nat().map((i) => new Ref('algorithm', i))
  return undefined
}

function plainSchemaArb(
  s: JsonSchema,
  ctx: SchemaContext,
  key: string | undefined,
  depth: number,
): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum !== undefined && s.enum.length > 0) return fc.constantFrom(...s.enum)
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives !== undefined && alternatives.length > 0)
    return fc.oneof(...alternatives.map((a) => schemaArb(a, ctx, key, depth)))
  if (s.allOf !== undefined && s.allOf.length > 0) return schemaArb(s.allOf[0]!, ctx, key, depth)
  const type = Array.isArray(s.type) ? s.type : s.type === undefined ? undefined : [s.type]
  if (type === undefined) {
    return s.properties !== undefined ? objectArb(s, ctx, depth) : fc.jsonValue({ maxDepth: 2 })
  }
  if (type.length > 1) return fc.oneof(...type.map((t) => plainSchemaArb({ ...s, type: t }, ctx, key, depth)))
  switch (type[0]) {
    case 'object':
      return objectArb(s, ctx, depth)
    case 'array': {
      if (depth > 4) return fc.constant([])
      const min = s.minItems ?? 0
      return fc.array(s.items === undefined ? fc.jsonValue({ maxDepth: 1 }) : schemaArb(s.items, ctx, key, depth + 1), {
        minLength: min,
        maxLength: Math.max(min, Math.min(s.maxItems ?? 6, 6)),
      })
    }
    case 'string':
      return stringArb(s)
    case 'integer':
      return integerArb(s.minimum, s.maximum)
    case 'number':
      return numberArb(s.minimum, s.maximum)
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

function objectArb(s: JsonSchema, ctx: SchemaContext, depth: number): fc.Arbitrary<unknown> {
  const properties = s.properties ?? {}
  const required = new Set(s.required ?? [])
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [k, p] of Object.entries(properties)) model[k] = schemaArb(p, ctx, k, depth + 1)
  const record = fc.record(model, { requiredKeys: Object.keys(properties).filter((k) => required.has(k)) })
  if (s.additionalProperties === false) return record
  // Clients repeat public_address, signature and message in submit bodies; any extra field is ignored.
  const extras = fc.dictionary(
    fc.constantFrom('public_address', 'signature', 'message', 'extra', 'x'),
    fc.jsonValue({ maxDepth: 1 }),
    { maxKeys: 3 },
  )
  return fc.tuple(record, extras).map(([r, e]) => ({ ...e, ...r }))
}

/** Inserts a NUL (PostgreSQL text cannot hold one) or another awkward code point somewhere in `text`. */
const spoil = (text: string, at: number, which: number): string => {
  const bad = ['\u0000', '\uD800', '\u202E', '\uFFFF', '💥', '\n', '%00'][which % 7]!
  const i = text.length === 0 ? 0 : at % (text.length + 1)
  return text.slice(0, i) + bad + text.slice(i)
}

function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0
  const maxLength = Math.max(minLength, Math.min(s.maxLength ?? 40, 80))
  if (s.pattern !== undefined) {
    try {
      return fc
        .stringMatching(new RegExp(s.pattern))
        .filter((v) => v.length >= minLength && v.length <= (s.maxLength ?? Infinity))
    } catch {
      // a pattern this generator cannot read: fall back to plain strings
    }
  }
  const plain = fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ minLength, maxLength, unit: 'grapheme' }),
    fc.string({ minLength, maxLength, unit: 'binary' }),
  )
  const fits = (v: string): boolean => v.length >= minLength && v.length <= (s.maxLength ?? Infinity)
  return fc.oneof(
    { weight: 6, arbitrary: plain },
    {
      weight: 2,
      arbitrary: fc
        .tuple(plain, fc.nat(), fc.nat())
        .map(([t, at, which]) => spoil(t, at, which))
        .filter(fits),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...NASTY_STRINGS, ...(s.maxLength === undefined ? [LONG_ASCII, LONG_UNICODE] : []))
        .filter(fits),
    },
  )
}

/** In-range integers, biased to the bounds; where the schema sets no bound, also the far ends of JSON numbers. */
function integerArb(minimum: number | undefined, maximum: number | undefined): fc.Arbitrary<unknown> {
  const min = Math.max(minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER)
  const max = Math.min(maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER)
  const small = fc.integer({
    min: Math.max(min, -(2 ** 31)),
    max: Math.max(Math.max(min, -(2 ** 31)), Math.min(max, 2 ** 31 - 1)),
  })
  const wide = fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number)
  const unbounded: unknown[] = [
    ...(maximum === undefined
      ? [
          Number.MAX_SAFE_INTEGER,
          2 ** 63,
          1e300,
          Number.MAX_VALUE,
          raw('1e309'),
          raw('9223372036854775807'),
          raw('18446744073709551616'),
        ]
      : []),
    ...(minimum === undefined ? [Number.MIN_SAFE_INTEGER, -(2 ** 63), -1e300, raw('-1e309')] : []),
  ]
  return fc.oneof(
    { weight: 4, arbitrary: small },
    { weight: 1, arbitrary: wide },
    { weight: 1, arbitrary: fc.constantFrom(min, max) },
    ...(unbounded.length === 0 ? [] : [{ weight: 1, arbitrary: fc.constantFrom(...unbounded) }]),
  )
}

function numberArb(minimum: number | undefined, maximum: number | undefined): fc.Arbitrary<unknown> {
  const min = minimum ?? -1e12
  const max = maximum ?? 1e12
  const unbounded: unknown[] = [
    ...(maximum === undefined ? [Number.MAX_VALUE, raw('1e309'), 1e300] : []),
    ...(minimum === undefined ? [-Number.MAX_VALUE, raw('-1e309')] : []),
  ]
  return fc.oneof(
    { weight: 4, arbitrary: fc.double({ min, max, noNaN: true, noDefaultInfinity: true }) },
    { weight: 1, arbitrary: fc.constantFrom(min, max, 5e-324) },
    ...(unbounded.length === 0 ? [] : [{ weight: 1, arbitrary: fc.constantFrom(...unbounded) }]),
  )
}

// --- mutations --------------------------------------------------------------------------------------------

export type MutationKind = 'delete' | 'replace' | 'wrap' | 'null' | 'proto' | 'grow' | 'negate'
export interface Mutation {
  at: number
  kind: MutationKind
  value: unknown
}

export function mutationArb(addresses: readonly string[]): fc.Arbitrary<Mutation> {
  return fc.record({
    at: fc.nat(),
    kind: fc.constantFrom<MutationKind>(
      'delete',
      'delete',
      'replace',
      'replace',
      'replace',
      'replace',
      'wrap',
      'null',
      'proto',
      'grow',
      'negate',
    ),
    value: nastyValue(addresses),
  })
}

type PathStep = string | number

function pathsOf(v: unknown, limit = 200): PathStep[][] {
  const out: PathStep[][] = [[]]
  const queue: Array<[unknown, PathStep[]]> = [[v, []]]
  while (queue.length > 0 && out.length < limit) {
    const [node, path] = queue.shift()!
    if (node === null || typeof node !== 'object' || node instanceof RawJson || node instanceof Ref) continue
    const keys: PathStep[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)
    for (const k of keys) {
      const child = [...path, k]
      out.push(child)
      queue.push([(node as Record<PathStep, unknown>)[k], child])
    }
  }
  return out
}

/** Applies the mutations to a copy of `value`; `undefined` stands for "no body at all". */
export function applyMutations(value: unknown, mutations: readonly Mutation[]): unknown {
  let root = clone(value)
  for (const m of mutations) {
    const paths = pathsOf(root)
    const path = paths[m.at % paths.length]!
    const current = path.reduce<unknown>((node, step) => (node as Record<PathStep, unknown>)[step], root)
    let next: unknown
    switch (m.kind) {
      case 'delete':
        next = undefined
        break
      case 'replace':
        next = clone(m.value)
        break
      case 'wrap':
        next = m.at % 2 === 0 ? [current] : { value: current }
        break
      case 'null':
        next = null
        break
      case 'proto': {
        const target: Record<string, unknown> =
          current !== null &&
          typeof current === 'object' &&
          !Array.isArray(current) &&
          !(current instanceof RawJson) &&
          !(current instanceof Ref)
            ? (clone(current) as Record<string, unknown>)
            : {}
        setOwn(target, '__proto__', { polluted: true, eval_batch_size: 64 })
        setOwn(target, 'constructor', { prototype: { polluted: true } })
        next = target
        break
      }
      case 'grow':
        next = Array.isArray(current)
          ? Array.from({ length: 300 }, (_, i) => clone(current[i % Math.max(1, current.length)] ?? null))
          : typeof current === 'string'
            ? current.repeat(Math.ceil(100_000 / Math.max(1, current.length))).slice(0, 100_000)
            : typeof current === 'number'
              ? raw(`${Math.trunc(current)}${'9'.repeat(25)}`)
              : nested(2000, 'array')
        break
      case 'negate':
        next =
          typeof current === 'number'
            ? -current - 1
            : typeof current === 'string'
              ? `-${current}`
              : typeof current === 'boolean'
                ? String(current)
                : 0
        break
    }
    if (path.length === 0) {
      root = next
      continue
    }
    const parent = path.slice(0, -1).reduce<unknown>((node, step) => (node as Record<PathStep, unknown>)[step], root) as
      | Record<PathStep, unknown>
      | unknown[]
    const last = path[path.length - 1]!
    if (next === undefined && Array.isArray(parent)) parent.splice(last as number, 1)
    else if (next === undefined) delete (parent as Record<PathStep, unknown>)[last]
    else setOwn(parent as Record<string, unknown>, String(last), next)
  }
  return root
}

// --- malformed bodies -------------------------------------------------------------------------------------

/** Bodies that are not JSON, or JSON the pool must refuse as such. */
export const MALFORMED_BODIES: readonly string[] = [
  'not json',
  '{',
  '}',
  '[',
  '{"a":',
  '{"a": 1',
  '{"a": 1,}',
  '{"a": 1}}',
  '{"a": 1} trailing',
  '{"a": 1}{"b": 2}',
  '[1, 2,]',
  "{'a': 1}",
  '{a: 1}',
  '{"a": undefined}',
  '{"a": NaN}',
  '{"a": -Infinity}',
  '{"a": Infinity}',
  'NaN',
  '-Infinity',
  'Infinity',
  '{"evaluations": [NaN]}',
  '{"score": [NaN]}',
  '{"x": {"score": NaN}}',
  '{"score": NaN}',
  '{"score": -Infinity}',
  '{"score": Infinity}',
  '{"a": 0x10}',
  '{"a": 01}',
  '{"a": .5}',
  '{"a": 1.}',
  '{"a": +1}',
  '{"a": --1}',
  '{"a": 1e}',
  '{"a": "\\u00"}',
  '{"a": "\\x41"}',
  '{"a": "unterminated}',
  '"',
  '\u0000',
  '{"a": "\u0000"}',
  '\uFEFF{}',
  '{"a":1}\u0000',
  '/* comment */ {}',
  '{} // comment',
  'true',
  'null',
  '0',
  '""',
  '[]',
  '   ',
  '{"__proto__": {"x": 1}}',
  '{"constructor": {"prototype": {"x": 1}}}',
  '{"a": 1, "a": 2}',
  `{"a": ${'1'.repeat(400)}}`,
  `{"a": -${'9'.repeat(400)}}`,
  '{"a": 1e99999}',
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  `${'['.repeat(100_000)}`,
  `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
]

export const OTHER_CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  'application/json-patch+json',
  'application/jsonx',
  'json',
  '*/*',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'text/json; charset=utf-8',
  'application/json;;',
  '',
  'application/json, text/plain',
]

// --- requests --------------------------------------------------------------------------------------------

export type Auth =
  | { kind: 'none' }
  | { kind: 'miner'; miner: number }
  | { kind: 'tampered'; miner: number; tamper: number }
  | { kind: 'headers'; headers: Record<string, string | string[]> }

export type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; mutations: Mutation[] }
  | { kind: 'raw'; text: string; contentType: string | undefined }

export interface PathValue {
  value: string | Ref
  encode: boolean
}
export interface QueryPart {
  key: string
  value: string
  encode: boolean
}

export interface FuzzRequest {
  op: string
  params: Record<string, PathValue>
  query: QueryPart[]
  auth: Auth
  body: Body
  /**
   * For work routes signed by a miner: first put the miner in the state the route is about, as a real
   * client would (submit what it holds before leasing; hold a lease or batch of the right kind before
   * submitting), so that valid requests reach the deep paths instead of "already has active task" or 404.
   * A prepared submission names the miner's own assignment, and a JSON body becomes a submission that fits
   * it (picked by `variant`) before the body's mutations apply.
   */
  prepare: boolean
  variant: number
}

/** Path and query values known to hurt: NUL (PostgreSQL), bad percent-encoding, encoded lone surrogates. */
const PATH_DANGER = [
  '%00',
  'a%00b',
  '\u0000',
  'a\u0000b',
  '%C0%80',
  '%ED%A0%80',
  '%FF',
  '%E2%82',
  '%u0000',
  '%%',
  '%2',
  '%0a',
  '%0d%0aX-Injected: 1',
]

const PATH_NASTY = [
  '-1',
  '0',
  '1',
  '2',
  '1e309',
  '1e3',
  '0x10',
  '1.0',
  '1.5',
  '-0',
  '+1',
  ' 1',
  '1 ',
  '01',
  '00001',
  '1e0',
  '%20',
  '%201',
  '%2B1',
  '0b1',
  '0o1',
  '1_0',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'abc',
  '9007199254740991',
  '9007199254740992',
  '18446744073709551616',
  '99999999999999999999999999',
  '../../etc/passwd',
  '..',
  '.',
  '%00',
  '%',
  '%zz',
  '%2e%2e%2f',
  '%2F',
  'a/b',
  'a?b=1',
  'a#b',
  '__proto__',
  'constructor',
  'toString',
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(201),
  'a'.repeat(5000),
  '💥',
  '中文',
  'Ω',
  '\u0000',
  'a\u0000b',
  ' ',
  '\t',
  '\uFEFF',
  '\u202E',
  '00000000-0000-4000-8000-000000000000',
]

export function pathValueArb(schema: JsonSchema, ctx: SchemaContext, name: string): fc.Arbitrary<PathValue> {
  const schemaValid = schemaArb(schema, ctx, name).map((v) => String(v))
  const known: fc.Arbitrary<string | Ref> = /lease|batch/.test(name)
    ? fc.tuple(fc.nat(), fc.nat({ max: 3 })).map(([i, k]) => new Ref(k === 0 ? 'assignment' : 'own', i))
    : /result/.test(name)
      ? fc.nat().map((i) => new Ref('algorithm', i))
      : /epoch/.test(name)
        ? fc.constantFrom('0', '1', '2')
        : fc.constantFrom(...ctx.addresses)
  return fc.record({
    value: fc.oneof(
      { weight: 3, arbitrary: known },
      { weight: 2, arbitrary: schemaValid },
      { weight: 4, arbitrary: fc.constantFrom(...PATH_NASTY) },
      { weight: 2, arbitrary: fc.constantFrom(...PATH_DANGER) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    ),
    encode: fc.boolean(),
  })
}

const QUERY_JUNK_KEYS = [
  'limit',
  'task_type',
  'min_score',
  'x',
  '__proto__',
  'constructor',
  'limit[]',
  'a[b]',
  '',
  'offset',
  'sim_window_number',
]

export function queryArb(op: Operation, ctx: SchemaContext): fc.Arbitrary<QueryPart[]> {
  const documented = op.queryParams.map((p) =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constant<QueryPart[]>([]) },
      {
        weight: 3,
        arbitrary: schemaArb(p.schema, ctx, p.name).map((v) => [{ key: p.name, value: String(v), encode: true }]),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom(...PATH_NASTY, ...PATH_DANGER), fc.boolean())
          .map(([v, encode]) => [{ key: p.name, value: v, encode }]),
      },
      {
        weight: 1,
        arbitrary: fc
          .array(schemaArb(p.schema, ctx, p.name), { minLength: 2, maxLength: 3 })
          .map((vs) => vs.map((v) => ({ key: p.name, value: String(v), encode: true }))),
      },
    ),
  )
  const junk = fc.array(
    fc.record({
      key: fc.oneof(fc.constantFrom(...QUERY_JUNK_KEYS), fc.string({ maxLength: 10 })),
      value: fc.oneof(fc.constantFrom(...PATH_NASTY), fc.string({ maxLength: 20 })),
      encode: fc.boolean(),
    }),
    { maxLength: 3 },
  )
  return fc.tuple(fc.tuple(...documented), junk).map(([parts, extra]) => [...parts.flat(), ...extra])
}

/** Which miner signs, and how its headers are spoiled when tampered. */
export function authArb(op: Operation, addresses: readonly string[], miners: number): fc.Arbitrary<Auth> {
  const garbage = fc
    .record(
      {
        'X-Key': fc.constantFrom(
          '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQYä',
          '5Grwva💥',
          '',
          ' ',
          'a'.repeat(1000),
          '\u0000',
          ...addresses,
          ...addresses.slice(0, 3).map((a) => twoBytePrefixSpelling(a)),
          addresses[0]!.toLowerCase(),
          `${addresses[0]!} `,
          addresses[0]!.slice(0, -1),
        ),
        'X-Timestamp': fc.constantFrom(
          '1e3',
          '-1',
          '0x10',
          '0',
          '99999999999999999999',
          '1700000000',
          '1700000000.5',
          ' 1700000000 ',
          '١٧٠٠٠٠٠٠٠٠',
          '',
          '+1700000000',
          '1700000000\u0000',
          '17000000000000000000000000000',
        ),
        'X-Signature': fc.constantFrom(
          '0'.repeat(128),
          'zz'.repeat(64),
          '00 '.repeat(64),
          `0x${'0'.repeat(128)}`,
          `0X${'f'.repeat(128)}`,
          'a'.repeat(127),
          'a'.repeat(129),
          '',
          `${'ab'.repeat(32)} ${'ab'.repeat(32)}`,
          '💥'.repeat(64),
          'g'.repeat(128),
        ),
      },
      { requiredKeys: [] },
    )
    .chain((h) =>
      fc.oneof(
        fc.constant<Record<string, string | string[]>>(h),
        // duplicated headers: the parsed header is an array
        fc.constant<Record<string, string | string[]>>(
          Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v, v]])),
        ),
        fc.constantFrom('', 'wrong', 'a'.repeat(500), '💥').map((token) => ({ ...h, 'X-Monitor-Token': token })),
      ),
    )
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<Auth>({ kind: 'none' }) },
    {
      weight: op.signed ? 6 : 1,
      arbitrary: fc.nat({ max: miners - 1 }).map((miner): Auth => ({ kind: 'miner', miner })),
    },
    {
      weight: op.signed ? 2 : 1,
      arbitrary: fc
        .record({ miner: fc.nat({ max: miners - 1 }), tamper: fc.nat({ max: 12 }) })
        .map((a): Auth => ({ kind: 'tampered', ...a })),
    },
    { weight: 2, arbitrary: garbage.map((headers): Auth => ({ kind: 'headers', headers })) },
  )
}

export function bodyArb(op: Operation, ctx: SchemaContext): fc.Arbitrary<Body> {
  const mutation = mutationArb(ctx.addresses)
  const raws = fc
    .oneof(
      fc.record({
        text: fc.constantFrom(...MALFORMED_BODIES),
        contentType: fc.constant<string | undefined>('application/json'),
      }),
      fc.record({
        text: fc.oneof(fc.constant('{}'), fc.constantFrom(...MALFORMED_BODIES), fc.string({ maxLength: 40 })),
        contentType: fc.constantFrom<string | undefined>(...OTHER_CONTENT_TYPES, undefined),
      }),
    )
    .map((r): Body => ({ kind: 'raw', ...r }))
  const junkJson = nastyValue(ctx.addresses).map((value): Body => ({ kind: 'json', value, mutations: [] }))
  if (op.body === undefined) {
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant<Body>({ kind: 'none' }) },
      { weight: 1, arbitrary: junkJson },
      { weight: 1, arbitrary: raws },
    )
  }
  const examples = ctx.examples?.[operationKey(op)] ?? []
  const known = [
    ...(examples.length === 0 ? [] : [fc.constantFrom(...examples)]),
    ...(/\/submit_/.test(op.path) ? [fc.nat().map((i) => new Ref('submission', i))] : []),
  ]
  const valid = known.length === 0 ? schemaArb(op.body, ctx) : fc.oneof(schemaArb(op.body, ctx), ...known)
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((value): Body => ({ kind: 'json', value, mutations: [] })) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([value, mutations]): Body => ({ kind: 'json', value, mutations })),
    },
    { weight: 1, arbitrary: junkJson },
    { weight: 1, arbitrary: raws },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
  )
}

export function requestArb(op: Operation, ctx: SchemaContext, miners: number): fc.Arbitrary<FuzzRequest> {
  const params = fc
    .tuple(...op.pathParams.map((p) => pathValueArb(p.schema, ctx, p.name).map((v) => [p.name, v] as const)))
    .map((entries) => Object.fromEntries(entries) as Record<string, PathValue>)
  return fc.record({
    op: fc.constant(operationKey(op)),
    params,
    query:
      op.queryParams.length > 0
        ? queryArb(op, ctx)
        : fc.oneof({ weight: 4, arbitrary: fc.constant<QueryPart[]>([]) }, { weight: 1, arbitrary: queryArb(op, ctx) }),
    auth: authArb(op, ctx.addresses, miners),
    body: bodyArb(op, ctx),
    prepare: fc.boolean(),
    variant: fc.nat(),
  })
}

// --- sending -------------------------------------------------------------------------------------------

const SAFE_RAW = /^[\x21-\x7e]*$/

/** encodeURIComponent, except that a lone surrogate becomes its (invalid) 3-byte escape instead of throwing. */
export function encodeAny(text: string): string {
  try {
    return encodeURIComponent(text)
  } catch {
    return Array.from(text, (ch) => {
      const c = ch.charCodeAt(0)
      if (ch.length > 1 || c < 0xd800 || c > 0xdfff) return encodeURIComponent(ch)
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('')
    }).join('')
  }
}

export function buildUrl(
  op: Operation,
  params: Record<string, string>,
  query: readonly QueryPart[],
  encodings: Record<string, boolean>,
): string {
  let path = op.path
  for (const [name, value] of Object.entries(params)) {
    const encoded = encodings[name] === true || !SAFE_RAW.test(value) ? encodeAny(value) : value
    path = path.replace(`{${name}}`, encoded)
  }
  const q = query
    .map((p) => {
      const enc = (s: string): string =>
        p.encode || !SAFE_RAW.test(s) ? encodeAny(s) : s.replace(/[#&]/g, encodeURIComponent)
      return `${enc(p.key)}=${enc(p.value)}`
    })
    .join('&')
  return q === '' ? path : `${path}?${q}`
}

/** The recipient the pool reads from a recipient-update body (same rule as recipientFromBody). */
export function recipientOf(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ''
  const b = body as Record<string, unknown>
  const value = b.recipient_coldkey ?? b.coldkey_address
  return typeof value === 'string' ? value.trim() : ''
}

export interface Sent {
  request: InjectOptions & { url: string }
  response: LightMyRequestResponse
  /** The preparatory exchanges (see FuzzRequest.prepare), to be checked like any other. */
  prepared: Array<{ request: InjectOptions & { url: string }; response: LightMyRequestResponse }>
}

const SUBMIT_VERB = { lease: 'submit_lease', evolve: 'submit_evolution', evaluate: 'submit_evaluation' } as const

/** See FuzzRequest.prepare. */
async function prepare(op: Operation, miner: TestMiner, harvest: Harvest): Promise<Sent['prepared']> {
  const wanted = /submit_lease$/.test(op.path)
    ? 'lease'
    : /submit_evolution$/.test(op.path)
      ? 'evolve'
      : /submit_evaluation$/.test(op.path)
        ? 'evaluate'
        : /\/tasks\/(lease|request)$/.test(op.path)
          ? 'none'
          : undefined
  if (wanted === undefined) return []
  const done: Sent['prepared'] = []
  const exchange = async (method: 'POST', url: string, body: unknown): Promise<LightMyRequestResponse> => {
    const response = await miner.send(method, url, body)
    done.push({ request: { method, url, payload: JSON.stringify(body), headers: { signed: miner.hotkey } }, response })
    if (response.statusCode < 300) {
      harvest.learn(response.json())
      harvest.learnOwn(miner.hotkey, response.json())
    }
    return response
  }
  const held = harvest.own.get(miner.hotkey)
  if (held !== undefined && held.kind !== wanted) {
    const r = await exchange(
      'POST',
      `/api/v1/tasks/${held.id}/${SUBMIT_VERB[held.kind]}`,
      harvest.submission(miner.hotkey, 1),
    )
    if (r.statusCode === 404) harvest.own.delete(miner.hotkey)
  }
  if (wanted !== 'none' && harvest.own.get(miner.hotkey) === undefined) {
    if (wanted === 'lease') await exchange('POST', '/api/v1/tasks/lease', { eval_batch_size: 64 })
    else await exchange('POST', '/api/v1/tasks/request', { task_type: wanted })
  }
  return done
}

/**
 * Resolves the placeholders of `req` (for the miner that signs, or miner 0), signs it as asked, sends it
 * through inject() and learns the ids a 2xx answer hands out.
 */
export async function send(
  app: FastifyInstance,
  op: Operation,
  req: FuzzRequest,
  miners: readonly TestMiner[],
  harvest: Harvest,
): Promise<Sent> {
  const prepared =
    req.prepare && req.auth.kind === 'miner' ? await prepare(op, miners[req.auth.miner % miners.length]!, harvest) : []
  const sent = await sendResolved(app, op, req, miners, harvest)
  if (sent.response.statusCode < 300 && !op.markdown) {
    const body = sent.response.json() as unknown
    harvest.learn(body)
    if (req.auth.kind === 'miner') harvest.learnOwn(miners[req.auth.miner % miners.length]!.hotkey, body)
  }
  return { ...sent, prepared }
}

async function sendResolved(
  app: FastifyInstance,
  op: Operation,
  req: FuzzRequest,
  miners: readonly TestMiner[],
  harvest: Harvest,
): Promise<Omit<Sent, 'prepared'>> {
  const signer =
    miners[(req.auth.kind === 'miner' || req.auth.kind === 'tampered' ? req.auth.miner : 0) % miners.length]!.hotkey
  const coherent = req.prepare && req.auth.kind === 'miner' && /\/submit_/.test(op.path)
  const params: Record<string, string> = {}
  const encodings: Record<string, boolean> = {}
  for (const [name, v] of Object.entries(req.params)) {
    const value = coherent ? new Ref('own', 0) : v.value
    params[name] = String(value instanceof Ref ? harvest.resolve(value, signer) : value)
    encodings[name] = v.encode
  }
  const url = buildUrl(op, params, req.query, encodings)
  let payload: string | undefined
  let contentType: string | undefined
  let bodyValue: unknown
  if (req.body.kind === 'json') {
    bodyValue = applyMutations(
      resolveRefs(coherent ? new Ref('submission', req.variant) : req.body.value, harvest, signer),
      req.body.mutations,
    )
    if (bodyValue !== undefined) {
      payload = toJsonText(bodyValue)
      contentType = 'application/json'
    }
  } else if (req.body.kind === 'raw') {
    payload = req.body.text
    contentType = req.body.contentType
  }
  const nowS = Math.floor(app.pool.clock.now() / 1000)
  let headers: Record<string, string | string[]> = {}
  const auth = req.auth
  if (auth.kind === 'miner' || auth.kind === 'tampered') {
    const miner = miners[auth.miner % miners.length]!
    const recipient = op.recipientSigned ? recipientOf(bodyValue) : undefined
    if (auth.kind === 'miner' && op.method === 'GET' && payload === undefined) {
      // A GET signature may be used again (single use is for POST and PUT), and signing costs ~2 ms.
      const headers = getSignature(miner, nowS)
      const request = { method: op.method, url, headers }
      return { request, response: await app.inject(request) }
    }
    if (auth.kind === 'miner' && (contentType === 'application/json' || payload === undefined)) {
      // The ordinary client path: TestMiner.send signs and sets the JSON content type.
      const response = await miner.send(op.method as 'GET' | 'POST' | 'PUT', url, payload, recipient)
      return { request: { method: op.method, url, payload, headers: { signed: miner.hotkey } }, response }
    }
    const signed = signedHeaders(miner.key, nowS, recipient)
    headers = auth.kind === 'tampered' ? tamper(signed, auth.tamper, miners, nowS, recipient) : { ...signed }
  } else if (auth.kind === 'headers') {
    headers = { ...auth.headers }
  }
  if (contentType !== undefined) headers['content-type'] = contentType
  const request = { method: op.method, url, headers, ...(payload === undefined ? {} : { payload }) }
  return { request, response: await app.inject(request) }
}

const getSignatures = new Map<string, Record<string, string>>()
function getSignature(miner: TestMiner, nowS: number): Record<string, string> {
  const key = `${miner.hotkey}:${nowS}`
  let headers = getSignatures.get(key)
  if (headers === undefined) {
    headers = signedHeaders(miner.key, nowS)
    getSignatures.set(key, headers)
  }
  return headers
}

function tamper(
  h: Record<'X-Key' | 'X-Timestamp' | 'X-Signature', string>,
  how: number,
  miners: readonly TestMiner[],
  nowS: number,
  recipient: string | undefined,
): Record<string, string | string[]> {
  const other = miners[(miners.findIndex((m) => m.hotkey === h['X-Key']) + 1) % miners.length]!
  switch (how) {
    case 0:
      return { ...h, 'X-Timestamp': String(nowS + 301) }
    case 1:
      return { ...h, 'X-Timestamp': String(nowS - 301) }
    case 2:
      return { ...h, 'X-Signature': h['X-Signature'].toUpperCase() }
    case 3:
      return { ...h, 'X-Signature': `0x${h['X-Signature']}` }
    case 4:
      return { ...h, 'X-Signature': ` ${h['X-Signature']} ` }
    case 5:
      return { ...h, 'X-Signature': h['X-Signature'].slice(0, -1) + (h['X-Signature'].endsWith('0') ? '1' : '0') }
    case 6:
      return { ...h, 'X-Key': other.hotkey }
    case 7:
      return {
        ...h,
        'X-Signature': other.key.sign(
          recipient === undefined ? `auth:${nowS}` : `recipient_coldkey:update:${nowS}:${recipient}`,
        ),
      }
    case 8:
      return { ...h, 'X-Signature': other.key.sign(`auth:${nowS}`).replace(/./, 'z') }
    case 9:
      return { ...h, 'X-Timestamp': `${h['X-Timestamp']}.0` }
    case 10:
      return { ...h, 'X-Key': [h['X-Key'], other.hotkey] }
    case 11:
      return { ...h, 'X-Key': twoBytePrefixSpelling(h['X-Key']) }
    default:
      return { ...h, 'X-Signature': h['X-Signature'].slice(0, 64) }
  }
}

// --- the check -------------------------------------------------------------------------------------------

/** Why the response breaks the rules (no 5xx; every error is JSON `{detail, code}`), or undefined. */
export function responseProblem(
  response: LightMyRequestResponse,
  op: Pick<Operation, 'markdown'> | undefined,
): string | undefined {
  const status = response.statusCode
  const type = String(response.headers['content-type'] ?? '')
  if (status >= 500) return `status ${status}`
  if (status < 400) {
    if (op?.markdown === true) return type.startsWith('text/markdown') ? undefined : `markdown route answered ${type}`
    if (op !== undefined && !type.startsWith('application/json')) return `2xx with content-type ${type}`
    return undefined
  }
  if (!type.startsWith('application/json')) return `error ${status} with content-type ${type}`
  let body: unknown
  try {
    body = JSON.parse(response.body)
  } catch {
    return `error ${status} body is not JSON`
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return `error ${status} body is not an object`
  const keys = Object.keys(body).sort()
  if (keys.join(',') !== 'code,detail') return `error ${status} body has keys [${keys.join(', ')}], want [code, detail]`
  const { code, detail } = body as { code: unknown; detail: unknown }
  const definition = typeof code === 'string' ? (ERROR_TABLE as Record<string, { status: number }>)[code] : undefined
  if (definition === undefined) return `error ${status} with unknown code ${String(code)}`
  if (definition.status !== status)
    return `code ${String(code)} is documented as ${definition.status}, answered ${status}`
  if (typeof detail === 'string') return detail.length > 0 ? undefined : 'empty detail'
  if (!Array.isArray(detail) || detail.length === 0) return 'detail is neither a message nor a list'
  for (const item of detail) {
    const i = item as { loc?: unknown; msg?: unknown; type?: unknown }
    if (!Array.isArray(i.loc) || typeof i.msg !== 'string' || typeof i.type !== 'string')
      return `validation item ${JSON.stringify(item)} is not {loc, msg, type}`
  }
  return undefined
}

/** JSON-ish text of any value with long strings, long arrays and deep nesting cut, for failure messages. */
export function shortText(v: unknown, depth = 0): string {
  if (depth > 6) return '…'
  if (v instanceof RawJson || v instanceof Ref) return v.toString()
  if (typeof v === 'string')
    return JSON.stringify(v.length > 120 ? `${v.slice(0, 60)}…(${v.length} chars)…${v.slice(-20)}` : v)
  if (v === null || typeof v !== 'object') return String(v)
  if (Array.isArray(v))
    return `[${v
      .slice(0, 12)
      .map((x) => shortText(x, depth + 1))
      .join(',')}${v.length > 12 ? `,…(${v.length} items)` : ''}]`
  const keys = Object.keys(v)
  return `{${keys
    .slice(0, 20)
    .map((k) => `${JSON.stringify(k)}:${shortText((v as Record<string, unknown>)[k], depth + 1)}`)
    .join(',')}${keys.length > 20 ? ',…' : ''}}`
}

/** A request as text for failure messages, long strings shortened. */
export function describeRequest(request: InjectOptions & { url: string }): string {
  const short = (s: string): string => (s.length > 400 ? `${s.slice(0, 300)}…(${s.length} chars)…${s.slice(-60)}` : s)
  return JSON.stringify({
    method: request.method,
    url: short(request.url),
    headers: request.headers,
    payload: typeof request.payload === 'string' ? short(request.payload) : request.payload,
  })
}
