// Claim tree build speed against OpenZeppelin's StandardMerkleTree, the closest equivalent: it also hashes
// each claim (address, uint256) into a leaf itself, sorts pairs, and keeps every level for proofs.
// Run: node --import tsx bench/claim-tree.bench.ts [--full] [--runs N]
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { cpus } from 'node:os'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { buildClaimTree, initClaimTree, verifyClaim } from '../src/domain/claim-tree.ts'
import type { ClaimEntry, ClaimTree } from '../src/domain/claim-tree.ts'

const full = process.argv.includes('--full')
const runsArg = process.argv.indexOf('--runs')
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs expects a positive integer')

// Seeded generator (mulberry32) so every run measures the same data.
function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

function makeEntries(n: number): ClaimEntry[] {
  const next = generator(n)
  const bytes = (len: number) => {
    const b = new Uint8Array(len)
    const view = new DataView(b.buffer)
    for (let i = 0; i < len; i += 4) view.setUint32(i, next())
    return b
  }
  return Array.from({ length: n }, () => ({
    hotkey: bytes(32),
    recipient: bytes(32),
    amountUnits: (BigInt(next()) << 32n) | BigInt(next()),
  }))
}

function hex(b: Uint8Array): string {
  return `0x${Buffer.from(b).toString('hex')}`
}

function time<T>(f: () => T): { ms: number; value: T } {
  const start = performance.now()
  const value = f()
  return { ms: performance.now() - start, value }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

interface Row {
  implementation: string
  operation: string
  leaves: number
  runs: number
  ms: number
  perSecond: number
}
const rows: Row[] = []

function record(implementation: string, operation: string, leaves: number, samples: number[]): Row {
  const ms = median(samples)
  const row = {
    implementation,
    operation,
    leaves,
    runs: samples.length,
    ms: Math.round(ms * 10) / 10,
    perSecond: Math.round((leaves / ms) * 1000),
  }
  rows.push(row)
  console.log(`  ${implementation} ${operation} ${leaves}: ${row.ms} ms`)
  return row
}

await initClaimTree()
if (process.argv.includes('--million-only')) {
  buildClaimTree(1n, makeEntries(10_000))
  const million = makeEntries(1_000_000)
  const big = time(() => buildClaimTree(7n, million))
  const proofs = time(() => {
    for (let i = 0; i < 1_000_000; i++) big.value.proof(i)
  })
  process.stdout.write(`${JSON.stringify({ build: big.ms, proofs: proofs.ms })}\n`)
  process.exit(0)
}
// Warm-up so the JIT has compiled the hot paths before anything is timed.
buildClaimTree(1n, makeEntries(10_000))
StandardMerkleTree.of(
  makeEntries(2_000).map((e) => [hex(e.recipient.subarray(0, 20)), e.amountUnits.toString()]),
  ['address', 'uint256'],
)

const N = 100_000
const entries = makeEntries(N)

let tree: ClaimTree | undefined
const oursBuild = record(
  'sotapool-claims-blake2b-v1',
  'build',
  N,
  Array.from({ length: runs }, () => {
    const t = time(() => buildClaimTree(7n, entries))
    tree = t.value
    return t.ms
  }),
)
const built = tree!
record(
  'sotapool-claims-blake2b-v1',
  'proof (all leaves)',
  N,
  Array.from(
    { length: runs },
    () =>
      time(() => {
        for (let i = 0; i < N; i++) built.proof(i)
      }).ms,
  ),
)
const proofs = built.leaves.map((l) => built.proof(l.index))
record('sotapool-claims-blake2b-v1', 'verify (all leaves)', N, [
  time(() => {
    for (const l of built.leaves)
      if (!verifyClaim(7n, l.index, l, proofs[l.index]!, built.root)) throw new Error('proof failed')
  }).ms,
])

const values = entries.map((e) => [hex(e.recipient.subarray(0, 20)), e.amountUnits.toString()])
const theirsBuild = record(
  '@openzeppelin/merkle-tree StandardMerkleTree',
  'build',
  N,
  Array.from({ length: runs }, () => time(() => StandardMerkleTree.of(values, ['address', 'uint256'])).ms),
)

if (full) {
  // Each million-leaf build runs in a process of its own, so it pays for its own heap only (not for the
  // 100k trees and proofs above), as an epoch close in a long-running pool would.
  const M = 1_000_000
  const builds: number[] = []
  const proofs: number[] = []
  for (let r = 0; r < runs; r++) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--million-only'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (child.status !== 0) throw new Error(`million-leaf build failed (exit ${child.status})`)
    const measured = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { build: number; proofs: number }
    builds.push(measured.build)
    proofs.push(measured.proofs)
  }
  record('sotapool-claims-blake2b-v1', 'build', M, builds)
  record('sotapool-claims-blake2b-v1', 'proof (all leaves)', M, proofs)
}

const ratio = Math.round((oursBuild.perSecond / theirsBuild.perSecond) * 100) / 100

const header = ['implementation', 'operation', 'leaves', 'ms (median)', 'leaves/s']
const table = [
  header,
  ...rows.map((r) => [
    r.implementation,
    r.operation,
    String(r.leaves),
    r.ms.toFixed(1),
    r.perSecond.toLocaleString('en-US'),
  ]),
]
const widths = header.map((_, c) => Math.max(...table.map((line) => line[c]!.length)))
for (const [i, line] of table.entries()) {
  console.log(line.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  '))
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
}
console.log(`\nbuild speed at ${N.toLocaleString('en-US')} leaves, ours / StandardMerkleTree: ${ratio}×`)

mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('../bench-results/claim-tree.json', import.meta.url),
  `${JSON.stringify(
    {
      benchmark: 'claim-tree',
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      hash: 'BLAKE2b-256 via @polkadot/wasm-crypto',
      comparedWith: "@openzeppelin/merkle-tree StandardMerkleTree.of(values, ['address', 'uint256'])",
      full,
      rows,
      buildSpeedRatio: ratio,
    },
    null,
    2,
  )}\n`,
)
