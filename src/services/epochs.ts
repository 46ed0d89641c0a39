/**
 * Closing epochs (SPEC §8): payouts from the epoch's window points, cumulative credit per hotkey, the
 * claim tree over hotkeys with a recipient, all stored in one transaction. The `epochs` primary key makes
 * the close happen once whichever process tries. `verifyEpoch` re-derives everything from the stored
 * inputs and compares; `exportEpoch` writes the artifact anyone can check.
 */
import type { Transaction } from 'kysely'
import { isoTime } from '../clock.ts'
import type { Config } from '../config.ts'
import type { Database, Queryable } from '../db/database.ts'
import type { DB, EpochsTable } from '../db/schema.ts'
import type { Selectable } from 'kysely'
import { buildClaimTree, CLAIM_TREE_FORMAT, EMPTY_ROOT, initClaimTree, toHex32, type ClaimEntry } from '../domain/claim-tree.ts'
import { computePayouts, toMicroPoints, type PayoutResult } from '../domain/payouts.ts'
import { epochOfWindow, epochWindows, settingsOfEpoch, windowBlocks, type Tempo } from '../domain/tempo.ts'
import { STORED_UNITS_MAX, unitsToJson } from '../domain/units.ts'
import { decodeHotkey } from '../crypto/sr25519.ts'
import type { PoolMetrics } from '../metrics.ts'
import type { WindowService } from './windows.ts'

export interface EpochParams {
  budget_units: string
  pool_fee_bps: number
  miner_cap_bps: number
  min_payout_units: string
  window_blocks: number
  epoch_windows: number
}

/** Everything an epoch close decides, before it is stored (and what verify recomputes). */
export interface EpochComputation {
  epoch: number
  params: EpochParams
  payouts: PayoutResult
  points: Map<string, number>
  leaves: Array<{ index: number; hotkey: string; recipient: string; amountUnits: bigint; leaf: string; proof: string[] }>
  root: string
  windowStart: number
  windowEnd: number
  blockStart: number
  blockEnd: number
}

export class EpochService {
  constructor (
    private readonly database: Database,
    private readonly config: Config,
    private readonly tempo: Tempo,
    private readonly windows: WindowService,
    private readonly metrics: PoolMetrics,
    private readonly now: () => number,
    private readonly currentBlock: () => number,
  ) {}

  /**
   * An epoch may close once its last window has ended and EPOCH_CLOSE_DELAY_BLOCKS have passed
   * (`extraBlocks` later still, for an alert's grace period).
   */
  isReady (epoch: number, extraBlocks = 0): boolean {
    const { last } = epochWindows(epoch, this.tempo)
    return this.currentBlock() >= windowBlocks(last, this.tempo).last + 1 + this.config.epochCloseDelayBlocks + extraBlocks
  }

  async lastClosed (): Promise<number | null> {
    const row = await this.database.db.selectFrom('epochs').select((eb) => eb.fn.max('epoch_id').as('id')).executeTakeFirst()
    return row?.id === null || row?.id === undefined ? null : Number(row.id)
  }

  /** The first epoch that can have activity: the one holding the pool's first window. */
  async firstEpoch (): Promise<number> {
    return epochOfWindow(await this.windows.firstWindow(), this.tempo)
  }

  /** Closes every ready epoch not closed yet, oldest first (windows are closed before). */
  async closeReady (): Promise<number[]> {
    await this.windows.closeEnded()
    const last = await this.lastClosed()
    const closed: number[] = []
    for (let e = last === null ? await this.firstEpoch() : last + 1; this.isReady(e); e++) {
      if (await this.close(e)) closed.push(e)
    }
    return closed
  }

