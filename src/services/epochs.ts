/**
 * Closing epochs (SPEC §8): loads the epoch's window points, earlier credit and recipients, settles them
 * (`settleEpoch` in `src/domain/epoch-settlement.ts`: payouts, cumulative credit, who gets a leaf), builds
 * the claim tree over the leaves and stores it all in one transaction. The `epochs` primary key makes
 * the close happen once whichever process tries. `verify` re-derives everything from the stored
 * inputs and compares; `artifact` writes the document anyone can check from outside.
 */
import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import { isoTime } from '../clock.ts'
import type { Config } from '../config.ts'
import type { Database, Queryable } from '../db/database.ts'
import type { DB, EpochsTable } from '../db/schema.ts'
import type { Selectable } from 'kysely'
import { buildClaimTree, EMPTY_ROOT, initClaimTree, toHex32, type ClaimEntry } from '../domain/claim-tree.ts'
import { epochIsOverdue } from '../domain/alerts.ts'
import { toMicroPoints, type PayoutResult } from '../domain/payouts.ts'
import { settleEpoch } from '../domain/epoch-settlement.ts'
import { epochBlocks, epochOfWindow, epochWindows, settingsOfEpoch, type Tempo } from '../domain/tempo.ts'
import { unitsToJson } from '../domain/units.ts'
import { decodeHotkey } from '../crypto/sr25519.ts'
import { ARTIFACT_NAME, ARTIFACT_VERSION, artifactText } from '../domain/epoch-artifact.ts'
import type { ArtifactHeader, ArtifactParams, EpochArtifact } from '../schemas/claims.ts'
import { PoolError } from '../errors.ts'
import type { PoolMetrics } from '../metrics.ts'
import { getMeta, setMeta } from './pool-meta.ts'
import type { WindowService } from './windows.ts'

const CLOSE_FAILURE_KEY = 'epoch_close_failure'

/** The last failed attempt to close an epoch, kept in the database so every process reports it. */
export interface CloseFailure {
  epoch: number
  error: string
  first_failed_at: number
  last_failed_at: number
  attempts: number
}

/** Everything an epoch close decides, before it is stored (and what verify recomputes). */
export interface EpochComputation {
  epoch: number
  params: ArtifactParams
  payouts: PayoutResult
  points: Map<string, number>
  leaves: Array<{
    index: number
    hotkey: string
    recipient: string
    amountUnits: bigint
    leaf: string
    proof: string[]
  }>
  root: string
  windowStart: number
  windowEnd: number
  blockStart: number
  blockEnd: number
}

