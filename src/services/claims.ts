/**
 * The claim side of closed epochs (SPEC §9): epoch metadata, proof packages served from stored leaves,
 * and the claim simulation with its ledger. Amounts are cumulative, so a claim transfers what the
 * hotkey has not claimed yet; the per-hotkey row is locked (PostgreSQL) or the write transaction is
 * exclusive (SQLite), so concurrent claims of one leaf transfer once. Proof packages of closed epochs
 * are answered from a bounded in-process cache (`proof-cache.ts`) when PROOF_CACHE_MB allows. A claim
 * whose fields do not parse is refused as a `ClaimProblem` naming the field; the HTTP layer places it.
 */
import { isoTime } from '../clock.ts'
import type { Database } from '../db/database.ts'
import type { EpochsTable } from '../db/schema.ts'
import { CLAIM_TREE_FORMAT, EMPTY_ROOT, fromHex32, initClaimTree, toHex32, verifyClaim } from '../domain/claim-tree.ts'
import { unitsFromJson, unitsToJson } from '../domain/units.ts'
import { decodeHotkey } from '../crypto/sr25519.ts'
import { PoolError } from '../errors.ts'
import { awaitingRecipient, minPayoutOf } from './credit.ts'
import { epochSummary } from './epochs.ts'
import { ProofCache, proofEtag, type ProofText } from './proof-cache.ts'
import type { PoolMetrics } from '../metrics.ts'
import type { ClaimBody, EpochList, ProofPackage } from '../schemas/claims.ts'
import type { AwaitingRecipient } from '../schemas/monitor.ts'
import type { Selectable } from 'kysely'

type EpochRow = Selectable<EpochsTable>

const ZERO_ROOT = toHex32(EMPTY_ROOT)

/** What a claim problem is about: the hotkey, the recipient, the amount, or one proof element by its index. */
export type ClaimSubject =
  | { field: 'hotkey' }
  | { field: 'recipient' }
  | { field: 'amount' }
  | { field: 'proof'; element: number }

/** A claim the service refuses because one of its fields does not parse, in the service's terms (422). */
export class ClaimProblem extends Error {
  constructor(
    readonly subject: ClaimSubject,
    message: string,
  ) {
    super(message)
    this.name = 'ClaimProblem'
  }
}

/** A proof answer: pre-serialized text from the cache, or the package read from the store; either with its ETag. */
export type ProofAnswer = ProofText | { etag: string; package: ProofPackage }

export class ClaimService {
  /** Closed epochs never change, so their rows are kept once read. */
  private readonly epochCache = new Map<number, EpochRow>()
  private readonly awaitingCache = new Map<number, AwaitingRecipient>()

  readonly proofCache: ProofCache

  constructor(
    private readonly database: Database,
    private readonly now: () => number,
    options: { proofCacheBytes?: number; metrics?: PoolMetrics } = {},
  ) {
    this.proofCache = new ProofCache(database, options.proofCacheBytes ?? 0, options.metrics)
  }

  async epochs(): Promise<EpochList> {
    const rows = await this.database.db
      .selectFrom('epochs')
      .select(['epoch_id', 'num_of_leaves'])
      .orderBy('epoch_id', 'desc')
      .execute()
    const claimable = rows.find((r) => r.num_of_leaves > 0n)
    return {
      epochs: rows.map((r) => Number(r.epoch_id)),
      default_epoch: claimable === undefined ? null : Number(claimable.epoch_id),
    }
  }

  /** The epoch named, or the default (newest claimable) one. */
  async resolveEpoch(epochId: number | undefined): Promise<EpochRow> {
    if (epochId === undefined) {
      // Read every time: the default changes when an epoch closes, possibly in another process.
      const newest = await this.database.db
        .selectFrom('epochs')
        .select('epoch_id')
        .where('num_of_leaves', '>', 0n)
        .orderBy('epoch_id', 'desc')
        .limit(1)
        .executeTakeFirst()
      if (newest === undefined) throw new PoolError('POOL_ERR_EPOCH_NOT_FOUND', 'no claimable epoch yet')
      epochId = Number(newest.epoch_id)
    }
    const cached = this.epochCache.get(epochId)
    if (cached !== undefined) return cached
    const row = await this.database.db
      .selectFrom('epochs')
      .selectAll()
      .where('epoch_id', '=', BigInt(epochId))
      .executeTakeFirst()
    if (row === undefined)
      throw new PoolError('POOL_ERR_EPOCH_NOT_FOUND', `epoch ${epochId} not found (unknown or not closed yet)`)
    this.epochCache.set(epochId, row)
    return row
  }

