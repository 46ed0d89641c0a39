#!/usr/bin/env node
// Runs the whole suite: pure unit tests once, then every integration and end-to-end test against
// SQLite and again against PostgreSQL. Ends with one "N passed, N failed" line; exits non-zero when a
// test failed or when no test ran at all.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const findTests = (dir) => {
  let out = []
  let entries = []
  try { entries = readdirSync(dir) } catch { return out }
  for (const name of entries.sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out = out.concat(findTests(path))
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const only = process.argv.slice(2) // optional: "unit", "sqlite", "postgres"
const runs = [
  { name: 'unit', files: findTests('test/unit'), env: {} },
  { name: 'sqlite', files: [...findTests('test/integration'), ...findTests('test/e2e'), ...findTests('test/browser')], env: { TEST_DATABASE: 'sqlite' } },
  { name: 'postgres', files: [...findTests('test/integration'), ...findTests('test/e2e')], env: { TEST_DATABASE: 'postgres' } },
].filter((r) => only.length === 0 || only.includes(r.name))

let passed = 0
let failed = 0
for (const run of runs) {
  if (run.files.length === 0) continue
  process.stdout.write(`\n== ${run.name}: ${run.files.length} files ==\n`)
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...run.files], {
    env: { ...process.env, ...run.env, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  process.stdout.write(result.stdout ?? '')
  process.stderr.write(result.stderr ?? '')
  const count = (label) => Number((result.stdout ?? '').match(new RegExp(`^ℹ ${label} (\\d+)`, 'm'))?.[1] ?? 0)
  passed += count('pass')
  failed += count('fail')
  if (result.status !== 0 && count('fail') === 0) failed += 1 // a crash outside any test still fails the run
}
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
