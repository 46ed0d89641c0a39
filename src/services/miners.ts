/** Miners: implicit registration, recipients, stats and the leaderboard. */
import { sql } from 'kysely'
import { isoTime } from '../clock.ts'
import type { Database } from '../db/database.ts'
import { toNumber } from '../db/database.ts'
import { Batcher } from '../db/batcher.ts'
import type { SignatureLedger } from './signatures.ts'
import { PoolError } from '../errors.ts'
import { trustWeight } from '../domain/consensus.ts'
import { unitsToJson } from '../domain/units.ts'
import type { MinerRecord, RecipientResponse, RecipientUpdateResponse } from '../schemas/miners.ts'

/** One signed request's record: its hotkey, when, and (state-changing requests) its signature. */
interface Touch {
  hotkey: string
  nowMs: number
  signature: { value: string; expiresAtMs: number } | undefined
}

/** What a batch tells each call: replay, or whether the miner is registered and its last_seen refreshed. */
interface Touched {
  seen: boolean
  refreshed: boolean
  replay: boolean
}

/** What a batch recorded: the signatures it used, the hotkeys registered, and those whose last_seen moved. */
interface TouchRecord {
  consumed: Set<string>
  seen: Set<string>
  refreshed: Set<string>
}

/** Touches running at once (batches wait for nothing but replayed signatures), and most in one batch. */
const TOUCH_BATCHING = { concurrency: 2, maxSize: 256 }

