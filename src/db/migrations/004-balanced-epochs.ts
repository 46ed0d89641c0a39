import type { Kysely } from 'kysely'
import type { Dialect } from '../database.ts'

/**
 * Every closed epoch balances: fee + paid + undistributed = budget. Epochs closed before this rule stored
 * fee 0 and undistributed 0 whenever nothing was paid. Those are corrected here from their own stored
 * facts; payouts, leaves and roots are untouched:
 * - no payout rows (nobody had points): no fee, the whole budget undistributed;
 * - payout rows that all came to 0 units (a cap or fee leaving nothing to share): the fee of the
 *   parameters the epoch closed with, the rest undistributed.
 * The arithmetic is written out here, not imported, so this migration means the same thing forever.
 */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  const epochs = await db
    .selectFrom('epochs')
    .select(['epoch_id', 'epoch_units', 'fee_units', 'undistributed_units', 'budget_units', 'params'])
    .execute()
  for (const e of epochs) {
    const budget = BigInt(e.budget_units)
    const paid = BigInt(e.epoch_units)
    if (paid + BigInt(e.fee_units) + BigInt(e.undistributed_units) === budget) continue
    const earners = await db
      .selectFrom('epoch_payouts')
      .select('hotkey')
      .where('epoch_id', '=', e.epoch_id)
      .limit(1)
      .execute()
    const feeBps = BigInt((JSON.parse(e.params) as { pool_fee_bps: number }).pool_fee_bps)
    const fee = earners.length === 0 ? 0n : (budget * feeBps) / 10_000n
    await db
      .updateTable('epochs')
      .set({ fee_units: fee, undistributed_units: budget - fee - paid })
      .where('epoch_id', '=', e.epoch_id)
      .execute()
  }
}
