/**
 * Proof requests per second for a closed epoch of 100,000 leaves, served by the pool (claim app mounted
 * in `sotapool serve`), next to a bare Fastify route answering a constant JSON of the same size.
 * Run: node --import tsx bench/proofs.bench.ts [--leaves 100000] [--seconds 10] [--store sqlite|postgres|both]
 */
import { randomBytes } from 'node:crypto'
import autocannon from 'autocannon'
import { encodeHotkey } from '../src/crypto/sr25519.ts'
import { openDatabase } from '../src/db/database.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import { buildClaimTree, initClaimTree, toHex32 } from '../src/domain/claim-tree.ts'
import { freePort } from '../test/load/support.ts'
import { flag, printTable, round, startScript, stores, withPoolServer, writeResult } from './support.ts'

const leaves = flag('leaves', 100_000)
const seconds = flag('seconds', 10)
const CONNECTIONS = 50
const WARM_UP_S = 2

/** Stores a closed epoch 1 with `leaves` random leaves, as an epoch close would; returns the hotkeys. */
async function seedEpoch(url: string): Promise<string[]> {
  const database = openDatabase(url)
  try {
    await migrateToLatest(database)
    await initClaimTree()
    const entries = Array.from({ length: leaves }, () => ({
      hotkey: randomBytes(32),
      recipient: randomBytes(32),
      amountUnits: BigInt(1 + Math.floor(Math.random() * 1e9)),
    }))
    const tree = buildClaimTree(1n, entries)
    const rows = tree.leaves.map((l) => ({
      epoch_id: 1n,
      leaf_index: BigInt(l.index),
      hotkey: encodeHotkey(l.hotkey),
      recipient_coldkey: encodeHotkey(l.recipient),
      amount_units: l.amountUnits,
      leaf: toHex32(l.leaf),
      proof: JSON.stringify(tree.proof(l.index).map(toHex32)),
    }))
    const total = rows.reduce((s, r) => s + r.amount_units, 0n)
    await database.transaction(async (trx) => {
      await trx
        .insertInto('epochs')
        .values({
          epoch_id: 1n,
          root: toHex32(tree.root),
          num_of_leaves: BigInt(leaves),
          total_units: total,
          epoch_units: total,
          fee_units: 0n,
          undistributed_units: 0n,
          budget_units: total,
          window_start: 1n,
          window_end: 1n,
          block_start: 360n,
          block_end: 719n,
          closed_at: BigInt(Date.now()),
          params: '{}',
        })
        .execute()
      for (let i = 0; i < rows.length; i += 1000)
        await trx
          .insertInto('epoch_leaves')
          .values(rows.slice(i, i + 1000))
          .execute()
    })
    return rows.map((r) => r.hotkey)
  } finally {
    await database.close()
  }
}

async function hammer(
  base: string,
  paths: string[],
  duration = seconds,
): Promise<{ requests_per_s: number; p50_ms: number; p99_ms: number; non2xx: number; bytes_per_response: number }> {
  let i = 0
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration,
    requests: [
      { method: 'GET', setupRequest: (req: { path: string }) => ({ ...req, path: paths[i++ % paths.length]! }) },
    ],
  })
  return {
    requests_per_s: round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    bytes_per_response: Math.round(result.throughput.total / Math.max(1, result.requests.total)),
  }
}

export async function benchProofs() {
  const results: Array<Record<string, string | number>> = []
  for (const kind of stores()) {
    let hotkeys: string[] = []
    await withPoolServer(
      kind,
      async (server) => {
        const sample = await (await fetch(`${server.url}/claims/epoch/1/proof/${hotkeys[0]!}`)).text()
        const paths = hotkeys.slice(0, 10_000).map((h) => `/claims/epoch/1/proof/${h}`)
        // Each target is warmed up before it is measured (compiled code, sockets), the same for both.
        await hammer(server.url, paths, WARM_UP_S)
        const pool = await hammer(server.url, paths)
        const ceiling = await startScript(
          new URL('./ceiling-server.ts', import.meta.url).pathname,
          [String(Buffer.byteLength(sample))],
          await freePort(),
        )
        try {
          const constants = paths.map((_, j) => `/constant/${j}`)
          await hammer(ceiling.url, constants, WARM_UP_S)
          const bare = await hammer(ceiling.url, constants)
          results.push({
            target: `pool (${kind})`,
            leaves,
            ...pool,
            ratio_to_ceiling: round(pool.requests_per_s / bare.requests_per_s, 2),
          })
          results.push({ target: 'bare constant JSON', leaves: '-', ...bare, ratio_to_ceiling: 1 })
        } finally {
          await ceiling.stop()
        }
      },
      {
        env: { BACKGROUND_JOBS: 'false' },
        seed: async (url) => {
          hotkeys = await seedEpoch(url)
        },
      },
    )
  }
  return results
}

if (process.argv[1]?.endsWith('proofs.bench.ts')) {
  const results = await benchProofs()
  printTable(`proof requests (${CONNECTIONS} connections, ${seconds} s each)`, results)
  writeResult('proofs', { seconds, connections: CONNECTIONS, results })
}
