import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  BINARY_FUNCTIONS,
  DslError,
  META_SPEC,
  PHASES,
  RANDOM_FUNCTIONS,
  UNARY_FUNCTIONS,
  canonicalHash,
  defaultMeta,
  parseDsl,
  printCanonical,
  validateAlgorithm,
  type DslMeta,
  type DslProgram,
  type MetaKey,
  type Operand,
  type Phase,
  type Register,
  type RegisterKind,
  type Statement,
} from '../../../src/domain/dsl/index.ts'

// ---------------------------------------------------------------------------
// Generators of valid programs

/** deepStrictEqual compares prototypes; fc.record may otherwise build null-prototype objects. */
const PLAIN = { noNullPrototype: true }

function metaValue(key: MetaKey): fc.Arbitrary<number> {
  const spec = META_SPEC.find((s) => s.key === key)
  assert.ok(spec)
  // Mostly small machines (so register indexes collide), sometimes the extremes.
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: spec.min, max: Math.min(spec.max, spec.min + 30) }) },
    { weight: 1, arbitrary: fc.constantFrom(spec.default, spec.max) },
  )
}

const metaArb: fc.Arbitrary<DslMeta> = fc.record({
  scalar_count: metaValue('scalar_count'),
  vector_count: metaValue('vector_count'),
  matrix_count: metaValue('matrix_count'),
  vector_dim: metaValue('vector_dim'),
  setup_max_ops: metaValue('setup_max_ops'),
  predict_max_ops: metaValue('predict_max_ops'),
  learn_max_ops: metaValue('learn_max_ops'),
}, PLAIN)

/** Finite doubles as the parser produces them: never -0. */
const numberArb: fc.Arbitrary<number> = fc
  .oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom(0.1, 0.5, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, -Number.MIN_VALUE),
  )
  .map((x) => (x === 0 ? 0 : x))

function statementArb(meta: DslMeta): fc.Arbitrary<Statement> {
  const register = (kind: RegisterKind, count: number): fc.Arbitrary<Register> =>
    fc.integer({ min: 0, max: count - 1 }).map((index) => ({ kind, index }))
  const scalar = register('s', meta.scalar_count)
  const vector = register('v', meta.vector_count)
  const anyRegister = fc.oneof(scalar, vector, register('m', meta.matrix_count))
  const operand: fc.Arbitrary<Operand> = fc.oneof(anyRegister, numberArb)
  const randomArg: fc.Arbitrary<Operand> = fc.oneof(scalar, numberArb)
  const call = (fns: readonly string[], args: fc.Arbitrary<Operand[]>) =>
    fc.record({ kind: fc.constant('call'), dest: anyRegister, fn: fc.constantFrom(...fns), args }, PLAIN) as fc.Arbitrary<Statement>
  return fc.oneof(
    fc.record({ kind: fc.constant('const'), dest: anyRegister, value: numberArb }, PLAIN),
    fc.record({
      kind: fc.constant('set_element'),
      dest: vector,
      index: fc.integer({ min: 0, max: meta.vector_dim - 1 }),
      value: numberArb,
    }, PLAIN),
    fc.record({ kind: fc.constant('copy'), dest: anyRegister, src: anyRegister }, PLAIN),
    fc.record({
      kind: fc.constant('binary'),
      dest: anyRegister,
      op: fc.constantFrom('+', '-', '*', '/'),
      left: operand,
      right: operand,
    }, PLAIN),
    call(UNARY_FUNCTIONS, fc.tuple(operand)),
    call(BINARY_FUNCTIONS, fc.tuple(operand, operand)),
    call(RANDOM_FUNCTIONS, fc.oneof(fc.constant<Operand[]>([]), fc.tuple(randomArg, randomArg))),
  ) as fc.Arbitrary<Statement>
}

const programArb: fc.Arbitrary<DslProgram> = metaArb.chain((meta) => {
  const phase = (cap: number, minLength: number) =>
    fc.array(statementArb(meta), { minLength, maxLength: Math.min(cap, 6) })
  return fc.record({
    meta: fc.constant(meta),
    setup: phase(meta.setup_max_ops, 0),
    predict: phase(meta.predict_max_ops, 1),
    learn: phase(meta.learn_max_ops, 0),
  }, PLAIN)
})

// ---------------------------------------------------------------------------
// A printer that spells a program differently on every seed