  async epochMeta(epochId: number | undefined) {
    const e = await this.resolveEpoch(epochId)
    const { miners, units } = await this.awaiting(e)
    return {
      ...epochSummary(e),
      format: CLAIM_TREE_FORMAT,
      status: e.num_of_leaves > 0n ? ('claimable' as const) : ('empty' as const),
      awaiting_recipient: { miners, units },
    }
  }

  /** Credit through a closed epoch held for hotkeys without a recipient (fixed once the epoch closed). */
  private async awaiting(e: EpochRow): Promise<AwaitingRecipient> {
    const id = Number(e.epoch_id)
    const known = this.awaitingCache.get(id)
    if (known !== undefined) return known
    const result = await awaitingRecipient(this.database.db, id, minPayoutOf(e.params), 0)
    this.awaitingCache.set(id, result)
    return result
  }

  /** The proof package of `hotkey`, from the cache when it holds the epoch, else from the store. */
  async proofAnswer(epochId: number | undefined, hotkey: string): Promise<ProofAnswer> {
    const e = await this.resolveEpoch(epochId)
    const cached = await this.proofCache.lookup(e, hotkey)
    if (cached !== undefined) return cached
    const pkg = await this.storedProof(e, hotkey)
    return { etag: proofEtag(pkg.root, pkg.leaf), package: pkg }
  }

  /**
   * The package of `hotkey` when the cache holds it already, synchronously (the hot path: no query, no
   * waiting). A hotkey found there is stored in a leaf, so it is a canonical address.
   */
  cachedProof(epochId: number, hotkey: string): ProofText | undefined {
    return this.proofCache.peek(epochId, hotkey)
  }

  private async storedProof(e: EpochRow, hotkey: string): Promise<ProofPackage> {
    const leaf = await this.database.db
      .selectFrom('epoch_leaves')
      .selectAll()
      .where('epoch_id', '=', e.epoch_id)
      .where('hotkey', '=', hotkey)
      .executeTakeFirst()
    if (leaf === undefined) {
      const credited = await this.database.db
        .selectFrom('epoch_payouts')
        .select((eb) => eb.fn.sum<bigint>('units').as('units'))
        .where('hotkey', '=', hotkey)
        .where('epoch_id', '<=', e.epoch_id)
        .executeTakeFirst()
      const units = BigInt(credited?.units ?? 0n)
      throw new PoolError(
        'POOL_ERR_LEAF_NOT_FOUND',
        units > 0n
          ? `hotkey ${hotkey} has no claim in epoch ${e.epoch_id}: it is credited ${units} units, waiting for a recipient coldkey (or below MIN_PAYOUT_UNITS); once a recipient is set, the next epoch that closes puts the whole credit in its leaf`
          : `hotkey ${hotkey} has no claim in epoch ${e.epoch_id}`,
      )
    }
    const amount = unitsToJson(leaf.amount_units)
    return {
      epoch: Number(e.epoch_id),
      index: Number(leaf.leaf_index),
      hotkey: leaf.hotkey,
      recipient_coldkey: leaf.recipient_coldkey,
      amount_units: amount,
      amount,
      proof: JSON.parse(leaf.proof) as string[],
      root: e.root,
      leaf: leaf.leaf,
      format: CLAIM_TREE_FORMAT,
    }
  }

