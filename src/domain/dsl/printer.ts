// Canonical printing and hashing. The canonical text is itself valid DSL, so
// parseDsl(printCanonical(p)) reproduces p exactly.

import { createHash } from 'node:crypto'
import { META_SPEC, PHASES, type DslProgram, type Operand, type Register, type Statement } from './program.ts'

export function printCanonical(program: DslProgram): string {
  const meta = META_SPEC.map(({ key }) => `${key}=${program.meta[key]}`).join(' ')
  const lines = [`# meta: ${meta}`]
  for (const phase of PHASES) lines.push(`# ${phase}:`, ...program[phase].map(printStatement))
  return `${lines.join('\n')}\n`
}

/** Lowercase hex sha256 of the canonical text: equal for every spelling of one program. */
export function canonicalHash(program: DslProgram): string {
  return hashCanonicalText(printCanonical(program))
}

/** Hash of text already produced by printCanonical, so callers holding it need not print twice. */
export function hashCanonicalText(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex')
}

/**
 * Shortest string that reads back as the same double (ECMAScript Number#toString).
 * Parsed programs never hold -0, NaN or infinities, so the output always re-parses.
 */
function formatNumber(value: number): string {
  return String(value)
}

function printStatement(statement: Statement): string {
  const dest = printRegister(statement.dest)
  switch (statement.kind) {
    case 'const':
      return `${dest} = ${formatNumber(statement.value)}`
    case 'set_element':
      return `${dest}[${statement.index}] = ${formatNumber(statement.value)}`
    case 'copy':
      return `${dest} = ${printRegister(statement.src)}`
    case 'binary':
      return `${dest} = ${printOperand(statement.left)} ${statement.op} ${printOperand(statement.right)}`
    case 'call':
      return `${dest} = ${statement.fn}(${statement.args.map(printOperand).join(', ')})`
  }
}

function printRegister(register: Register): string {
  return `${register.kind}${register.index}`
}

function printOperand(operand: Operand): string {
  return typeof operand === 'number' ? formatNumber(operand) : printRegister(operand)
}
