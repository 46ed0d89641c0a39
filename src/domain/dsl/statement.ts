// Grammar of a single statement line, in both the `=` form and the arrow form.

import { describe, quote, type Token } from './lexer.ts'
import {
  BINARY_FUNCTIONS,
  DslError,
  RANDOM_FUNCTIONS,
  UNARY_FUNCTIONS,
  type BinaryOperator,
  type DslMeta,
  type FunctionName,
  type Operand,
  type Register,
  type RegisterKind,
  type Statement,
} from './program.ts'

const ARITY = new Map<string, readonly number[]>([
  ...UNARY_FUNCTIONS.map((fn) => [fn, [1]] as const),
  ...BINARY_FUNCTIONS.map((fn) => [fn, [2]] as const),
  ...RANDOM_FUNCTIONS.map((fn) => [fn, [0, 2]] as const),
])

/** Arrow mnemonics that are not simply an upper-cased function name. */
const ARROW_OPERATORS: Readonly<Record<string, BinaryOperator>> = { ADD: '+', SUB: '-', MUL: '*', DIV: '/' }

const COUNT_KEY: Readonly<Record<RegisterKind, keyof DslMeta>> = {
  s: 'scalar_count',
  v: 'vector_count',
  m: 'matrix_count',
}

const NON_FINITE_WORDS = new Set(['inf', 'infinity', 'nan'])

/** Parses one non-blank statement line; returns null for `NoOp()`, which has no effect. */
export function parseStatement(tokens: Token[], line: number, meta: DslMeta): Statement | null {
  if (isNoOp(tokens)) return null
  const cursor = new Cursor(tokens, line, meta)
  const statement = tokens.some(isArrow) ? parseArrow(cursor) : parseAssignment(cursor)
  cursor.expectEnd()
  return statement
}

function isNoOp(tokens: Token[]): boolean {
  return (
    tokens.length === 3 &&
    tokens[0]?.text.toLowerCase() === 'noop' &&
    tokens[1]?.text === '(' &&
    tokens[2]?.text === ')'
  )
}

function isArrow(token: Token): boolean {
  return token.type === 'punct' && token.text === '->'
}

/** `d = c`, `vK[i] = c`, `d = a`, `d = a op b`, `d = fn(args)`. */
function parseAssignment(c: Cursor): Statement {
  const dest = c.register()
  if (c.acceptPunct('[')) return parseElementAssignment(c, dest)
  c.expectPunct('=')
  const head = c.peek()
  if (head?.type === 'ident' && c.peek(1)?.text === '(') {
    c.next()
    return makeCall(c, head.text, dest, parseArguments(c))
  }
  const left = c.operand()
  if (c.atEnd()) {
    return typeof left === 'number' ? { kind: 'const', dest, value: left } : { kind: 'copy', dest, src: left }
  }
  const op = c.next()
  if (op === undefined || !isBinaryOperator(op.text)) {
    throw c.error(`expected an operator (+ - * /), got ${describe(op)}`)
  }
  return { kind: 'binary', dest, op: op.text, left, right: c.operand() }
}

function parseElementAssignment(c: Cursor, dest: Register): Statement {
  if (dest.kind !== 'v') throw c.error('only vector registers can be indexed')
  const indexToken = c.next()
  if (indexToken?.type !== 'number' || !/^[0-9]+$/.test(indexToken.text)) {
    throw c.error(`vector element index must be a non-negative integer, got ${describe(indexToken)}`)
  }
  const index = Number(indexToken.text)
  if (index >= c.meta.vector_dim) {
    throw c.error(`element index ${indexToken.text} out of range (vector_dim=${c.meta.vector_dim})`)
  }
  c.expectPunct(']')
  c.expectPunct('=')
  return { kind: 'set_element', dest, index, value: c.number() }
}

function parseArguments(c: Cursor): Operand[] {
  c.expectPunct('(')
  const args: Operand[] = []
  if (c.acceptPunct(')')) return args
  do args.push(c.operand())
  while (c.acceptPunct(','))
  c.expectPunct(')')
  return args
}

/** `OP a b -> d`: CONST, COPY, ADD/SUB/MUL/DIV, or any function name (case-insensitive). */
function parseArrow(c: Cursor): Statement {
  const mnemonicToken = c.next()
  if (mnemonicToken?.type !== 'ident') throw c.error(`expected an operation name, got ${describe(mnemonicToken)}`)
  const mnemonic = mnemonicToken.text.toUpperCase()
  const operands: Operand[] = []
  while (!c.acceptPunct('->')) operands.push(c.operand())
  const dest = c.register()

  if (mnemonic === 'CONST') {
    const [value] = operands
    if (operands.length !== 1 || typeof value !== 'number') throw c.error('CONST takes exactly one number')
    return { kind: 'const', dest, value }
  }
  if (mnemonic === 'COPY') {
    const [src] = operands
    if (operands.length !== 1 || src === undefined || typeof src === 'number') {
      throw c.error('COPY takes exactly one register')
    }
    return { kind: 'copy', dest, src }
  }
  const op = ARROW_OPERATORS[mnemonic]
  if (op !== undefined) {
    const [left, right] = operands
    if (operands.length !== 2 || left === undefined || right === undefined) {
      throw c.error(`${mnemonic} takes 2 operands, got ${operands.length}`)
    }
    return { kind: 'binary', dest, op, left, right }
  }
  if (!ARITY.has(mnemonic.toLowerCase())) throw c.error(`unknown operation ${quote(mnemonicToken.text)}`)
  return makeCall(c, mnemonic.toLowerCase(), dest, operands)
}

