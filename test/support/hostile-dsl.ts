/** Programs shaped to trip backtracking or per-token blow-ups, each exactly `size` bytes (default: the limit). */
import { DSL_DEFAULT_MAX_BYTES } from '../../src/domain/dsl/index.ts'

export function hostilePrograms(size: number = DSL_DEFAULT_MAX_BYTES): Record<string, string> {
  const fill = (unit: string, room: number) => unit.repeat(Math.floor(room / unit.length))
  return {
    'one identifier': 'a'.repeat(size),
    'one number': '1'.repeat(size),
    'open parentheses': '('.repeat(size),
    'minus signs': '-'.repeat(size),
    'half arrows': fill('->', size),
    'exponent chains': `s0 = ${fill('1e', size - 5)}`,
    'spaced def header': `def ${' '.repeat(size - 6)}x:`,
    'spaced meta line': `# meta:${' '.repeat(size - 8)}x`,
    'long meta line': `# meta:${fill(' a=1', size - 7)}`,
    'arrow with many operands': `CONST ${fill('1 ', size - 12)}-> s0`,
    'huge element index': `v1[${'9'.repeat(size - 8)}] = 1`,
    'empty lines': '\n'.repeat(size),
    'colon lines': fill(':\n', size),
    'dangling operators': `s0 = s1${fill(' +', size - 7)}`,
    'comment only': '#'.repeat(size),
    'phase names in comments': fill('# setup predict learn\n', size),
    'NoOp lines': fill('NoOp()\n', size),
    'blank run before garbage': `s0 = s1${' '.repeat(size - 8)}x`,
    'blank run before a colon': `${' '.repeat(size - 1)}:`,
    'near-miss meta line': `#${' '.repeat(size - 6)}meta:`,
    'comma-only meta line': `# meta:${','.repeat(size - 7)}`,
    'open call': `s0 = sin(${'('.repeat(size - 9)}`,
    'long argument list': `s0 = gaussian(${fill('1,', size - 16)}1)`,
    'tabs and blanks around =': `s0${fill(' \t', size - 8)}= s1 +`,
  }
}

export const HOSTILE = hostilePrograms()

/** A valid program of almost `size` bytes: hundreds of instructions. */
export function largeValidProgram(size: number = DSL_DEFAULT_MAX_BYTES): string {
  const lines = ['# meta: predict_max_ops=10000']
  for (let i = 0; lines.join('\n').length < size - 64; i++) lines.push(`s${i % 20} = dot(v${i % 10}, v${(i + 3) % 10})`)
  return lines.join('\n')
}
