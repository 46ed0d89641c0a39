import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DSL_DEFAULT_MAX_BYTES, DslError, validateAlgorithm } from '../../../src/domain/dsl/index.ts'

const SIZE = DSL_DEFAULT_MAX_BYTES

/** Inputs shaped to trip backtracking or per-token blow-ups, each exactly at the size limit. */
const HOSTILE: Record<string, string> = {
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

function timeMs(run: () => void): number {
  const start = performance.now()
  run()
  return performance.now() - start
}

describe('DSL performance on hostile and large input', () => {
  for (const [name, text] of Object.entries(HOSTILE)) {
    it(`${name} (${text.length} chars) is rejected quickly`, () => {
      // Generous bound for loaded CI machines; backtracking would take seconds.
      const ms = timeMs(() => assert.throws(() => validateAlgorithm(text), DslError))
      assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`)
    })
  }

  it('validates a 16 KiB program in about a millisecond', () => {
    const lines = ['# meta: predict_max_ops=10000']
    for (let i = 0; lines.join('\n').length < SIZE - 64; i++) lines.push(`s${i % 20} = dot(v${i % 10}, v${(i + 3) % 10})`)
    const text = lines.join('\n')
    for (let i = 0; i < 20; i++) validateAlgorithm(text) // warm up the JIT
    const runs = 50
    const ms = timeMs(() => {
      for (let i = 0; i < runs; i++) validateAlgorithm(text)
    })
    assert.ok(ms / runs < 5, `took ${(ms / runs).toFixed(2)} ms per validation`)
  })
})