  async claim(epochId: number | undefined, body: ClaimBody) {
    const hotkey = decodeHotkey(body.hotkey.trim())
    if ('error' in hotkey)
      throw new ClaimProblem({ field: 'hotkey' }, `hotkey is not a valid SS58 address: ${hotkey.error}`)
    const recipient = decodeHotkey(body.recipient_coldkey.trim())
    if ('error' in recipient)
      throw new ClaimProblem(
        { field: 'recipient' },
        `recipient_coldkey is not a valid SS58 address: ${recipient.error}`,
      )
    const amount = unitsFromJson(body.amount_units)
    if (amount === undefined)
      throw new ClaimProblem(
        { field: 'amount' },
        'amount_units must be an unsigned 64-bit integer, as a number or a decimal string',
      )
    const proof = body.proof.map((p, i) => {
      try {
        return fromHex32(p)
      } catch {
        throw new ClaimProblem({ field: 'proof', element: i }, 'proof elements must be 0x followed by 64 hex digits')
      }
    })
    const e = await this.resolveEpoch(epochId)
    if (e.root === ZERO_ROOT)
      throw new PoolError('POOL_ERR_EPOCH_NOT_CLAIMABLE', `epoch ${e.epoch_id} has no claim root`)
    await initClaimTree()
    const valid = verifyClaim(
      e.epoch_id,
      body.index,
      { hotkey: hotkey.publicKey, recipient: recipient.publicKey, amountUnits: amount },
      proof,
      fromHex32(e.root),
    )
    if (!valid) throw new PoolError('POOL_ERR_INVALID_PROOF')

    const key = body.hotkey.trim()
    const nowMs = this.now()
    const db = this.database
    const transfer = await db.transaction(async (trx) => {
      await trx
        .insertInto('hotkey_claims')
        .values({ hotkey: key, claimed_units: 0n })
        .onConflict((oc) => oc.column('hotkey').doNothing())
        .execute()
      const current = await trx
        .selectFrom('hotkey_claims')
        .select('claimed_units')
        .where('hotkey', '=', key)
        .$if(db.dialect === 'postgres', (q) => q.forUpdate())
        .executeTakeFirstOrThrow()
      const already = BigInt(current.claimed_units)
      if (amount <= already) return { transferred: 0n, cumulative: already }
      const transferred = amount - already
      await trx.updateTable('hotkey_claims').set({ claimed_units: amount }).where('hotkey', '=', key).execute()
      await trx
        .insertInto('claims')
        .values({
          epoch_id: e.epoch_id,
          hotkey: key,
          leaf_index: BigInt(body.index),
          recipient_coldkey: body.recipient_coldkey.trim(),
          amount_units: amount,
          transferred_units: transferred,
          claimed_at: BigInt(nowMs),
        })
        .execute()
      return { transferred, cumulative: amount }
    })
    if (transfer.transferred === 0n)
      throw new PoolError(
        'POOL_ERR_ALREADY_CLAIMED',
        `already claimed: ${transfer.cumulative} units have been transferred for this hotkey`,
      )
    return {
      status: 'claimed' as const,
      epoch: Number(e.epoch_id),
      index: body.index,
      hotkey: key,
      recipient_coldkey: body.recipient_coldkey.trim(),
      amount_units: unitsToJson(amount),
      transferred_units: unitsToJson(transfer.transferred),
      claimed_cumulative_units: unitsToJson(transfer.cumulative),
    }
  }

  async ledger(epochId: number | undefined) {
    const e = await this.resolveEpoch(epochId)
    const rows = await this.database.db
      .selectFrom('claims')
      .selectAll()
      .where('epoch_id', '=', e.epoch_id)
      .orderBy('leaf_index')
      .execute()
    return {
      epoch: Number(e.epoch_id),
      claims: rows.map((r) => ({
        index: Number(r.leaf_index),
        hotkey: r.hotkey,
        recipient_coldkey: r.recipient_coldkey,
        amount_units: unitsToJson(r.amount_units),
        transferred_units: unitsToJson(r.transferred_units),
        claimed_at: isoTime(r.claimed_at) as string,
      })),
      claimed_units: unitsToJson(rows.reduce((s, r) => s + BigInt(r.transferred_units), 0n)),
    }
  }
}