/** Shared by both forms so a function has the same arity and argument rules however it is spelled. */
function makeCall(c: Cursor, name: string, dest: Register, args: Operand[]): Statement {
  const arity = ARITY.get(name)
  if (arity === undefined) throw c.error(`unknown function ${quote(name)}`)
  if (!arity.includes(args.length)) {
    const allowed = arity.join(' or ')
    throw c.error(`${name} takes ${allowed} argument${allowed === '1' ? '' : 's'}, got ${args.length}`)
  }
  const isRandom = arity.length > 1
  if (isRandom && args.some((arg) => typeof arg !== 'number' && arg.kind !== 's')) {
    throw c.error(`${name} arguments must be numbers or scalar registers`)
  }
  return { kind: 'call', dest, fn: name as FunctionName, args }
}

/** `s3`, `v0`, `m12`; no leading zeros, so each register has exactly one spelling. */
function parseRegisterName(text: string): Register | undefined {
  const kind = text.charAt(0)
  if (kind !== 's' && kind !== 'v' && kind !== 'm') return undefined
  const digits = text.slice(1)
  if (digits === '' || (digits.length > 1 && digits.charAt(0) === '0')) return undefined
  for (let i = 0; i < digits.length; i++) {
    const code = digits.charCodeAt(i)
    if (code < 48 || code > 57) return undefined
  }
  return { kind, index: Number(digits) }
}

function isBinaryOperator(text: string): text is BinaryOperator {
  return text === '+' || text === '-' || text === '*' || text === '/'
}

/** Reads tokens of one line; every failure becomes a DslError naming that line. */
class Cursor {
  private pos = 0

  constructor(
    private readonly tokens: Token[],
    private readonly line: number,
    readonly meta: DslMeta,
  ) {}

  peek(ahead = 0): Token | undefined {
    return this.tokens[this.pos + ahead]
  }

  next(): Token | undefined {
    const token = this.tokens[this.pos]
    if (token !== undefined) this.pos++
    return token
  }

  atEnd(): boolean {
    return this.pos >= this.tokens.length
  }

  error(reason: string): DslError {
    return new DslError(this.line, reason)
  }

  acceptPunct(text: string): boolean {
    const token = this.peek()
    if (token?.type !== 'punct' || token.text !== text) return false
    this.pos++
    return true
  }

  expectPunct(text: string): void {
    if (!this.acceptPunct(text)) throw this.error(`expected "${text}", got ${describe(this.peek())}`)
  }

  expectEnd(): void {
    if (!this.atEnd()) throw this.error(`unexpected ${describe(this.peek())} after end of statement`)
  }

  register(): Register {
    const token = this.next()
    const register = token?.type === 'ident' ? parseRegisterName(token.text) : undefined
    if (token === undefined || register === undefined) {
      this.rejectNonFiniteWord(token)
      throw this.error(`expected a register, got ${describe(token)}`)
    }
    const countKey = COUNT_KEY[register.kind]
    if (register.index >= this.meta[countKey]) {
      throw this.error(`register ${quote(token.text)} out of range (${countKey}=${this.meta[countKey]})`)
    }
    return register
  }

  /** A register, or a number with an optional sign. */
  operand(): Operand {
    const token = this.peek()
    if (token?.type === 'number' || token?.text === '-' || token?.text === '+') return this.number()
    if (token?.type !== 'ident') throw this.error(`expected a register or number, got ${describe(token)}`)
    return this.register()
  }

  /** A finite number with an optional sign; `-0` normalises to `0` so it cannot change the hash. */
  number(): number {
    let sign = 1
    if (this.acceptPunct('-')) sign = -1
    else this.acceptPunct('+')
    const token = this.next()
    if (token?.type !== 'number') {
      this.rejectNonFiniteWord(token)
      throw this.error(`expected a number, got ${describe(token)}`)
    }
    const value = sign * Number(token.text)
    if (!Number.isFinite(value)) throw this.error(`non-finite number ${quote(token.text)} is not allowed`)
    return value === 0 ? 0 : value
  }

  /** Called on error paths only: `inf`/`nan` would otherwise be reported as a bad register name. */
  private rejectNonFiniteWord(token: Token | undefined): void {
    if (token?.type === 'ident' && NON_FINITE_WORDS.has(token.text.toLowerCase())) {
      throw this.error(`non-finite number ${quote(token.text)} is not allowed`)
    }
  }
}
