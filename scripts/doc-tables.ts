/**
 * Prints the README's generated tables (configuration variables, error codes, and the performance table
 * from the last full `npm run bench`, bench/results.json) from their one source, so the documentation
 * cannot drift: `npm run docs:tables` rewrites them in README.md, and a unit test fails when README.md is
 * out of date.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { CONFIG_VARIABLES } from '../src/config.ts'
import { ERROR_TABLE } from '../src/errors.ts'

const cell = (s: string): string => s.replace(/\|/g, '\\|')

export function configTable(): string {
  const rows = Object.values(CONFIG_VARIABLES).map(
    (v) => `| \`${v.name}\` | ${v.default === '' ? '(empty)' : `\`${v.default}\``} | ${cell(v.description)} |`,
  )
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n')
}

export function errorTable(): string {
  const rows = Object.entries(ERROR_TABLE).map(
    ([code, e]) => `| \`${code}\` | ${e.status} | ${cell(e.message)} | ${cell(e.description)} |`,
  )
  return ['| Code | HTTP | `detail` (default) | When |', '|---|---|---|---|', ...rows].join('\n')
}

type Row = Record<string, any>
const n = (x: number): string => x.toLocaleString('en-US')

/** The performance table of a full benchmark run (bench/results.json), one line per figure. */
export function perfTable(results: Row): string {
  const lines = ['| Benchmark | Result | Baseline in the same run | Ratio or goal |', '|---|---|---|---|']
  const cycles = (results.cycles ?? []) as Row[]
  const storeName = (target: string): string =>
    target === 'sqlite' ? 'SQLite' : target === 'postgres-tcp' ? 'PostgreSQL over TCP loopback' : 'PostgreSQL'
  const ceiling = (m: number): Row | undefined => cycles.find((r) => r.target === 'ceiling' && r.miners === m)
  for (const r of cycles.filter((c) => c.target !== 'ceiling')) {
    const bare = r.ceiling_cycles_per_s ?? ceiling(r.miners)?.cycles_per_s ?? 0
    lines.push(
      `| Signed lease → submit cycles, closed loop, ${r.miners} miners, ${storeName(r.target)} | ${n(r.cycles_per_s)} cycles/s; p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms (p99/p50 ${r.p99_over_p50})${r.errors > 0 ? `; ${n(r.errors)} failed requests${r.error_codes === undefined ? '' : ` (${r.error_codes})`}` : ''} | bare route verifying the same sr25519 headers${r.ceiling_cycles_per_s === undefined ? '' : ', run just before'}: ${n(bare)} cycles/s | ${r.ratio_to_ceiling} (goal ≥ 0.8) |`,
    )
  }
  for (const r of (results.latency ?? []) as Row[]) {
    lines.push(
      `| Open loop, 200 miners × one cycle every 2 s, ${r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${r.kind} | ${n(r.per_s)}/s; p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms${r.lease_refused > 0 ? `; ${n(r.lease_refused)} leases refused (previous cycle still open)` : ''}${r.errors > 0 ? `; errors ${r.error_codes}` : ''} | | p99 ≤ 50 ms: ${r.p99_ms <= 50 ? 'met' : 'not met'} |`,
    )
  }
  const flood = (results.flood ?? []) as Row[]
  if (flood.length === 2) {
    lines.push(
      `| Honest miners during a forged-signature flood (${n(flood[1]!.forged_requests_per_s)} forged req/s, per-IP limit off) | ${n(flood[1]!.cycles_per_s)} cycles/s, p99 ${flood[1]!.p99_ms} ms | ${n(flood[0]!.cycles_per_s)} cycles/s, p99 ${flood[0]!.p99_ms} ms alone | ${flood[1]!.slowdown}× slower |`,
    )
  }
  const proofs = (results.proofs ?? []) as Row[]
  for (let i = 0; i + 1 < proofs.length; i += 2) {
    const pool = proofs[i]!
    const bare = proofs[i + 1]!
    lines.push(
      `| Proof requests, closed epoch of ${n(pool.leaves)} leaves, ${String(pool.target).includes('sqlite') ? 'SQLite' : 'PostgreSQL'} | ${n(pool.requests_per_s)} req/s, p99 ${pool.p99_ms} ms | bare route, constant JSON of the same size: ${n(bare.requests_per_s)} req/s | ${pool.ratio_to_ceiling} (goal ≥ 0.8) |`,
    )
  }
  for (const r of (results.epoch_close ?? []) as Row[]) {
    lines.push(
      `| Window + epoch close, ${n(r.miners)} miners, ${n(r.evaluations)} evaluations, ${r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${r.total_close_s} s (window ${r.window_close_s} s, epoch ${r.epoch_close_s} s); \`epoch verify\` ${r.verify_s} s, match ${r.verify_match} | | |`,
    )
  }
  const tree = results.claim_tree as Row | undefined
  if (tree !== undefined) {
    const row = (impl: string, op: string, leaves: number): Row | undefined =>
      (tree.rows as Row[]).find((r) => r.implementation.startsWith(impl) && r.operation === op && r.leaves === leaves)
    const ours = row('sotapool', 'build', 100_000)
    const theirs = row('@openzeppelin', 'build', 100_000)
    if (ours !== undefined && theirs !== undefined)
      lines.push(
        `| Claim-tree build, 100,000 leaves | ${n(ours.ms)} ms | \`@openzeppelin/merkle-tree\` StandardMerkleTree: ${n(theirs.ms)} ms | ${tree.buildSpeedRatio}× faster (goal ≥ 20×) |`,
      )
    const million = row('sotapool', 'build', 1_000_000)
    const proofsM = row('sotapool', 'proof (all leaves)', 1_000_000)
    if (million !== undefined)
      lines.push(
        `| Claim-tree build, 1,000,000 leaves (fresh process) | ${n(million.ms)} ms${proofsM === undefined ? '' : `; all proofs ${n(proofsM.ms)} ms`} | | goal < 5,000 ms: ${million.ms < 5000 ? 'met' : 'not met'} |`,
      )
  }
  const dsl = (results.dsl ?? []) as Row[]
  const valid = dsl.find((r) => r.input === 'valid program')
  if (valid !== undefined) {
    const worst = dsl
      .filter((r) => r !== valid)
      .reduce((a, b) => (b.validate_ms > a.validate_ms ? b : a), { validate_ms: 0 } as Row)
    lines.push(
      `| DSL validation at the ${n(valid.bytes)}-byte limit (CPU time) | valid program ${valid.validate_ms} ms; worst hostile input ${worst.validate_ms} ms | reading every character once: ${valid.read_chars_ms} ms | 4× the bytes cost ${valid.growth_4x_bytes}× |`,
    )
  }
  const m = results.machine as Row | undefined
  const when = typeof results.at === 'string' ? results.at.slice(0, 10) : 'unknown date'
  return `Last full run: ${when}, ${m?.cores ?? '?'} cores (${m?.cpu ?? 'unknown CPU'}), ${m?.memory_gib ?? '?'} GiB, Node ${m?.node ?? '?'}; load generator, server and PostgreSQL on the same machine${m?.postgres_transport === undefined ? '' : `, PostgreSQL reached over ${m.postgres_transport === 'tcp' ? 'TCP loopback' : 'its Unix socket'}`}.\n\n${lines.join('\n')}`
}

const RESULTS = new URL('../bench/results.json', import.meta.url)
const perfResults = (): Row | undefined =>
  existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Row) : undefined

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function withTables(readme: string): string {
  const put = (text: string, name: string, table: string): string =>
    text.replace(new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`), `$1${table}\n$2`)
  const tables = put(put(readme, 'config-table', configTable()), 'error-table', errorTable())
  const results = perfResults()
  return results === undefined ? tables : put(tables, 'perf-table', perfTable(results))
}

if (process.argv[1]?.endsWith('doc-tables.ts')) {
  const path = new URL('../README.md', import.meta.url)
  writeFileSync(path, withTables(readFileSync(path, 'utf8')))
  process.stdout.write('README.md tables updated\n')
}