  /** Closes one epoch; false when it was already closed. Throws when it is not ready. */
  async close (epoch: number): Promise<boolean> {
    if (!this.isReady(epoch)) throw new Error(`epoch ${epoch} cannot close yet: its last window has not ended (plus EPOCH_CLOSE_DELAY_BLOCKS)`)
    await initClaimTree()
    await this.windows.closeEnded()
    const first = await this.firstEpoch()
    const done = await this.database.transaction(async (trx) => {
      if (await trx.selectFrom('epochs').select('epoch_id').where('epoch_id', '=', BigInt(epoch)).executeTakeFirst() !== undefined) return false
      // Leaves carry cumulative credit, so every earlier epoch's payouts must be stored first.
      if (epoch > first && await trx.selectFrom('epochs').select('epoch_id').where('epoch_id', '=', BigInt(epoch - 1)).executeTakeFirst() === undefined) {
        throw new Error(`epoch ${epoch} cannot close before epoch ${epoch - 1}: close the earlier epochs first (or close all ready epochs)`)
      }
      const result = await this.compute(trx, epoch, this.currentParams(epoch), await currentRecipients(trx))
      // false when another process closed the epoch meanwhile (its row appeared after the check above).
      return await this.store(trx, result)
    })
    if (done) this.metrics.epochCloses.inc()
    return done
  }

  private currentParams (epoch: number): EpochParams {
    const tempo = settingsOfEpoch(epoch, this.tempo)
    return {
      budget_units: this.config.epochBudgetUnits.toString(),
      pool_fee_bps: this.config.poolFeeBps,
      miner_cap_bps: this.config.minerCapBps,
      min_payout_units: this.config.minPayoutUnits.toString(),
      window_blocks: tempo.windowBlocks,
      epoch_windows: tempo.epochWindows,
    }
  }

  /**
   * The whole close as a function of stored facts: window points of the epoch, payouts of earlier
   * epochs, and the recipients to put in the leaves.
   */
  async compute (db: Queryable, epoch: number, params: EpochParams, recipients: Map<string, string>): Promise<EpochComputation> {
    const { first, last } = epochWindows(epoch, { ...this.tempo, epochWindows: params.epoch_windows })
    const rows = await db.selectFrom('window_points as p').innerJoin('miners as m', 'm.hotkey', 'p.miner_hotkey')
      .select(['p.miner_hotkey', 'p.window_number', 'p.points', 'm.public_key'])
      .where('p.window_number', '>=', BigInt(first)).where('p.window_number', '<=', BigInt(last))
      .orderBy('p.miner_hotkey').orderBy('p.window_number').execute()
    // Summed in window order in code, so both databases give the same float for the same rows.
    const points = new Map<string, number>()
    const publicKeys = new Map<string, Uint8Array>()
    for (const r of rows) {
      points.set(r.miner_hotkey, (points.get(r.miner_hotkey) ?? 0) + r.points)
      publicKeys.set(r.miner_hotkey, Uint8Array.from(Buffer.from(r.public_key, 'hex')))
    }
    const entries = [...points.entries()].filter(([, p]) => p > 0)
      .map(([hotkey, p]) => ({ hotkey, publicKey: publicKeys.get(hotkey)!, microPoints: toMicroPoints(p) }))
    const payouts = computePayouts(entries, {
      budgetUnits: BigInt(params.budget_units), feeBps: params.pool_fee_bps, minerCapBps: params.miner_cap_bps,
    })

    const credit = new Map<string, bigint>()
    const earlier = await db.selectFrom('epoch_payouts').select(['hotkey', 'units']).where('epoch_id', '<', BigInt(epoch)).execute()
    for (const p of [...earlier, ...payouts.payouts]) credit.set(p.hotkey, (credit.get(p.hotkey) ?? 0n) + BigInt(p.units))

    const minPayout = BigInt(params.min_payout_units)
    const claimable: Array<ClaimEntry & { hotkeyAddress: string; recipientAddress: string }> = []
    for (const [hotkey, amount] of credit) {
      const recipient = recipients.get(hotkey)
      if (amount <= 0n || amount < minPayout || recipient === undefined) continue
      if (amount > STORED_UNITS_MAX) throw new Error(`cumulative credit of ${hotkey} exceeds the storable maximum`)
      const hk = decodeHotkey(hotkey)
      const rc = decodeHotkey(recipient)
      if ('error' in hk || 'error' in rc) continue
      claimable.push({ hotkey: hk.publicKey, recipient: rc.publicKey, amountUnits: amount, hotkeyAddress: hotkey, recipientAddress: recipient })
    }
    await initClaimTree()
    const tree = buildClaimTree(BigInt(epoch), claimable)
    const byKey = new Map(claimable.map((c) => [Buffer.from(c.hotkey).toString('hex'), c]))
    const leaves = tree.leaves.map((l) => {
      const source = byKey.get(Buffer.from(l.hotkey).toString('hex'))!
      return {
        index: l.index,
        hotkey: source.hotkeyAddress,
        recipient: source.recipientAddress,
        amountUnits: l.amountUnits,
        leaf: toHex32(l.leaf),
        proof: tree.proof(l.index).map(toHex32),
      }
    })
    return {
      epoch,
      params,
      payouts,
      points,
      leaves,
      root: toHex32(leaves.length === 0 ? EMPTY_ROOT : tree.root),
      windowStart: first,
      windowEnd: last,
      blockStart: windowBlocks(first, this.tempo).first,
      blockEnd: windowBlocks(last, this.tempo).last,
    }
  }