export class EpochService {
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly tempo: Tempo,
    private readonly windows: WindowService,
    private readonly metrics: PoolMetrics,
    private readonly now: () => number,
    private readonly currentBlock: () => number,
  ) {}

  /** An epoch may close once its last window has ended and EPOCH_CLOSE_DELAY_BLOCKS have passed. */
  isReady(epoch: number): boolean {
    return this.blocksSinceReady(epoch) >= 0
  }

  /** How many blocks ago an epoch became ready to close (negative: in how many blocks it will be). */
  blocksSinceReady(epoch: number): number {
    return this.currentBlock() - this.readyBlock(epoch)
  }

  /** The first block at which an epoch may close: EPOCH_CLOSE_DELAY_BLOCKS after its last block. */
  private readyBlock(epoch: number): number {
    return epochBlocks(epoch, this.tempo).last + 1 + this.config.epochCloseDelayBlocks
  }

  async lastClosed(): Promise<number | null> {
    const row = await this.database.db
      .selectFrom('epochs')
      .select((eb) => eb.fn.max('epoch_id').as('id'))
      .executeTakeFirst()
    return row?.id === null || row?.id === undefined ? null : Number(row.id)
  }

  /** The first epoch that can have activity: the one holding the pool's first window. */
  async firstEpoch(): Promise<number> {
    return epochOfWindow(await this.windows.firstWindow(), this.tempo)
  }

  /**
   * Closes every ready epoch not closed yet, oldest first (windows are closed before). A close that
   * fails is recorded (epoch, cause, attempts) for the monitor summary and rethrown; the background
   * closer tries again on its next run, and the record is cleared once the epoch closes.
   */
  async closeReady(): Promise<number[]> {
    await this.windows.closeEnded()
    const last = await this.lastClosed()
    const closed: number[] = []
    for (let e = last === null ? await this.firstEpoch() : last + 1; this.isReady(e); e++) {
      try {
        if (await this.close(e)) closed.push(e)
      } catch (err) {
        await this.recordFailure(e, err).catch(() => {})
        throw err
      }
    }
    await this.clearFailure(closed.at(-1) ?? last)
    return closed
  }

  /** The recorded failure of the oldest epoch not closed yet, if its last close attempt failed. */
  async closeFailure(): Promise<CloseFailure | undefined> {
    const text = await getMeta(this.database.db, CLOSE_FAILURE_KEY)
    return text === undefined || text === '' ? undefined : (JSON.parse(text) as CloseFailure)
  }

  private async recordFailure(epoch: number, err: unknown): Promise<void> {
    const previous = await this.closeFailure()
    const now = this.now()
    const same = previous?.epoch === epoch
    const failure: CloseFailure = {
      epoch,
      error: err instanceof Error ? err.message : String(err),
      first_failed_at: same ? previous.first_failed_at : now,
      last_failed_at: now,
      attempts: same ? previous.attempts + 1 : 1,
    }
    await setMeta(this.database.db, CLOSE_FAILURE_KEY, JSON.stringify(failure))
  }

  /** Forgets a recorded failure once its epoch is closed. */
  private async clearFailure(lastClosed: number | null): Promise<void> {
    const failure = await this.closeFailure()
    if (failure !== undefined && lastClosed !== null && failure.epoch <= lastClosed)
      await setMeta(this.database.db, CLOSE_FAILURE_KEY, '')
  }

  /** Epochs still not closed that are overdue (`epochIsOverdue`), oldest first (at most 100). */
  async overdue(): Promise<number[]> {
    const last = await this.lastClosed()
    const out: number[] = []
    for (let e = last === null ? await this.firstEpoch() : last + 1; out.length < 100; e++) {
      if (!epochIsOverdue(this.blocksSinceReady(e), this.tempo.blockTimeS)) break
      out.push(e)
    }
    return out
  }

  /** Closes one epoch; false when it was already closed. Throws when it is not ready. */
  async close(epoch: number): Promise<boolean> {
    if (!this.isReady(epoch))
      throw new Error(`epoch ${epoch} cannot close yet: its last window has not ended (plus EPOCH_CLOSE_DELAY_BLOCKS)`)
    await initClaimTree()
    await this.windows.closeEnded()
    const first = await this.firstEpoch()
    const done = await this.database.transaction(async (trx) => {
      if (
        (await trx.selectFrom('epochs').select('epoch_id').where('epoch_id', '=', BigInt(epoch)).executeTakeFirst()) !==
        undefined
      )
        return false
      // Leaves carry cumulative credit, so every earlier epoch's payouts must be stored first.
      if (
        epoch > first &&
        (await trx
          .selectFrom('epochs')
          .select('epoch_id')
          .where('epoch_id', '=', BigInt(epoch - 1))
          .executeTakeFirst()) === undefined
      ) {
        throw new Error(
          `epoch ${epoch} cannot close before epoch ${epoch - 1}: close the earlier epochs first (or close all ready epochs)`,
        )
      }
      const result = await this.compute(trx, epoch, this.currentParams(epoch), await currentRecipients(trx))
      // false when another process closed the epoch meanwhile (its row appeared after the check above).
      return await this.store(trx, result)
    })
    if (done) this.metrics.epochCloses.inc()
    return done
  }

  private currentParams(epoch: number): ArtifactParams {
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
  async compute(
    db: Queryable,
    epoch: number,
    params: ArtifactParams,
    recipients: Map<string, string>,
  ): Promise<EpochComputation> {
    const tempo = { ...this.tempo, epochWindows: params.epoch_windows }
    const { first, last } = epochWindows(epoch, tempo)
    const rows = await db
      .selectFrom('window_points as p')
      .innerJoin('miners as m', 'm.hotkey', 'p.miner_hotkey')
      .select(['p.miner_hotkey', 'p.window_number', 'p.points', 'm.public_key'])
      .where('p.window_number', '>=', BigInt(first))
      .where('p.window_number', '<=', BigInt(last))
      .orderBy('p.miner_hotkey')
      .orderBy('p.window_number')
      .execute()
    // Summed in window order in code, so both databases give the same float for the same rows.
    const points = new Map<string, number>()
    const publicKeys = new Map<string, Uint8Array>()
    for (const r of rows) {
      points.set(r.miner_hotkey, (points.get(r.miner_hotkey) ?? 0) + r.points)
      publicKeys.set(r.miner_hotkey, Uint8Array.from(Buffer.from(r.public_key, 'hex')))
    }
    const entries = [...points.entries()]
      .filter(([, p]) => p > 0)
      .map(([hotkey, p]) => ({ hotkey, publicKey: publicKeys.get(hotkey)!, microPoints: toMicroPoints(p) }))
    const creditIn = new Map<string, bigint>()
    const earlier = await db
      .selectFrom('epoch_payouts')
      .select(['hotkey', 'units'])
      .where('epoch_id', '<', BigInt(epoch))
      .execute()
    for (const p of earlier) creditIn.set(p.hotkey, (creditIn.get(p.hotkey) ?? 0n) + BigInt(p.units))
    const keys = claimKeys(recipients, [...creditIn.keys(), ...entries.map((e) => e.hotkey)])
    const settlement = settleEpoch({
      points: entries,
      creditIn,
      recipients: new Map([...keys].map(([hotkey, k]) => [hotkey, k.recipientAddress])),
      budgetUnits: BigInt(params.budget_units),
      feeBps: params.pool_fee_bps,
      minerCapBps: params.miner_cap_bps,
      minPayoutUnits: BigInt(params.min_payout_units),
    })
    const claimable = settlement.leaves.map((l) => ({ ...keys.get(l.hotkey)!, amountUnits: l.amountUnits }))
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
      payouts: settlement.payouts,
      points,
      leaves,
      root: toHex32(leaves.length === 0 ? EMPTY_ROOT : tree.root),
      windowStart: first,
      windowEnd: last,
      blockStart: epochBlocks(epoch, tempo).first,
      blockEnd: epochBlocks(epoch, tempo).last,
    }
  }

  /**
   * Stores the close; false (and nothing written) when the epoch row exists already. ON CONFLICT DO
   * NOTHING, not a caught unique violation: on PostgreSQL a failed statement aborts the transaction, so
   * the process that lost the race would fail at commit instead of reporting "already closed".
   */
  private async store(trx: Transaction<DB>, c: EpochComputation): Promise<boolean> {
    const inserted = await trx
      .insertInto('epochs')
      .values({
        epoch_id: BigInt(c.epoch),
        root: c.root,
        num_of_leaves: BigInt(c.leaves.length),
        total_units: c.leaves.reduce((s, l) => s + l.amountUnits, 0n),
        epoch_units: c.payouts.distributedUnits,
        fee_units: c.payouts.feeUnits,
        undistributed_units: c.payouts.undistributedUnits,
        budget_units: BigInt(c.params.budget_units),
        window_start: BigInt(c.windowStart),
        window_end: BigInt(c.windowEnd),
        block_start: BigInt(c.blockStart),
        block_end: BigInt(c.blockEnd),
        closed_at: BigInt(this.now()),
        params: JSON.stringify(c.params),
      })
      .onConflict((oc) => oc.column('epoch_id').doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false
    const payoutRows = c.payouts.payouts.map((p) => ({
      epoch_id: BigInt(c.epoch),
      hotkey: p.hotkey,
      points: c.points.get(p.hotkey) ?? 0,
      micro_points: p.microPoints,
      units: p.units,
    }))
    for (let i = 0; i < payoutRows.length; i += 500)
      await trx
        .insertInto('epoch_payouts')
        .values(payoutRows.slice(i, i + 500))
        .execute()
    const leafRows = c.leaves.map((l) => ({
      epoch_id: BigInt(c.epoch),
      leaf_index: BigInt(l.index),
      hotkey: l.hotkey,
      recipient_coldkey: l.recipient,
      amount_units: l.amountUnits,
      leaf: l.leaf,
      proof: JSON.stringify(l.proof),
    }))
    for (let i = 0; i < leafRows.length; i += 500)
      await trx
        .insertInto('epoch_leaves')
        .values(leafRows.slice(i, i + 500))
        .execute()
    return true
  }

  /**
   * Recomputes a closed epoch from the window points and earlier payouts, with the recipients its leaves
   * recorded and the parameters it was closed with, and compares every stored number.
   */
  async verify(epoch: number): Promise<{ ok: boolean; root: string; recomputedRoot: string; mismatches: string[] }> {
    const db = this.database.db
    const stored = await db.selectFrom('epochs').selectAll().where('epoch_id', '=', BigInt(epoch)).executeTakeFirst()
    if (stored === undefined) throw new Error(`epoch ${epoch} is not closed`)
    const leaves = await db
      .selectFrom('epoch_leaves')
      .selectAll()
      .where('epoch_id', '=', BigInt(epoch))
      .orderBy('leaf_index')
      .execute()
    const payouts = await db
      .selectFrom('epoch_payouts')
      .selectAll()
      .where('epoch_id', '=', BigInt(epoch))
      .orderBy('hotkey')
      .execute()
    const recipients = new Map(leaves.map((l) => [l.hotkey, l.recipient_coldkey]))
    const c = await this.compute(db, epoch, JSON.parse(stored.params) as ArtifactParams, recipients)
    const mismatches: string[] = []
    const expect = (what: string, a: unknown, b: unknown): void => {
      if (String(a) !== String(b)) mismatches.push(`${what}: stored ${String(a)}, recomputed ${String(b)}`)
    }
    expect('root', stored.root, c.root)
    expect('num_of_leaves', stored.num_of_leaves, c.leaves.length)
    expect(
      'total_units',
      stored.total_units,
      c.leaves.reduce((s, l) => s + l.amountUnits, 0n),
    )
    // The published totals (what /claims/epoch shows) are recomputed too, as store() derives them.
    expect('epoch_units', stored.epoch_units, c.payouts.distributedUnits)
    expect('fee_units', stored.fee_units, c.payouts.feeUnits)
    expect('undistributed_units', stored.undistributed_units, c.payouts.undistributedUnits)
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

  /**
   * The closed epoch's artifact (SPEC §8.5, `src/domain/epoch-artifact.ts`): its ETag, and its JSON text
   * as pieces read page by page from the store, so any size is served in bounded memory. The text is a
   * function of rows that never change once the epoch is closed, so the ETag (a hash of the epoch row)
   * names it for good.
   */
  async artifact(epoch: number): Promise<{ etag: string; text: AsyncIterable<string> }> {
    const db = this.database.db
    const e = await db.selectFrom('epochs').selectAll().where('epoch_id', '=', BigInt(epoch)).executeTakeFirst()
    if (e === undefined)
      throw new PoolError('POOL_ERR_EPOCH_NOT_FOUND', `epoch ${epoch} not found (unknown or not closed yet)`)
    const header: ArtifactHeader = {
      ...epochSummary(e),
      budget_units: unitsToJson(e.budget_units),
      params: JSON.parse(e.params) as ArtifactParams,
    }
    const id = e.epoch_id
    const payouts = pages(
      async (after: string | null) =>
        await db
          .selectFrom('epoch_payouts')
          .select(['hotkey', 'points', 'micro_points', 'units'])
          .where('epoch_id', '=', id)
          .$if(after !== null, (q) => q.where('hotkey', '>', after!))
          .orderBy('hotkey')
          .limit(ARTIFACT_PAGE)
          .execute(),
      (r) => r.hotkey,
      (r) => ({
        hotkey: r.hotkey,
        points: r.points,
        micro_points: unitsToJson(BigInt(r.micro_points)),
        units: unitsToJson(BigInt(r.units)),
      }),
    )
    // Cumulative credit of hotkeys without a leaf in this epoch (no recipient, or below the minimum).
    const creditWithoutLeaf = pages(
      async (after: string | null) =>
        await db
          .selectFrom('epoch_payouts as p')
          .select(['p.hotkey', (eb) => eb.fn.sum<bigint>('p.units').as('credit')])
          .where('p.epoch_id', '<=', id)
          .where((eb) =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom('epoch_leaves as l')
                  .select('l.hotkey')
                  .where('l.epoch_id', '=', id)
                  .whereRef('l.hotkey', '=', 'p.hotkey'),
              ),
            ),
          )
          .$if(after !== null, (q) => q.where('p.hotkey', '>', after!))
          .groupBy('p.hotkey')
          .having((eb) => eb.fn.sum('p.units'), '>', 0)
          .orderBy('p.hotkey')
          .limit(ARTIFACT_PAGE)
          .execute(),
      (r) => r.hotkey,
      (r) => ({ hotkey: r.hotkey, credit_units: unitsToJson(BigInt(r.credit)) }),
    )
    const leaves = pages(
      async (after: bigint | null) =>
        await db
          .selectFrom('epoch_leaves')
          .select(['leaf_index', 'hotkey', 'recipient_coldkey', 'amount_units', 'leaf'])
          .where('epoch_id', '=', id)
          .$if(after !== null, (q) => q.where('leaf_index', '>', after!))
          .orderBy('leaf_index')
          .limit(ARTIFACT_PAGE)
          .execute(),
      (r) => BigInt(r.leaf_index),
      (r) => ({
        index: Number(r.leaf_index),
        hotkey: r.hotkey,
        recipient_coldkey: r.recipient_coldkey,
        amount_units: unitsToJson(BigInt(r.amount_units)),
        leaf: r.leaf,
      }),
    )
    const etag = `"${createHash('sha256')
      .update(`${ARTIFACT_NAME}/${ARTIFACT_VERSION}\n${JSON.stringify(header)}`)
      .digest('hex')
      .slice(0, 32)}"`
    return { etag, text: artifactText(header, { payouts, creditWithoutLeaf, leaves }) }
  }

  /** The artifact parsed (for the CLI's summaries and for tests; the text is what gets published). */
  async export(epoch: number): Promise<EpochArtifact> {
    let text = ''
    for await (const piece of (await this.artifact(epoch)).text) text += piece
    return JSON.parse(text) as EpochArtifact
  }
}

