/**
 * DSL validation cost on a large valid program and on hostile programs at the size limit, next to the
 * cost of merely reading every character once (a floor no parser can beat), and how the cost grows from a
 * quarter of the limit to the limit: 4× the bytes cost about 4× when validation is linear, 16× if it were
 * quadratic. Costs are CPU time per validation, so other load on the machine barely moves them.
 * Run: node --import tsx bench/dsl.bench.ts
 */
import { DSL_DEFAULT_MAX_BYTES, validateAlgorithm } from '../src/domain/dsl/index.ts'
import { hostilePrograms, largeValidProgram } from '../test/support/hostile-dsl.ts'
import { printTable, round, writeResult } from './support.ts'

/** CPU milliseconds per call, over enough calls to fill about 200 ms. */
function cpuPerRun(f: () => void): number {
  for (let i = 0; i < 20; i++) f()
  let runs = 0
  const start = process.cpuUsage()
  let used = 0
  while (used < 200_000) {
    for (let i = 0; i < 20; i++) f()
    runs += 20
    const { user, system } = process.cpuUsage(start)
    used = user + system
  }
  return used / 1000 / runs
}

const validate = (text: string) =>
  cpuPerRun(() => {
    try {
      validateAlgorithm(text)
    } catch {
      /* rejected, as intended */
    }
  })

function readEveryCharacter(text: string): number {
  let sum = 0
  for (let i = 0; i < text.length; i++) sum += text.charCodeAt(i)
  return sum
}

export function benchDsl() {
  const inputs = (size: number): Record<string, string> => ({
    'valid program': largeValidProgram(size),
    ...hostilePrograms(size),
  })
  const full = inputs(DSL_DEFAULT_MAX_BYTES)
  const quarter = inputs(DSL_DEFAULT_MAX_BYTES / 4)
  return Object.entries(full).map(([name, text]) => {
    const ms = validate(text)
    const scan = cpuPerRun(() => {
      readEveryCharacter(text)
    })
    return {
      input: name,
      bytes: text.length,
      validate_ms: round(ms, 3),
      read_chars_ms: round(scan, 3),
      ratio: round(ms / scan, 1),
      growth_4x_bytes: round(ms / validate(quarter[name] as string), 1),
    }
  })
}

if (process.argv[1]?.endsWith('dsl.bench.ts')) {
  const results = benchDsl()
  printTable('DSL validation at the size limit (CPU time)', results)
  writeResult('dsl', { results })
}