  /**
   * Stores the close; false (and nothing written) when the epoch row exists already. ON CONFLICT DO
   * NOTHING, not a caught unique violation: on PostgreSQL a failed statement aborts the transaction, so
   * the process that lost the race would fail at commit instead of reporting "already closed".
   */
  private async store (trx: Transaction<DB>, c: EpochComputation): Promise<boolean> {
    const epochUnits = c.payouts.payouts.reduce((s, p) => s + p.units, 0n)
    const paid = epochUnits > 0n
    const inserted = await trx.insertInto('epochs').values({
      epoch_id: BigInt(c.epoch),
      root: c.root,
      num_of_leaves: BigInt(c.leaves.length),
      total_units: c.leaves.reduce((s, l) => s + l.amountUnits, 0n),
      epoch_units: epochUnits,
      // An epoch without points pays nothing, so it takes no fee either.
      fee_units: paid ? c.payouts.feeUnits : 0n,
      undistributed_units: paid ? c.payouts.undistributedUnits : 0n,
      budget_units: BigInt(c.params.budget_units),
      window_start: BigInt(c.windowStart),
      window_end: BigInt(c.windowEnd),
      block_start: BigInt(c.blockStart),
      block_end: BigInt(c.blockEnd),
      closed_at: BigInt(this.now()),
      params: JSON.stringify(c.params),
    }).onConflict((oc) => oc.column('epoch_id').doNothing()).executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false
    const payoutRows = c.payouts.payouts.map((p) => ({
      epoch_id: BigInt(c.epoch), hotkey: p.hotkey, points: c.points.get(p.hotkey) ?? 0, micro_points: p.microPoints, units: p.units,
    }))
    for (let i = 0; i < payoutRows.length; i += 500) await trx.insertInto('epoch_payouts').values(payoutRows.slice(i, i + 500)).execute()
    const leafRows = c.leaves.map((l) => ({
      epoch_id: BigInt(c.epoch), leaf_index: BigInt(l.index), hotkey: l.hotkey, recipient_coldkey: l.recipient,
      amount_units: l.amountUnits, leaf: l.leaf, proof: JSON.stringify(l.proof),
    }))
    for (let i = 0; i < leafRows.length; i += 500) await trx.insertInto('epoch_leaves').values(leafRows.slice(i, i + 500)).execute()
    return true
  }

