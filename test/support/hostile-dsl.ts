/** Programs shaped to trip backtracking or per-token blow-ups, each exactly at the size limit. */
import { DSL_DEFAULT_MAX_BYTES } from '../../src/domain/dsl/index.ts'

const SIZE = DSL_DEFAULT_MAX_BYTES

export const HOSTILE: Record<string, string> = {
  'one identifier': 'a'.repeat(SIZE),
  'one number': '1'.repeat(SIZE),
  'open parentheses': '('.repeat(SIZE),
  'minus signs': '-'.repeat(SIZE),
  'half arrows': '->'.repeat(SIZE / 2),
  'exponent chains': `s0 = ${'1e'.repeat((SIZE - 5) / 2)}`,
  'spaced def header': `def ${' '.repeat(SIZE - 6)}x:`,
  'spaced meta line': `# meta:${' '.repeat(SIZE - 8)}x`,
  'long meta line': `# meta:${' a=1'.repeat((SIZE - 7) / 4)}`,
  'arrow with many operands': `CONST ${'1 '.repeat((SIZE - 12) / 2)}-> s0`,
  'huge element index': `v1[${'9'.repeat(SIZE - 8)}] = 1`,
  'empty lines': '\n'.repeat(SIZE),
  'colon lines': ':\n'.repeat(SIZE / 2),
  'dangling operators': `s0 = s1${' +'.repeat((SIZE - 7) / 2)}`,
  'comment only': `#${'#'.repeat(SIZE - 1)}`,
}

/** A valid program of almost DSL_DEFAULT_MAX_BYTES. */
export function largeValidProgram (): string {
  const lines = ['# meta: predict_max_ops=10000']
  for (let i = 0; lines.join('\n').length < SIZE - 64; i++) lines.push(`s${i % 20} = dot(v${i % 10}, v${(i + 3) % 10})`)
  return lines.join('\n')
}
