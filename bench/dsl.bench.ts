/**
 * DSL validation speed on hostile and large programs at the size limit, next to the cost of merely
 * splitting the same text into lines (a floor no parser can beat).
 * Run: node --import tsx bench/dsl.bench.ts
 */
import { validateAlgorithm } from '../src/domain/dsl/index.ts'
import { HOSTILE, largeValidProgram } from '../test/support/hostile-dsl.ts'
import { printTable, round, writeResult } from './support.ts'

function perRun (f: () => void, runs = 200): number {
  for (let i = 0; i < 20; i++) f()
  const start = performance.now()
  for (let i = 0; i < runs; i++) f()
  return (performance.now() - start) / runs
}

export function benchDsl () {
  const inputs: Record<string, string> = { 'valid 16 KiB program': largeValidProgram(), ...HOSTILE }
  return Object.entries(inputs).map(([name, text]) => {
    const validate = perRun(() => { try { validateAlgorithm(text) } catch { /* rejected, as intended */ } })
    const split = perRun(() => { text.split('\n').map((l) => l.trim()) })
    return { input: name, bytes: text.length, validate_ms: round(validate, 3), split_lines_ms: round(split, 3), ratio: round(validate / split, 1) }
  })
}

if (process.argv[1]?.endsWith('dsl.bench.ts')) {
  const results = benchDsl()
  printTable('DSL validation at the size limit', results)
  writeResult('dsl', { results })
}
