// Grammar of one statement line, read as the miners' parser reads it (BitSota `DSLParser._parse_line`),
// except that every leniency of theirs that drops tokens or changes meaning is refused with a reason.
// The caller has removed the inline comment and surrounding blanks and checked the characters
// (printable ASCII and tabs only).

import { isDecimalLiteral, isDigits, toFloat32 } from './numbers.ts'
import {
  ADDR_MATRICES,
  ADDR_SCALARS,
  ADDR_VECTORS,
  DslError,
  UNUSED,
  type DslMeta,
  type Instruction,
  type OpName,
  type RegisterKind,
} from './program.ts'

/** How each function the miners' serializer writes is read: its operands and the op it becomes. */
type FunctionRule =
  | { args: 'register'; op: OpName }
  | { args: 'register-pair'; op: OpName }
  | { args: 'heaviside' }
  | { args: 'random'; op: OpName }

const FUNCTIONS: ReadonlyMap<string, FunctionRule> = new Map<string, FunctionRule>([
  ...(['abs', 'exp', 'log', 'sin', 'cos', 'tan', 'norm', 'mean', 'std'] as const).map(
    (name) => [name, { args: 'register', op: name.toUpperCase() as OpName }] as const,
  ),
  ['heaviside', { args: 'heaviside' }],
  ['minimum', { args: 'register-pair', op: 'MIN' }],
  ['maximum', { args: 'register-pair', op: 'MAX' }],
  ['dot', { args: 'register-pair', op: 'DOT' }],
  ['matmul', { args: 'register-pair', op: 'MATMUL' }],
  ['outer', { args: 'register-pair', op: 'OUTER' }],
  ['gaussian', { args: 'random', op: 'GAUSSIAN' }],
  ['uniform', { args: 'random', op: 'UNIFORM' }],
])

/** Function names the pool knows, for error messages. */
export const FUNCTION_NAMES: readonly string[] = [...FUNCTIONS.keys()]

/** Ops the miners' parser also accepts as `d = name(…)` although their serializer never writes them. */
const OTHER_SPELLING: Readonly<Record<string, string>> = {
  add: '`d = a + b`',
  sub: '`d = a - b`',
  mul: '`d = a * b`',
  div: '`d = a / b`',
  copy: '`d = a`',
  min: '`minimum(a, b)`',
  max: '`maximum(a, b)`',
  const: '`d = <number>`',
  const_vec: '`vN[i] = <number>`',
}

/** Argument counts each kind of function takes (random fills and heaviside have optional ones). */
const ALLOWED_ARGUMENTS: Readonly<Record<FunctionRule['args'], readonly number[]>> = {
  register: [1],
  heaviside: [1, 2],
  'register-pair': [2],
  random: [0, 1, 2],
}

function expectedArguments(allowed: readonly number[]): string {
  const count = allowed.length === 1 ? String(allowed[0]) : `${allowed[0]} to ${allowed[allowed.length - 1]}`
  return `${count} argument${count === '1' ? '' : 's'}`
}

const ARITHMETIC: Readonly<Record<string, OpName>> = { '+': 'ADD', '-': 'SUB', '*': 'MUL', '/': 'DIV' }

/** Registers per kind the miners' address space holds before the next kind's addresses begin. */
const BANK: Readonly<Record<RegisterKind, { base: number; size: number; count: keyof DslMeta }>> = {
  s: { base: ADDR_SCALARS, size: ADDR_VECTORS - ADDR_SCALARS, count: 'scalar_count' },
  v: { base: ADDR_VECTORS, size: ADDR_MATRICES - ADDR_VECTORS, count: 'vector_count' },
  m: { base: ADDR_MATRICES, size: Number.POSITIVE_INFINITY, count: 'matrix_count' },
}

/** Reads one statement; null for `NoOp()`, which adds no instruction (but counts toward the phase's slots). */
export function parseStatement(code: string, line: number, meta: DslMeta): Instruction | null {
  if (code.toLowerCase() === 'noop()') return null
  const reader = new LineReader(code, line, meta)
  return code.includes('->') ? reader.arrow() : reader.assignment()
}