/** last_seen moves forward only: a request that arrives late with an earlier time does not move it back. */
const latest = (nowMs: number) =>
  sql<bigint>`case when last_seen > ${BigInt(nowMs)} then last_seen else ${BigInt(nowMs)} end`

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export class MinerService {
  constructor(
    private readonly database: Database,
    /** Source of each new miner's secret assignment draw. */
    private readonly draw: () => bigint,
    private readonly signatures: SignatureLedger,
  ) {}

  /**
   * Registers the hotkey if unknown, else refreshes last_seen; tells which happened. Runs on every signed
   * request. With `signature` (state-changing requests) it first records the signature as used: a replay
   * changes nothing and answers `replay`. Concurrent calls share one batch (`recordTouches`); a new miner's
   * INSERT, and the refresh of a miner whose row another transaction holds, run apart, for that hotkey
   * only. When this throws, nothing of it stays recorded: a recorded signature is given back.
   */
  async touch(
    hotkey: string,
    publicKeyHex: string,
    nowMs: number,
    signature?: { value: string; expiresAtMs: number },
  ): Promise<{ created: boolean; replay: boolean }> {
    const { seen, refreshed, replay } = await this.touches.call({ hotkey, nowMs, signature })
    if (replay) return { created: false, replay: true }
    try {
      if (seen) {
        if (!refreshed)
          await this.database.db
            .updateTable('miners')
            .set({ last_seen: latest(nowMs) })
            .where('hotkey', '=', hotkey)
            .execute()
        return { created: false, replay: false }
      }
      const now = BigInt(nowMs)
      const inserted = await this.database.db
        .insertInto('miners')
        .values({ hotkey, public_key: publicKeyHex, created_at: now, last_seen: now, draw: this.draw() })
        // No conflict target: a concurrent first request of the same key may collide on the hotkey or on the
        // public key index first, and either means "registered already" (naming only the hotkey made the
        // other collision an error, a 500).
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst()
      // Zero rows: a concurrent request registered the hotkey between the two statements.
      return { created: Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0, replay: false }
    } catch (err) {
      if (signature !== undefined) await this.signatures.release(signature.value).catch(() => {})
      throw err
    }
  }

  private readonly touches = new Batcher<Touch, Touched>((batch) => this.recordTouches(batch), TOUCH_BATCHING)

  /**
   * One batch of touches: records the new signatures (a signature already used, or named twice in the
   * batch, is a replay for every call after the first) and refreshes last_seen of each hotkey whose
   * request stands, to the latest time seen. A batch either happens whole or records nothing.
   */
  private async recordTouches(batch: Touch[]): Promise<Touched[]> {
    const firstUse = new Set<string>()
    const repeated = batch.map((t) => {
      if (t.signature === undefined) return false
      if (firstUse.has(t.signature.value)) return true
      firstUse.add(t.signature.value)
      return false
    })
    const sent = batch.filter((_, i) => !repeated[i])
    const { consumed, seen, refreshed } =
      this.database.dialect === 'postgres' ? await this.touchPostgres(sent) : await this.touchSqlite(sent)
    return batch.map((t, i) =>
      repeated[i] || (t.signature !== undefined && !consumed.has(t.signature.value))
        ? { seen: false, refreshed: false, replay: true }
        : { seen: seen.has(t.hotkey), refreshed: refreshed.has(t.hotkey), replay: false },
    )
  }

  /**
   * One statement, one round trip. It waits for no miner row: a row another transaction holds (a decision
   * recording that miner's trust, a window close its reputation) is skipped, and `touch` refreshes it apart,
   * so that only that miner's request waits. The signatures go in in their sort order, so two batches
   * offering the same ones wait for each other in one direction only: nothing it waits for can wait for it.
   */
  private async touchPostgres(sent: Touch[]): Promise<TouchRecord> {
    const rows = [...sent].sort((a, b) => compare(a.signature?.value ?? '', b.signature?.value ?? ''))
    const statement = sql<{ consumed: string[]; seen: string[]; refreshed: string[] }>`
      with input as (
        select * from unnest(
          ${rows.map((t) => t.signature?.value ?? null)}::text[], ${rows.map((t) => t.hotkey)}::text[],
          ${rows.map((t) => t.signature?.expiresAtMs ?? null)}::bigint[], ${rows.map((t) => t.nowMs)}::bigint[]
        ) with ordinality as t(signature, hotkey, expires_at, seen_at, n)
      ), sig as (
        insert into used_signatures (signature, hotkey, expires_at)
        select signature, hotkey, expires_at from input where signature is not null order by n
        on conflict do nothing returning signature
      ), standing as (
        select hotkey, max(seen_at) as seen_at from input
        where signature is null or signature in (select signature from sig) group by hotkey
      ), locked as (
        select m.hotkey, standing.seen_at from miners m join standing on standing.hotkey = m.hotkey
        for no key update of m skip locked
      ), upd as (
        update miners m set last_seen = greatest(m.last_seen, locked.seen_at) from locked
        where m.hotkey = locked.hotkey returning m.hotkey
      )
      select coalesce((select array_agg(signature) from sig), '{}') as consumed,
        coalesce((select array_agg(m.hotkey) from miners m join standing on standing.hotkey = m.hotkey), '{}') as seen,
        coalesce((select array_agg(hotkey) from upd), '{}') as refreshed`
    const { rows: result } = await statement.execute(this.database.db)
    const row = result[0]
    return {
      consumed: new Set(row?.consumed ?? []),
      seen: new Set(row?.seen ?? []),
      refreshed: new Set(row?.refreshed ?? []),
    }
  }

  /** One write transaction: SQLite takes one writer at a time, so a batch is one commit instead of many. */
  private async touchSqlite(sent: Touch[]): Promise<TouchRecord> {
    return await this.database.transaction(async (trx) => {
      const signed = sent.flatMap((t) =>
        t.signature === undefined
          ? []
          : [{ signature: t.signature.value, hotkey: t.hotkey, expires_at: BigInt(t.signature.expiresAtMs) }],
      )
      const consumed = new Set(
        signed.length === 0
          ? []
          : (
              await trx
                .insertInto('used_signatures')
                .values(signed)
                .onConflict((oc) => oc.doNothing())
                .returning('signature')
                .execute()
            ).map((r) => r.signature),
      )
      const standing = new Map<string, number>()
      for (const t of sent)
        if (t.signature === undefined || consumed.has(t.signature.value))
          standing.set(t.hotkey, Math.max(standing.get(t.hotkey) ?? 0, t.nowMs))
      const seen = new Set<string>()
      for (const [hotkey, ms] of standing) {
        const updated = await trx
          .updateTable('miners')
          .set({ last_seen: latest(ms) })
          .where('hotkey', '=', hotkey)
          .executeTakeFirst()
        if (Number(updated.numUpdatedRows) > 0) seen.add(hotkey)
      }
      return { consumed, seen, refreshed: seen }
    })
  }

  /** The evaluator's record and the weight its votes carry now (README, "Collusion"). */
  async trust(
    hotkey: string,
    weighting: 'trust' | 'equal',
    prior: number,
  ): Promise<{ agreements: number; disagreements: number; vote_weight: number }> {
    const row = await this.database.db
      .selectFrom('miners')
      .select(['trust_agreements', 'trust_disagreements'])
      .where('hotkey', '=', hotkey)
      .executeTakeFirst()
    if (row === undefined) throw new PoolError('POOL_ERR_MINER_NOT_FOUND', `miner ${hotkey} not found`)
    return {
      agreements: row.trust_agreements,
      disagreements: row.trust_disagreements,
      vote_weight: weighting === 'equal' ? 1 : trustWeight(row.trust_agreements, row.trust_disagreements, prior),
    }
  }

  async get(hotkey: string): Promise<MinerRecord> {
    const row = await this.database.db
      .selectFrom('miners')
      .select(['hotkey', 'reputation', 'created_at', 'last_seen'])
      .where('hotkey', '=', hotkey)
      .executeTakeFirst()
    if (row === undefined) throw new PoolError('POOL_ERR_MINER_NOT_FOUND', `miner ${hotkey} not found`)
    return {
      hotkey: row.hotkey,
      reputation: row.reputation,
      created_at: isoTime(row.created_at),
      last_seen: isoTime(row.last_seen),
    }
  }

  async setRecipient(
    hotkey: string,
    recipient: string,
    nowMs: number,
  ): Promise<Pick<RecipientUpdateResponse, 'recipient_coldkey' | 'updated_at'>> {
    await this.database.db
      .updateTable('miners')
      .set({ recipient_coldkey: recipient, recipient_updated_at: BigInt(nowMs) })
      .where('hotkey', '=', hotkey)
      .execute()
    return { recipient_coldkey: recipient, updated_at: isoTime(nowMs) }
  }

  async getRecipient(hotkey: string): Promise<RecipientResponse> {
    const row = await this.database.db
      .selectFrom('miners')
      .select(['hotkey', 'recipient_coldkey', 'recipient_updated_at'])
      .where('hotkey', '=', hotkey)
      .executeTakeFirst()
    if (row === undefined) throw new PoolError('POOL_ERR_MINER_NOT_FOUND', `miner ${hotkey} not found`)
    return {
      miner_hotkey: row.hotkey,
      recipient_coldkey: row.recipient_coldkey,
      updated_at: isoTime(row.recipient_updated_at),
    }
  }

  /** The miner's own numbers; windows of the current epoch count toward epoch points once closed. */
  async stats(hotkey: string, epochWindowRange: { first: number; last: number }, nowMs: number) {
    const db = this.database.db
    const miner = await db.selectFrom('miners').selectAll().where('hotkey', '=', hotkey).executeTakeFirst()
    if (miner === undefined) throw new PoolError('POOL_ERR_MINER_NOT_FOUND', `miner ${hotkey} not found`)
    const [evaluations, outcomes, evolutions, epochPoints, credited, claimed, active, lastLeaf, lastEpoch] =
      await Promise.all([
        db
          .selectFrom('evaluations')
          .select((eb) => eb.fn.countAll<bigint>().as('n'))
          .where('miner_hotkey', '=', hotkey)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('window_points')
          .select((eb) => [
            eb.fn.sum<bigint>('agreements').as('agreements'),
            eb.fn.sum<bigint>('disagreements').as('disagreements'),
          ])
          .where('miner_hotkey', '=', hotkey)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('algorithms')
          .select((eb) => [
            eb.fn.countAll<bigint>().as('total'),
            eb.fn.sum<bigint>(sql`case when state = 'scored' then 1 else 0 end`).as('scored'),
          ])
          .where('miner_hotkey', '=', hotkey)
          .where('is_seed', '=', 0n)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('window_points')
          .select((eb) => eb.fn.sum<number>('points').as('points'))
          .where('miner_hotkey', '=', hotkey)
          .where('window_number', '>=', BigInt(epochWindowRange.first))
          .where('window_number', '<=', BigInt(epochWindowRange.last))
          .executeTakeFirstOrThrow(),
        db
          .selectFrom('epoch_payouts')
          .select((eb) => eb.fn.sum<bigint>('units').as('units'))
          .where('hotkey', '=', hotkey)
          .executeTakeFirstOrThrow(),
        db.selectFrom('hotkey_claims').select('claimed_units').where('hotkey', '=', hotkey).executeTakeFirst(),
        db
          .selectFrom('assignments')
          .select(['id', 'kind', 'timeout_at'])
          .where('miner_hotkey', '=', hotkey)
          .where('status', '=', 'active')
          .where('timeout_at', '>', BigInt(nowMs))
          .executeTakeFirst(),
        db
          .selectFrom('epoch_leaves')
          .select('epoch_id')
          .where('hotkey', '=', hotkey)
          .orderBy('epoch_id', 'desc')
          .limit(1)
          .executeTakeFirst(),
        db
          .selectFrom('epochs')
          .select((eb) => eb.fn.max('epoch_id').as('id'))
          .executeTakeFirst(),
      ])
    const creditedUnits = BigInt(credited.units ?? 0n)
    const claimedUnits = claimed?.claimed_units ?? 0n
    // Credit exists without a leaf until a recipient is set; say so instead of showing a bare number.
    const inLatestTree =
      lastLeaf !== undefined &&
      lastEpoch?.id !== null &&
      lastEpoch?.id !== undefined &&
      BigInt(lastLeaf.epoch_id) === BigInt(lastEpoch.id)
    const creditStatus =
      creditedUnits === 0n
        ? 'no credit yet'
        : miner.recipient_coldkey === null
          ? 'credited, waiting for a recipient'
          : inLatestTree
            ? 'in the claim tree'
            : 'recipient set, in the claim tree from the next epoch close (if above MIN_PAYOUT_UNITS)'
    return {
      hotkey,
      reputation: miner.reputation,
      epoch_points: Number(epochPoints.points ?? 0),
      evaluations_submitted: toNumber(evaluations.n),
      agreements: toNumber(outcomes.agreements),
      disagreements: toNumber(outcomes.disagreements),
      evolutions: toNumber(evolutions.total),
      scored_evolutions: toNumber(evolutions.scored),
      credited_units: unitsToJson(creditedUnits),
      claimed_units: unitsToJson(claimedUnits),
      claimable_units: unitsToJson(creditedUnits > claimedUnits ? creditedUnits - claimedUnits : 0n),
      credit_status: creditStatus,
      awaiting_recipient_units: unitsToJson(miner.recipient_coldkey === null ? creditedUnits - claimedUnits : 0n),
      recipient_coldkey: miner.recipient_coldkey,
      recipient_updated_at: isoTime(miner.recipient_updated_at),
      created_at: isoTime(miner.created_at),
      last_seen: isoTime(miner.last_seen),
      active_assignment:
        active === undefined ? null : { id: active.id, kind: active.kind, timeout_at: isoTime(active.timeout_at) },
    }
  }

  async counts(nowMs: number): Promise<{ total: number; activeLastHour: number }> {
    const row = await this.database.db
      .selectFrom('miners')
      .select((eb) => [
        eb.fn.countAll<bigint>().as('total'),
        eb.fn.sum<bigint>(sql`case when last_seen >= ${BigInt(nowMs - 3_600_000)} then 1 else 0 end`).as('active'),
      ])
      .executeTakeFirstOrThrow()
    return { total: toNumber(row.total), activeLastHour: toNumber(row.active) }
  }

  async leaderboard(limit: number) {
    const rows = await this.database.db
      .selectFrom('miners')
      .select(['hotkey', 'reputation', 'last_seen', 'created_at'])
      .orderBy('reputation', 'desc')
      .orderBy('hotkey', 'asc')
      .limit(limit)
      .execute()
    return rows.map((r, i) => ({
      rank: i + 1,
      hotkey: r.hotkey,
      reputation: r.reputation,
      created_at: isoTime(r.created_at),
      last_seen: isoTime(r.last_seen),
    }))
  }
}