/** Small deterministic PRNG (mulberry32) so a failing case replays from its seed. */
class Noise {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }

  /** Optional whitespace, or at least one blank where tokens must be separated. */
  space(required = false): string {
    return this.pick(required ? [' ', '  ', '\t', ' \t '] : ['', '', ' ', '  ', '\t'])
  }

  /** Another spelling of the same double: exponent form, padding zeros, explicit sign, E. */
  number(value: number): string {
    let text = this.chance(0.5) ? String(value) : value.toExponential()
    const negative = text.startsWith('-')
    if (negative) text = text.slice(1)
    let [mantissa = '', exponent] = text.split('e')
    if (this.chance(0.4)) mantissa += mantissa.includes('.') ? '0'.repeat(1 + this.int(3)) : `.${'0'.repeat(this.int(3))}`
    if (this.chance(0.3)) mantissa = `${'0'.repeat(1 + this.int(2))}${mantissa}`
    if (exponent === undefined && this.chance(0.2)) exponent = this.pick(['0', '+0', '-00'])
    const sign = negative ? '-' : this.pick(['', '', '+'])
    return `${sign}${mantissa}${exponent === undefined ? '' : `${this.pick(['e', 'E'])}${exponent}`}`
  }

  capitalise(word: string): string {
    return this.pick([word, word.toUpperCase(), `${word.charAt(0).toUpperCase()}${word.slice(1)}`])
  }

  comment(): string {
    return this.pick(['', '', '', ' # note', '\t#predict:', '#', ' # s0 = 1'])
  }

  fillerLines(): string[] {
    return this.chance(0.7) ? [] : [this.pick(['', '   ', '# a remark', '## learn', '# metadata follows', 'remarks:', '\t'])]
  }
}

const registerText = (r: Register) => `${r.kind}${r.index}`

function noisyOperand(operand: Operand, noise: Noise): string {
  return typeof operand === 'number' ? noise.number(operand) : registerText(operand)
}

function equalsForm(st: Statement, noise: Noise): string {
  const sp = () => noise.space()
  const lhs = `${registerText(st.dest)}${sp()}`
  switch (st.kind) {
    case 'const':
      return `${lhs}=${sp()}${noise.number(st.value)}`
    case 'set_element':
      return `${registerText(st.dest)}${sp()}[${sp()}${'0'.repeat(noise.int(2))}${st.index}${sp()}]${sp()}=${sp()}${noise.number(st.value)}`
    case 'copy':
      return `${lhs}=${sp()}${registerText(st.src)}`
    case 'binary':
      return `${lhs}=${sp()}${noisyOperand(st.left, noise)}${sp()}${st.op}${sp()}${noisyOperand(st.right, noise)}`
    case 'call': {
      const args = st.args.map((a) => `${sp()}${noisyOperand(a, noise)}${sp()}`).join(',')
      return `${lhs}=${sp()}${st.fn}${sp()}(${args})`
    }
  }
}

const ARROW_MNEMONIC = { '+': 'ADD', '-': 'SUB', '*': 'MUL', '/': 'DIV' } as const

/** The arrow spelling, or undefined for statements that have none (`vK[i] = c`). */
function arrowForm(st: Statement, noise: Noise): string | undefined {
  const arrow = (mnemonic: string, operands: string[]) =>
    [noise.capitalise(mnemonic), ...operands, '->', registerText(st.dest)].join(noise.space(true))
  switch (st.kind) {
    case 'const':
      return arrow('const', [noise.number(st.value)])
    case 'copy':
      return arrow('copy', [registerText(st.src)])
    case 'binary':
      return arrow(ARROW_MNEMONIC[st.op], [noisyOperand(st.left, noise), noisyOperand(st.right, noise)])
    case 'call':
      return arrow(st.fn, st.args.map((a) => noisyOperand(a, noise)))
    case 'set_element':
      return undefined
  }
}

function noisyMeta(meta: DslMeta, noise: Noise): string | undefined {
  const defaults = defaultMeta()
  const pairs = noise
    .shuffle(META_SPEC.map((s) => s.key))
    .filter((key) => meta[key] !== defaults[key] || noise.chance(0.5))
    .map((key) => `${key}${noise.space()}=${noise.space()}${'0'.repeat(noise.int(2))}${meta[key]}`)
  if (pairs.length === 0 && noise.chance(0.5)) return undefined
  return `#${noise.space()}${noise.capitalise('meta')}${noise.space()}:${noise.space(true)}${pairs.join(noise.space(true))}${noise.comment()}`
}

type HeaderStyle = 'hash' | 'bare' | 'def'