const ARTIFACT_PAGE = 2_000

/** Rows page by page by a keyset (`after` the last key read), mapped one by one. */
async function* pages<R, K, T>(
  fetch: (after: K | null) => Promise<R[]>,
  keyOf: (row: R) => K,
  map: (row: R) => T,
): AsyncGenerator<T> {
  let after: K | null = null
  for (;;) {
    const rows = await fetch(after)
    for (const r of rows) yield map(r)
    if (rows.length < ARTIFACT_PAGE) return
    after = keyOf(rows[rows.length - 1]!)
  }
}

/** The published facts of a closed epoch, as the claim API and the artifact show them. */
export function epochSummary(e: Selectable<EpochsTable>) {
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

type ClaimKeys = Omit<ClaimEntry, 'amountUnits'> & { hotkeyAddress: string; recipientAddress: string }

/**
 * The public keys of each hotkey among `hotkeys` with a recipient, both decoded from their addresses; a
 * hotkey or recipient that is not a valid address counts as no recipient.
 */
function claimKeys(recipients: ReadonlyMap<string, string>, hotkeys: Iterable<string>): Map<string, ClaimKeys> {
  const keys = new Map<string, ClaimKeys>()
  for (const hotkey of hotkeys) {
    const recipient = recipients.get(hotkey)
    if (recipient === undefined || keys.has(hotkey)) continue
    const hk = decodeHotkey(hotkey)
    const rc = decodeHotkey(recipient)
    if ('error' in hk || 'error' in rc) continue
    keys.set(hotkey, {
      hotkey: hk.publicKey,
      recipient: rc.publicKey,
      hotkeyAddress: hotkey,
      recipientAddress: recipient,
    })
  }
  return keys
}

async function currentRecipients(db: Queryable): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('miners')
    .select(['hotkey', 'recipient_coldkey'])
    .where('recipient_coldkey', 'is not', null)
    .execute()
  return new Map(rows.map((r) => [r.hotkey, r.recipient_coldkey!]))
}
