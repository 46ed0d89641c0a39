// Properties over random programs in the miners' format: reading what their serializer writes gives the
// program back, the canonical form is a fixed point, and no respelling their parser allows moves the hash.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  ADDR_MATRICES,
  ADDR_VECTORS,
  PHASES,
  UNUSED,
  printCanonical,
  printInstruction,
  pythonRepr,
  registerName,
  validateAlgorithm,
  type DslProgram,
  type Instruction,
  type OpName,
  type Phase,
} from '../../../src/domain/dsl/index.ts'

const RUNS = 300

interface Machine {
  inputDim: number
  scalars: number
  vectors: number
  matrices: number
  vectorDim: number
}

const machineArb: fc.Arbitrary<Machine> = fc
  .record({
    inputDim: fc.integer({ min: 1, max: 40 }),
    scalars: fc.integer({ min: 2, max: 20 }),
    vectors: fc.integer({ min: 1, max: 10 }),
    matrices: fc.integer({ min: 0, max: 6 }),
    declaredDim: fc.integer({ min: 1, max: 48 }),
  })
  .map(({ declaredDim, ...m }) => ({ ...m, vectorDim: Math.max(declaredDim, m.inputDim) }))

/** float32 constants, from everyday values to the extremes of the format. */
const float32Arb: fc.Arbitrary<number> = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 0.1, 1, 0.5, 1e-5, 1e16, 3.4028234663852886e38, 1.401298464324817e-45).map(Math.fround),
  fc.integer({ min: -1000, max: 1000 }).map(Math.fround),
)

function registerArb(m: Machine, kinds: string): fc.Arbitrary<number> {
  const options: Array<fc.Arbitrary<number>> = []
  if (kinds.includes('s')) options.push(fc.integer({ min: 0, max: m.scalars - 1 }))
  if (kinds.includes('v')) options.push(fc.integer({ min: 0, max: m.vectors - 1 }).map((i) => ADDR_VECTORS + i))
  if (kinds.includes('m') && m.matrices > 0)
    options.push(fc.integer({ min: 0, max: m.matrices - 1 }).map((i) => ADDR_MATRICES + i))
  return fc.oneof(...options)
}

const UNARY: OpName[] = ['ABS', 'EXP', 'LOG', 'SIN', 'COS', 'TAN', 'HEAVISIDE', 'NORM', 'MEAN', 'STD', 'COPY']
const BINARY: OpName[] = ['ADD', 'SUB', 'MUL', 'DIV', 'MIN', 'MAX', 'MATMUL', 'OUTER', 'DOT']

/** Instructions the miners' parser can produce: no type checks (theirs has none), any register kinds. */
function instructionArb(m: Machine): fc.Arbitrary<Instruction> {
  const any = registerArb(m, 'svm')
  const x = (op: OpName, in1: number, in2: number, out: number, const1: number, const2: number): Instruction => ({
    op,
    in1,
    in2,
    out,
    const1,
    const2,
  })
  return fc.oneof(
    fc.tuple(any, float32Arb).map(([out, c]) => x('CONST', UNUSED, UNUSED, out, c, 0)),
    fc
      .tuple(registerArb(m, 'v'), fc.integer({ min: 0, max: m.vectorDim - 1 }), float32Arb)
      .map(([out, i, c]) => x('CONST_VEC', UNUSED, UNUSED, out, i, c)),
    fc
      .tuple(fc.constantFrom<OpName>('GAUSSIAN', 'UNIFORM'), any, float32Arb, float32Arb)
      .map(([op, out, a, b]) => x(op, UNUSED, UNUSED, out, a, b)),
    fc.tuple(fc.constantFrom(...UNARY), any, any).map(([op, a, out]) => x(op, a, UNUSED, out, 0, 0)),
    fc
      .tuple(fc.constantFrom(...BINARY), any, any, any)
      // Their parser reads dot(m, v) and dot(m, m) as MATMUL, so DOT never has that shape.
      .filter(([op, a, b]) => !(op === 'DOT' && a >= ADDR_MATRICES && b >= ADDR_VECTORS))
      .map(([op, a, b, out]) => x(op, a, b, out, 0, 0)),
  )
}

const programArb: fc.Arbitrary<DslProgram> = machineArb.chain((m) =>
  fc
    .record({
      setup: fc.array(instructionArb(m), { maxLength: 12 }),
      predict: fc.array(instructionArb(m), { maxLength: 12 }),
      learn: fc.array(instructionArb(m), { maxLength: 12 }),
      slack: fc.tuple(fc.nat(40), fc.nat(40), fc.nat(40)),
    })
    .filter((p) => p.setup.length + p.predict.length + p.learn.length > 0)
    .map(({ slack, ...body }) => ({
      input_dim: m.inputDim,
      meta: { scalar_count: m.scalars, vector_count: m.vectors, matrix_count: m.matrices, vector_dim: m.vectorDim },
      // A phase holds at least its lines; an empty phase is written as one NoOp() line.
      caps: {
        setup: Math.max(1, body.setup.length) + slack[0],
        predict: Math.max(1, body.predict.length) + slack[1],
        learn: Math.max(1, body.learn.length) + slack[2],
      },
      ...body,
    })),
)