function header(style: HeaderStyle, phase: Phase, noise: Noise): string {
  const name = noise.capitalise(phase)
  if (style === 'def') return `def${noise.space(true)}${name}${noise.space()}(${noise.space()})${noise.space()}:${noise.comment()}`
  if (style === 'bare') return `${name}${noise.space()}:`
  return `#${noise.space()}${name}${noise.pick(['', ':', ' :'])}`
}

function noisyText(program: DslProgram, seed: number): string {
  const noise = new Noise(seed)
  const style = noise.pick<HeaderStyle>(['hash', 'bare', 'def'])
  const indent = () => (style === 'def' ? noise.pick(['  ', '    ', '\t']) : noise.pick(['', '', ' ', '\t']))
  const lines = [...noise.fillerLines()]
  const meta = noisyMeta(program.meta, noise)
  if (meta !== undefined) lines.push(meta)
  noise.shuffle(PHASES).forEach((phase, position) => {
    const statements = program[phase]
    // Statements before any header belong to predict, so a leading predict may go unnamed.
    const implicit = style === 'hash' && phase === 'predict' && position === 0 && noise.chance(0.3)
    if (style !== 'def' && statements.length === 0 && noise.chance(0.5)) return
    if (!implicit) lines.push(header(style, phase, noise))
    if (statements.length === 0 && style === 'def') lines.push(`${indent()}NoOp()`)
    for (const st of statements) {
      lines.push(...noise.fillerLines())
      if (noise.chance(0.1)) lines.push(`${indent()}NoOp()`)
      const text = (noise.chance(0.4) ? arrowForm(st, noise) : undefined) ?? equalsForm(st, noise)
      lines.push(`${indent()}${text}${noise.space()}${noise.comment()}`)
    }
  })
  return lines.join(noise.chance(0.3) ? '\r\n' : '\n') + noise.pick(['', '\n', '\n\n'])
}

// ---------------------------------------------------------------------------

function assertOnlyDslErrors(text: string): void {
  try {
    validateAlgorithm(text)
  } catch (error) {
    if (!(error instanceof DslError)) throw error
  }
}

describe('DSL properties', () => {
  it('parseDsl(printCanonical(p)) deep-equals p', () => {
    fc.assert(
      fc.property(programArb, (program) => {
        assert.deepStrictEqual(parseDsl(printCanonical(program)), program)
      }),
      { numRuns: 500 },
    )
  })

  it('printing is idempotent', () => {
    fc.assert(
      fc.property(programArb, (program) => {
        const canonical = printCanonical(program)
        assert.equal(printCanonical(parseDsl(canonical)), canonical)
      }),
      { numRuns: 300 },
    )
  })

  it('formatting noise, both header styles and both statement forms never change the hash', () => {
    fc.assert(
      fc.property(programArb, fc.integer(), (program, seed) => {
        const text = noisyText(program, seed)
        const parsed = parseDsl(text)
        assert.deepStrictEqual(parsed, program, text)
        assert.equal(canonicalHash(parsed), canonicalHash(program))
      }),
      { numRuns: 1000 },
    )
  })

  it('arbitrary strings throw nothing but DslError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), assertOnlyDslErrors), { numRuns: 1000 })
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), assertOnlyDslErrors), { numRuns: 1000 })
  })

  it('token soup throws nothing but DslError', () => {
    const fragment = fc.constantFrom(
      ...['s0', 'v1', 'm0', 's99', '=', '+', '-', '*', '/', '(', ')', ',', '[', ']', '->', '.', 'e', '1', '1.5e', '-0'],
      ...['CONST', 'ADD', 'dot', 'gaussian', 'NoOp()', 'inf', '#', ':', ' ', ' ', '\n', '\r\n', '\t'],
      ...['# setup:', 'predict:', 'def Learn():', 'def X():', '# meta:', 'vector_dim=3', 'scalar_count=', 'foo=1'],
    )
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 80 }), (parts) => assertOnlyDslErrors(parts.join(''))),
      { numRuns: 2000 },
    )
  })

  it('mutated valid programs throw nothing but DslError', () => {
    fc.assert(
      fc.property(programArb, fc.nat(), fc.nat({ max: 4 }), fc.string({ maxLength: 4 }), (program, at, cut, insert) => {
        const text = printCanonical(program)
        const pos = at % (text.length + 1)
        assertOnlyDslErrors(`${text.slice(0, pos)}${insert}${text.slice(pos + cut)}`)
      }),
      { numRuns: 1000 },
    )
  })
})