class LineReader {
  private pos = 0

  constructor(
    private readonly text: string,
    private readonly line: number,
    private readonly meta: DslMeta,
  ) {}

  /** `CONST <number> -> <register>`: the only arrow operation whose operands their parser keeps. */
  arrow(): Instruction {
    const arrowAt = this.text.indexOf('->')
    if (this.text.indexOf('->', arrowAt + 2) !== -1) throw this.error('more than one "->"')
    const [mnemonic, literal, extra] = firstWords(this.text.slice(0, arrowAt), 3)
    if (mnemonic?.toUpperCase() !== 'CONST') {
      throw this.error(
        "the arrow form is read only as `CONST <number> -> <register>`: the miners' parser drops the " +
          'operands of every other arrow operation; write `d = fn(a, b)` or `d = a + b`',
      )
    }
    if (literal === undefined || extra !== undefined) {
      throw this.error("CONST takes exactly one number (the miners' parser reads anything else as 0.0)")
    }
    const value = this.constant(literal)
    const out = this.address(this.text.slice(arrowAt + 2).trim())
    return instruction('CONST', UNUSED, UNUSED, out, value, 0)
  }

  /** `d = <number>`, `vN[i] = <number>`, `d = a`, `d = a op b`, `d = fn(args)`. */
  assignment(): Instruction {
    const destName = this.word()
    if (this.peek() === '[') return this.element(destName)
    const out = this.address(destName)
    this.expect('=')
    const start = this.pos
    const first = this.peek()
    if (first === undefined) throw this.error('nothing after "="')
    if (!isWordChar(first)) return instruction('CONST', UNUSED, UNUSED, out, this.constant(this.rest(start)), 0)
    const name = this.word()
    if (this.peek() === '(' && !isRegisterLike(name)) return this.call(name, out)
    if (isDigitChar(first)) return instruction('CONST', UNUSED, UNUSED, out, this.constant(this.rest(start)), 0)
    const in1 = this.address(name)
    this.skipBlanks()
    const symbol = this.peek()
    if (symbol === undefined) return instruction('COPY', in1, UNUSED, out, 0, 0)
    const op = ARITHMETIC[symbol]
    if (op === undefined)
      throw this.error(
        `expected an operator (+ - * /) or the end of the line after ${quote(name)}, got ${quote(this.rest(this.pos))}`,
      )
    this.pos++
    this.skipBlanks()
    const secondAt = this.pos
    const second = this.word()
    if (second === '' || isDigitChar(second.charAt(0))) throw this.operandError(this.rest(secondAt))
    const in2 = this.address(second)
    this.skipBlanks()
    if (!this.atEnd()) {
      throw this.error(
        `unexpected ${quote(this.rest(this.pos))} after the statement (the miners' parser would ignore it)`,
      )
    }
    return instruction(op, in1, in2, out, 0, 0)
  }

  /** `vN[i] = <number>`: no blanks inside, as their pattern requires. */
  private element(destName: string): Instruction {
    const out = this.address(destName)
    if (destName.charAt(0) !== 'v')
      throw this.error(`only vector registers take an element index, got ${quote(destName)}`)
    this.pos++
    const close = this.text.indexOf(']', this.pos)
    const index = close === -1 ? '' : this.text.slice(this.pos, close)
    if (!isDigits(index))
      throw this.error(`vector element index must be digits inside [ ], got ${quote(this.rest(this.pos - 1))}`)
    const value = Number(index)
    if (value >= this.meta.vector_dim)
      throw this.error(`element index ${quote(index)} out of range (vector_dim=${this.meta.vector_dim})`)
    this.pos = close + 1
    this.expect('=')
    this.skipBlanks()
    return instruction('CONST_VEC', UNUSED, UNUSED, out, value, this.constant(this.rest(this.pos)))
  }

