/**
 * DSL validation speed on hostile and large programs at the size limit, next to the cost of merely
 * splitting the same text into lines (a floor no parser can beat), and how the time grows from a quarter
 * of the limit to the limit (4× the bytes: about 4× the time when validation is linear, 16× if quadratic).
 * Run: node --import tsx bench/dsl.bench.ts
 */
import { DSL_DEFAULT_MAX_BYTES, validateAlgorithm } from '../src/domain/dsl/index.ts'
import { hostilePrograms, largeValidProgram } from '../test/support/hostile-dsl.ts'
import { printTable, round, writeResult } from './support.ts'

function perRun (f: () => void, runs = 200): number {
  for (let i = 0; i < 20; i++) f()
  const start = performance.now()
  for (let i = 0; i < runs; i++) f()
  return (performance.now() - start) / runs
}

const validate = (text: string) => perRun(() => { try { validateAlgorithm(text) } catch { /* rejected, as intended */ } })

export function benchDsl () {
  const inputs = (size: number): Record<string, string> => ({ 'valid program': largeValidProgram(size), ...hostilePrograms(size) })
  const full = inputs(DSL_DEFAULT_MAX_BYTES)
  const quarter = inputs(DSL_DEFAULT_MAX_BYTES / 4)
  return Object.entries(full).map(([name, text]) => {
    const ms = validate(text)
    const split = perRun(() => { text.split('\n').map((l) => l.trim()) })
    return {
      input: name,
      bytes: text.length,
      validate_ms: round(ms, 3),
      split_lines_ms: round(split, 3),
      ratio: round(ms / split, 1),
      growth_4x_bytes: round(ms / validate(quarter[name] as string), 1),
    }
  })
}

if (process.argv[1]?.endsWith('dsl.bench.ts')) {
  const results = benchDsl()
  printTable('DSL validation at the size limit', results)
  writeResult('dsl', { results })
}
