import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { perfTable, withTables } from '../../scripts/doc-tables.ts'

test('the README documents every configuration variable and error code (run npm run docs:tables)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  assert.equal(readme, withTables(readme), 'README.md tables are out of date')
})

test('the README shows the last full benchmark run (bench/results.json) in its performance table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const results = JSON.parse(readFileSync(new URL('../../bench/results.json', import.meta.url), 'utf8')) as {
    at: string
  }
  const table = readme.slice(readme.indexOf('<!-- perf-table:start -->'), readme.indexOf('<!-- perf-table:end -->'))
  assert.ok(table.length > 0, 'README.md has perf-table markers')
  assert.ok(table.includes(`Last full run: ${results.at.slice(0, 10)}`), 'the table names the run it comes from')
  assert.equal(readme, withTables(readme), 'README.md tables are out of date')
})

test('performance rows say whether each goal was met, from the figures alone', () => {
  const table = perfTable({
    at: '2026-01-02T00:00:00.000Z',
    machine: { cores: 2, cpu: 'test CPU', memory_gib: 8, node: 'v20' },
    cycles: [
      { target: 'ceiling', miners: 50, cycles_per_s: 100, p50_ms: 1, p99_ms: 2, p99_over_p50: 2 },
      {
        target: 'postgres',
        miners: 50,
        cycles_per_s: 85,
        p50_ms: 10,
        p99_ms: 30,
        p99_over_p50: 3,
        ratio_to_ceiling: 0.85,
      },
    ],
    latency: [
      {
        store: 'sqlite',
        kind: 'lease',
        per_s: 100,
        p50_ms: 5,
        p99_ms: 40,
        max_ms: 60,
        lease_refused: 0,
        errors: 0,
        error_codes: '-',
      },
      {
        store: 'postgres',
        kind: 'submit',
        per_s: 100,
        p50_ms: 9,
        p99_ms: 51,
        max_ms: 80,
        lease_refused: 3,
        errors: 0,
        error_codes: '-',
      },
    ],
    claim_tree: {
      buildSpeedRatio: 30,
      rows: [{ implementation: 'sotapool-claims-blake2b-v1', operation: 'build', leaves: 1_000_000, ms: 5200 }],
    },
  })
  assert.match(table, /^Last full run: 2026-01-02, 2 cores \(test CPU\)/)
  assert.match(
    table,
    /closed loop, 50 miners, PostgreSQL \| 85 cycles\/s; p50 10 ms, p99 30 ms \(p99\/p50 3\) \| bare route verifying the same sr25519 headers: 100 cycles\/s \| 0\.85/,
  )
  assert.match(table, /SQLite, lease \| 100\/s; p50 5 ms, p99 40 ms, max 60 ms \| \| p99 ≤ 50 ms: met \|/)
  assert.match(table, /PostgreSQL, submit \| .*3 leases refused.* \| p99 ≤ 50 ms: not met \|/)
  assert.match(table, /1,000,000 leaves \(fresh process\) \| 5,200 ms \| \| goal < 5,000 ms: not met \|/)
})