  /**
   * Recomputes a closed epoch from the window points and earlier payouts, with the recipients its leaves
   * recorded and the parameters it was closed with, and compares every stored number.
   */
  async verify (epoch: number): Promise<{ ok: boolean; root: string; recomputedRoot: string; mismatches: string[] }> {
    const db = this.database.db
    const stored = await db.selectFrom('epochs').selectAll().where('epoch_id', '=', BigInt(epoch)).executeTakeFirst()
    if (stored === undefined) throw new Error(`epoch ${epoch} is not closed`)
    const leaves = await db.selectFrom('epoch_leaves').selectAll().where('epoch_id', '=', BigInt(epoch)).orderBy('leaf_index').execute()
    const payouts = await db.selectFrom('epoch_payouts').selectAll().where('epoch_id', '=', BigInt(epoch)).orderBy('hotkey').execute()
    const recipients = new Map(leaves.map((l) => [l.hotkey, l.recipient_coldkey]))
    const c = await this.compute(db, epoch, JSON.parse(stored.params) as EpochParams, recipients)
    const mismatches: string[] = []
    const expect = (what: string, a: unknown, b: unknown): void => { if (String(a) !== String(b)) mismatches.push(`${what}: stored ${String(a)}, recomputed ${String(b)}`) }
    expect('root', stored.root, c.root)
    expect('num_of_leaves', stored.num_of_leaves, c.leaves.length)
    expect('total_units', stored.total_units, c.leaves.reduce((s, l) => s + l.amountUnits, 0n))
    // The published totals (what /claims/epoch shows) are recomputed too, as store() derives them.
    const epochUnits = c.payouts.payouts.reduce((s, p) => s + p.units, 0n)
    expect('epoch_units', stored.epoch_units, epochUnits)
    expect('fee_units', stored.fee_units, epochUnits > 0n ? c.payouts.feeUnits : 0n)
    expect('undistributed_units', stored.undistributed_units, epochUnits > 0n ? c.payouts.undistributedUnits : 0n)
    const recomputedPayouts = new Map(c.payouts.payouts.map((p) => [p.hotkey, p.units]))
    expect('payout count', payouts.length, recomputedPayouts.size)
    for (const p of payouts) expect(`payout of ${p.hotkey}`, p.units, recomputedPayouts.get(p.hotkey))
    for (const l of leaves) {
      const r = c.leaves[Number(l.leaf_index)]
      expect(`leaf ${l.leaf_index} hotkey`, l.hotkey, r?.hotkey)
      expect(`leaf ${l.leaf_index} amount`, l.amount_units, r?.amountUnits)
      expect(`leaf ${l.leaf_index} hash`, l.leaf, r?.leaf)
      expect(`leaf ${l.leaf_index} proof`, l.proof, JSON.stringify(r?.proof))
    }
    return { ok: mismatches.length === 0, root: stored.root, recomputedRoot: c.root, mismatches }
  }

  /** The closed epoch as the self-contained JSON artifact of SPEC §8.5. */
  async export (epoch: number) {
    const db = this.database.db
    const e = await db.selectFrom('epochs').selectAll().where('epoch_id', '=', BigInt(epoch)).executeTakeFirst()
    if (e === undefined) throw new Error(`epoch ${epoch} is not closed`)
    const leaves = await db.selectFrom('epoch_leaves').selectAll().where('epoch_id', '=', BigInt(epoch)).orderBy('leaf_index').execute()
    return {
      format: CLAIM_TREE_FORMAT,
      ...epochSummary(e),
      budget_units: unitsToJson(e.budget_units),
      params: JSON.parse(e.params) as EpochParams,
      leaves: leaves.map((l) => ({
        index: Number(l.leaf_index),
        hotkey: l.hotkey,
        recipient_coldkey: l.recipient_coldkey,
        amount_units: unitsToJson(l.amount_units),
        leaf: l.leaf,
        proof: JSON.parse(l.proof) as string[],
      })),
    }
  }
}

/** The published facts of a closed epoch, as the claim API and the artifact show them. */
export function epochSummary (e: Selectable<EpochsTable>) {
  return {
    epoch: Number(e.epoch_id),
    root: e.root,
    num_of_leaves: Number(e.num_of_leaves),
    total_units: unitsToJson(e.total_units),
    epoch_units: unitsToJson(e.epoch_units),
    fee_units: unitsToJson(e.fee_units),
    undistributed_units: unitsToJson(e.undistributed_units),
    window_start: Number(e.window_start),
    window_end: Number(e.window_end),
    block_start: Number(e.block_start),
    block_end: Number(e.block_end),
    closed_at: isoTime(e.closed_at) as string,
  }
}

async function currentRecipients (db: Queryable): Promise<Map<string, string>> {
  const rows = await db.selectFrom('miners').select(['hotkey', 'recipient_coldkey']).where('recipient_coldkey', 'is not', null).execute()
  return new Map(rows.map((r) => [r.hotkey, r.recipient_coldkey!]))
}