describe("random programs in the miners' format", () => {
  it('parse(canonical(p)) is p, canonical is a fixed point, and the hash is stable', () => {
    fc.assert(
      fc.property(programArb, (program) => {
        const text = printCanonical(program)
        const first = validateAlgorithm(text, { inputDim: program.input_dim })
        assert.deepEqual(first.program, program)
        assert.equal(first.canonical, text)
        const second = validateAlgorithm(first.canonical, { inputDim: program.input_dim })
        assert.deepEqual(second.program, program)
        assert.equal(second.hash, first.hash)
      }),
      { numRuns: RUNS },
    )
  })

  it('every respelling their parser allows reads as the same program and hashes the same', () => {
    fc.assert(
      fc.property(programArb, fc.infiniteStream(fc.nat()), (program, choices) => {
        const text = respell(program, choices[Symbol.iterator]())
        const read = validateAlgorithm(text, { inputDim: program.input_dim })
        assert.deepEqual({ ...read.program, caps: program.caps }, program, text)
        assert.equal(read.hash, validateAlgorithm(printCanonical(program), { inputDim: program.input_dim }).hash, text)
      }),
      { numRuns: RUNS },
    )
  })

  it('programs that differ in any instruction field hash differently', () => {
    fc.assert(
      fc.property(programArb, fc.nat(), (program, pick) => {
        const phase = PHASES.find((p) => program[p].length > 0) as Phase
        const body = program[phase]
        const index = pick % body.length
        const changed = { ...(body[index] as Instruction) }
        if (changed.op === 'CONST' || changed.op === 'GAUSSIAN' || changed.op === 'UNIFORM')
          changed.const1 = Math.fround(changed.const1 === 1 ? 2 : 1)
        else if (changed.op === 'CONST_VEC') changed.const2 = Math.fround(changed.const2 === 1 ? 2 : 1)
        else changed.out = changed.out === 0 ? 1 : 0
        const other = { ...program, [phase]: body.map((x, i) => (i === index ? changed : x)) }
        const hash = (p: DslProgram) => validateAlgorithm(printCanonical(p), { inputDim: p.input_dim }).hash
        assert.notEqual(hash(other), hash(program))
      }),
      { numRuns: RUNS },
    )
  })
})

/** Another text for the same program, picking among the spellings the miners' parser reads alike. */
function respell(program: DslProgram, choices: Iterator<number>): string {
  const choose = <T>(options: readonly T[]): T => options[(choices.next().value as number) % options.length] as T
  const blank = () => choose(['', ' ', '  ', '\t'])
  const lines: string[] = []
  const { meta } = program
  const metaEntries = [
    `scalar_count=${meta.scalar_count}`,
    `vector_count=${meta.vector_count}`,
    `matrix_count=${meta.matrix_count}`,
  ]
  // vector_dim may be left out only when the input dimension alone gives it.
  if (meta.vector_dim !== program.input_dim || choose([true, false])) metaEntries.push(`vector_dim=${meta.vector_dim}`)
  lines.push(
    choose(['# meta: ', '# META: ', '# Meta:']) +
      metaEntries.sort(() => choose([-1, 1])).join(choose([' ', ',', ' , ', '\t'])),
  )
  if (choose([true, false])) lines.push(choose(['# evolved by a miner', '#gen3', '# parent_id: 7']))
  for (const phase of PHASES) {
    const title = phase.charAt(0).toUpperCase() + phase.slice(1)
    lines.push(
      choose([
        `# ${phase}`,
        `# ${phase}:`,
        `#${phase.toUpperCase()}`,
        `${phase}:`,
        `def ${title}():`,
        `${blank()}def ${title}():${blank()}# ok`,
      ]),
    )
    const indent = choose(['', '  ', '\t', '    '])
    if (program[phase].length === 0 || choose([false, false, true]))
      lines.push(`${indent}${choose(['NoOp()', 'noop()', 'NOOP()'])}`)
    for (const x of program[phase]) {
      const comment = choose(['', '', `${blank()}# keep`])
      lines.push(`${indent}${spell(x, choose, blank)}${comment}`)
    }
  }
  return lines.join(choose(['\n', '\r\n'])) + choose(['', '\n', '\n\n'])
}

function spell(x: Instruction, choose: <T>(options: readonly T[]) => T, blank: () => string): string {
  const canonical = printInstruction(x)
  const [dest, rhs] = canonical.split(' = ') as [string, string]
  const eq = `${blank()}=${blank()}`
  // Any decimal spelling that rounds to the same float32 (JavaScript drops the sign of -0: not those).
  const number = (value: number) =>
    choose(
      [pythonRepr(value), String(value), value.toExponential(), value.toPrecision(12)].filter((t) =>
        Object.is(Math.fround(Number(t)), value),
      ),
    )
  switch (x.op) {
    case 'CONST':
      return choose([`${dest}${eq}${number(x.const1)}`, `CONST ${number(x.const1)}${blank()}->${blank()}${dest}`])
    case 'CONST_VEC':
      return `${registerName(x.out)}[${choose(['', '0', '00'])}${Math.trunc(x.const1)}]${eq}${number(x.const2)}`
    case 'GAUSSIAN':
    case 'UNIFORM': {
      const name = x.op.toLowerCase()
      const args = [number(x.const1), number(x.const2)]
      if (Object.is(x.const1, 0) && x.const2 === 1 && choose([true, false])) return `${dest}${eq}${name}()`
      if (x.const2 === 1 && choose([true, false])) return `${dest}${eq}${name}(${args[0]})`
      return `${dest}${eq}${name}(${blank()}${args.join(`${blank()},${blank()}`)}${blank()})`
    }
    case 'HEAVISIDE':
      return `${dest}${eq}${choose([rhs, rhs.replace(', 1.0)', ')'), rhs.replace('1.0', '1')])}`
    case 'MATMUL': {
      const [, args] = /\((.*)\)/.exec(rhs) as RegExpExecArray
      const isMatrixProduct = /^m\d+, [vm]/.test(args as string)
      return `${dest}${eq}${isMatrixProduct ? choose(['dot', 'matmul']) : 'matmul'}(${(args as string).replace(', ', `${blank()},${blank()}`)})`
    }
    default:
      return `${dest}${eq}${rhs.replace(/ ([-+*/]) /, `${blank()}$1${blank()}`)}`
  }
}
