// Canonical form: the text the miners' current serializer (BitSota `DSLParser.to_dsl`) writes for a
// program, byte for byte, so their parser reads back the same program.

import { pythonRepr } from './numbers.ts'
import { PHASES, registerName, type DslProgram, type Instruction, type Phase } from './program.ts'

const TITLE: Readonly<Record<Phase, string>> = { setup: 'Setup', predict: 'Predict', learn: 'Learn' }
const SYMBOL: Readonly<Partial<Record<Instruction['op'], string>>> = { ADD: '+', SUB: '-', MUL: '*', DIV: '/' }

/**
 * `# meta:` with the register file and each phase's instruction slots, then `def Setup():`,
 * `def Predict():`, `def Learn():` with two-space indented instructions (`NoOp()` for an empty phase),
 * lines joined by \n with no final newline.
 */
export function printCanonical(program: DslProgram): string {
  const { meta, caps } = program
  const lines = [
    `# meta: scalar_count=${meta.scalar_count} vector_count=${meta.vector_count} matrix_count=${meta.matrix_count} ` +
      `vector_dim=${meta.vector_dim} setup_max_ops=${caps.setup} predict_max_ops=${caps.predict} learn_max_ops=${caps.learn}`,
  ]
  for (const phase of PHASES) {
    lines.push(`def ${TITLE[phase]}():`)
    const body = program[phase]
    if (body.length === 0) lines.push('  NoOp()')
    for (const instruction of body) lines.push(`  ${printInstruction(instruction)}`)
  }
  return lines.join('\n')
}

export function printInstruction({ op, in1, in2, out, const1, const2 }: Instruction): string {
  const d = registerName(out)
  const a = registerName(in1)
  const b = registerName(in2)
  switch (op) {
    case 'CONST':
      return `${d} = ${pythonRepr(const1)}`
    case 'CONST_VEC':
      return `${d}[${Math.trunc(const1)}] = ${pythonRepr(const2)}`
    case 'GAUSSIAN':
    case 'UNIFORM':
      return `${d} = ${op.toLowerCase()}(${pythonRepr(const1)}, ${pythonRepr(const2)})`
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'DIV':
      return `${d} = ${a} ${SYMBOL[op]} ${b}`
    case 'HEAVISIDE':
      return `${d} = heaviside(${a}, 1.0)`
    case 'MIN':
      return `${d} = minimum(${a}, ${b})`
    case 'MAX':
      return `${d} = maximum(${a}, ${b})`
    case 'MATMUL':
      // Their serializer writes the matrix-vector product as dot(m, v).
      return `${d} = ${a.startsWith('m') && b.startsWith('v') ? 'dot' : 'matmul'}(${a}, ${b})`
    case 'DOT':
    case 'OUTER':
      return `${d} = ${op.toLowerCase()}(${a}, ${b})`
    case 'COPY':
      return `${d} = ${a}`
    case 'NOOP':
      throw new Error('NOOP instructions are never produced by the parser')
    default:
      return `${d} = ${op.toLowerCase()}(${a})`
  }
}