  private call(name: string, out: number): Instruction {
    const rule = FUNCTIONS.get(name)
    if (rule === undefined) throw this.error(unknownFunction(name))
    const close = this.text.lastIndexOf(')')
    if (close === -1) throw this.error(`${name}( is missing its closing parenthesis`)
    if (close !== this.text.length - 1) throw this.error(`unexpected ${quote(this.rest(close + 1))} after ${name}(…)`)
    const inner = this.text.slice(this.pos + 1, -1)
    if (inner.includes('(') || inner.includes(')'))
      throw this.error(`${name}(…): nested parentheses are not part of the grammar`)
    // Count before splitting: a hostile argument list must not become a huge array.
    let commas = 0
    for (let i = inner.indexOf(','); i !== -1 && commas <= 2; i = inner.indexOf(',', i + 1)) commas++
    if (commas > 2)
      throw this.error(`${name} takes ${expectedArguments(ALLOWED_ARGUMENTS[rule.args])}, got more than 3`)
    const args = inner.trim() === '' ? [] : inner.split(',').map((arg) => arg.trim())
    if (args.includes(''))
      throw this.error(`${name}(…) has an empty argument (the miners' parser would skip it and shift the others)`)

    switch (rule.args) {
      case 'register': {
        this.arity(name, args, ALLOWED_ARGUMENTS.register)
        return instruction(rule.op, this.address(args[0] as string), UNUSED, out, 0, 0)
      }
      case 'heaviside': {
        this.arity(name, args, ALLOWED_ARGUMENTS.heaviside)
        const [x, threshold] = args as [string, string | undefined]
        if (threshold !== undefined && (!isDecimalLiteral(threshold) || toFloat32(threshold) !== 1)) {
          throw this.error(
            `heaviside's second argument must be 1.0 as the miners' serializer writes it, got ${quote(threshold)} ` +
              '(their runtime ignores it and thresholds at zero)',
          )
        }
        return instruction('HEAVISIDE', this.address(x), UNUSED, out, 0, 0)
      }
      case 'register-pair': {
        this.arity(name, args, ALLOWED_ARGUMENTS['register-pair'])
        const [a, b] = args as [string, string]
        const in1 = this.address(a)
        const in2 = this.address(b)
        // Their parser reads dot(m, v) and dot(m, m) as a matrix product; their serializer writes
        // MATMUL(m, v) as dot(m, v). Both spellings are one op.
        const op = rule.op === 'DOT' && a.startsWith('m') && !b.startsWith('s') ? 'MATMUL' : rule.op
        return instruction(op, in1, in2, out, 0, 0)
      }
      case 'random': {
        this.arity(name, args, ALLOWED_ARGUMENTS.random)
        // Their defaults: gaussian() is gaussian(0, 1), uniform() is uniform(0, 1).
        const [first, second] = args
        const const1 = first === undefined ? 0 : this.constant(first)
        const const2 = second === undefined ? 1 : this.constant(second)
        return instruction(rule.op, UNUSED, UNUSED, out, const1, const2)
      }
    }
  }

  private arity(name: string, args: readonly string[], allowed: readonly number[]): void {
    if (!allowed.includes(args.length))
      throw this.error(`${name} takes ${expectedArguments(allowed)}, got ${args.length}`)
  }

  /** A float32 constant from a decimal literal. */
  private constant(text: string): number {
    if (!isDecimalLiteral(text)) throw this.operandError(text)
    const value = toFloat32(text)
    if (value === undefined) throw this.error(`number ${quote(text)} is too large for float32`)
    return value
  }

