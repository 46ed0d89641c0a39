/**
 * Helpers for epoch, payout and claim tests: miners with exact points written straight into the store,
 * real miners that earn points through leases, and closing epochs by moving the pinned clock. Several
 * pools on one database: ./shared-pool.ts.
 */
import { randomBytes } from 'node:crypto'
import { encodeHotkey } from '../../src/crypto/sr25519.ts'
import { cryptoWaitReady } from '@polkadot/util-crypto'
import type { PoolContext } from '../../src/services/context.ts'
import type { TestPool } from './pool.ts'
import type { TestMiner } from './miner.ts'

/** One window at the defaults, for the epoch tests that import it from here. */
export { WINDOW_MS } from './pool.ts'

export interface CraftedMiner {
  hotkey: string
  publicKey: Uint8Array
  publicKeyHex: string
}

/** A fresh SS58 address (prefix 42) of random bytes, e.g. for a recipient coldkey. */
export async function randomAddress(): Promise<string> {
  await cryptoWaitReady()
  return encodeHotkey(randomBytes(32))
}

/** A 32-byte public key with the given first byte (to control leaf order) and random rest. */
export function keyStartingWith(first: number): Uint8Array {
  const key = new Uint8Array(randomBytes(32))
  key[0] = first
  return key
}

/** Inserts a miner row as registration would (hotkey, public key hex), optionally with a recipient. */
export async function craftMiner(
  pool: PoolContext,
  options: { publicKey?: Uint8Array; recipient?: string } = {},
): Promise<CraftedMiner> {
  await cryptoWaitReady()
  const publicKey = options.publicKey ?? new Uint8Array(randomBytes(32))
  const hotkey = encodeHotkey(publicKey)
  const publicKeyHex = Buffer.from(publicKey).toString('hex')
  const now = BigInt(pool.clock.now())
  await pool.database.db
    .insertInto('miners')
    .values({
      hotkey,
      public_key: publicKeyHex,
      created_at: now,
      last_seen: now,
      recipient_coldkey: options.recipient ?? null,
      recipient_updated_at: options.recipient === undefined ? null : now,
    })
    .execute()
  return { hotkey, publicKey, publicKeyHex }
}

/** Sets (or clears) a miner's recipient directly in the store. */
export async function setRecipientRow(pool: PoolContext, hotkey: string, recipient: string | null): Promise<void> {
  await pool.database.db
    .updateTable('miners')
    .set({ recipient_coldkey: recipient, recipient_updated_at: recipient === null ? null : BigInt(pool.clock.now()) })
    .where('hotkey', '=', hotkey)
    .execute()
}

/** Writes exact window points for a miner (the window must not have been closed with points for it). */
export async function addPoints(
  pool: PoolContext,
  windowNumber: number,
  hotkey: string,
  points: number,
): Promise<void> {
  await pool.database.db
    .insertInto('window_points')
    .values({
      window_number: BigInt(windowNumber),
      miner_hotkey: hotkey,
      agreements: 0n,
      disagreements: 0n,
      evaluations: 0n,
      evolutions: 0n,
      scored_evolutions: 0n,
      evaluator_points: points,
      evolver_points: 0,
      penalty: 0,
      points,
    })
    .execute()
}

/** Moves the clock to the first block after `epoch` (plus `extraBlocks`) and closes what is ready. */
export async function closeThrough(
  t: Pick<TestPool, 'pool' | 'clock'>,
  epoch: number,
  extraBlocks = 0,
): Promise<number[]> {
  const { windowBlocks, epochWindows, blockTimeS } = t.pool.tempo
  const genesis = Number(
    (
      await t.pool.database.db
        .selectFrom('pool_meta')
        .select('value')
        .where('key', '=', 'genesis_ms')
        .executeTakeFirstOrThrow()
    ).value,
  )
  const target = genesis + ((epoch + 1) * epochWindows * windowBlocks + extraBlocks) * blockTimeS * 1000
  if (t.clock.now() < target) t.clock.advance(target - t.clock.now())
  return await t.pool.epochs.closeReady()
}

/**
 * Real miners earn points in the current window: each leases and submits the same score for every
 * algorithm it is asked to evaluate, so the first three evaluations of each seed agree (k=2 of n=3).
 */
export async function earnByEvaluating(miners: TestMiner[], score = 0.5): Promise<void> {
  const leases: Array<{ miner: TestMiner; body: { lease_id: string; evaluate_algorithms: Array<{ id: number }> } }> = []
  for (const miner of miners) {
    const r = await miner.lease()
    if (r.statusCode !== 200) throw new Error(`lease failed: ${r.statusCode} ${r.body}`)
    leases.push({ miner, body: r.json() })
  }
  for (const { miner, body } of leases) {
    const r = await miner.submitLease(body.lease_id, {
      evaluations: body.evaluate_algorithms.map((a) => ({ algorithm_id: a.id, score })),
    })
    if (r.statusCode !== 200) throw new Error(`submit failed: ${r.statusCode} ${r.body}`)
  }
}