  /** The miners' address of a register name, checked against the meta line and their address space. */
  private address(name: string): number {
    const kind = name.charAt(0)
    const digits = name.slice(1)
    if ((kind !== 's' && kind !== 'v' && kind !== 'm') || !isDigits(digits)) {
      if (isRegisterLike(name))
        throw this.error(`registers are lowercase: write ${quote(name.toLowerCase())}, not ${quote(name)}`)
      if (isDecimalLiteral(name))
        throw this.error(
          `expected a register, got the number ${quote(name)} (operands are registers; literal operands are not part of the miners' grammar)`,
        )
      throw this.error(`expected a register (sN, vN or mN), got ${quote(name)}`)
    }
    if (digits.length > 1 && digits.startsWith('0'))
      throw this.error(`write the register ${quote(name)} without leading zeros`)
    const bank = BANK[kind]
    const index = Number(digits)
    const count = this.meta[bank.count]
    if (index >= count) throw this.error(`register ${quote(name)} out of range (${bank.count}=${count})`)
    if (index >= bank.size) {
      throw this.error(
        `register ${quote(name)} is past the miners' ${bank.size} ${bank.count.split('_')[0]} registers: their address ${bank.base + index} is another register`,
      )
    }
    return bank.base + index
  }

  private operandError(text: string): DslError {
    if (text === '') return this.error('expected a register or a number, got the end of the line')
    if (isDecimalLiteral(text))
      return this.error(
        `expected a register, got the number ${quote(text)} (operands are registers; literal operands are not part of the miners' grammar)`,
      )
    if (/^[-+][ \t]*[svm][0-9]/.test(text))
      return this.error(`negated registers are not part of the grammar: ${quote(text)}`)
    if (/^(inf|infinity|nan)$/i.test(text.replace(/^[-+]/, '')))
      return this.error(`non-finite number ${quote(text)} is not allowed`)
    return this.error(`expected a number, got ${quote(text)}`)
  }

  private word(): string {
    const start = this.pos
    while (this.pos < this.text.length && isWordChar(this.text.charAt(this.pos))) this.pos++
    return this.text.slice(start, this.pos)
  }

  private expect(char: string): void {
    this.skipBlanks()
    if (this.peek() !== char)
      throw this.error(`expected "${char}", got ${this.atEnd() ? 'the end of the line' : quote(this.rest(this.pos))}`)
    this.pos++
    this.skipBlanks()
  }

  private skipBlanks(): void {
    while (this.text.charAt(this.pos) === ' ' || this.text.charAt(this.pos) === '\t') this.pos++
  }

  private peek(): string | undefined {
    return this.pos < this.text.length ? this.text.charAt(this.pos) : undefined
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length
  }

  private rest(from: number): string {
    return this.text.slice(from)
  }

  private error(reason: string): DslError {
    return new DslError(this.line, reason)
  }
}

function instruction(op: OpName, in1: number, in2: number, out: number, const1: number, const2: number): Instruction {
  return { op, in1, in2, out, const1, const2 }
}

function unknownFunction(name: string): string {
  const lower = name.toLowerCase()
  if (FUNCTIONS.has(lower)) return `function names are lowercase: write ${lower}(…), not ${quote(name)}`
  const other = OTHER_SPELLING[lower]
  if (other !== undefined) return `${quote(name)} is not written by the miners' serializer: write ${other}`
  return `unknown function ${quote(name)} (known: ${FUNCTION_NAMES.join(', ')})`
}

/** The first `count` blank-separated words of `text`, found without splitting all of it. */
function firstWords(text: string, count: number): string[] {
  const words: string[] = []
  let pos = 0
  while (words.length < count) {
    while (text.charAt(pos) === ' ' || text.charAt(pos) === '\t') pos++
    if (pos >= text.length) break
    const start = pos
    while (pos < text.length && text.charAt(pos) !== ' ' && text.charAt(pos) !== '\t') pos++
    words.push(text.slice(start, pos))
  }
  return words
}

/** `s3`, `V1`, `m01`: a register letter followed by digits, whatever its case or zeros. */
function isRegisterLike(name: string): boolean {
  return /^[svmSVM][0-9]+$/.test(name)
}

function isWordChar(char: string): boolean {
  const code = char.charCodeAt(0)
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
}

function isDigitChar(char: string): boolean {
  return char >= '0' && char <= '9'
}

/** Quotes a piece of input for an error message, cut short so hostile input cannot bloat errors. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 32 ? `${text.slice(0, 32)}…` : text)
}
