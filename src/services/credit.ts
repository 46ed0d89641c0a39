/**
 * Credit held for miners that have no recipient coldkey. Such credit is real (it stays in the hotkey's
 * cumulative total) but has no leaf in the claim tree until a recipient is set; an epoch that closes
 * after that puts the whole cumulative amount in the hotkey's leaf. Derived from stored, closed facts only.
 */
import type { Queryable } from '../db/database.ts'
import { reachesMinPayout } from '../domain/epoch-settlement.ts'
import { unitsToJson } from '../domain/units.ts'
import type { ArtifactParams } from '../schemas/claims.ts'
import type { AwaitingRecipient } from '../schemas/monitor.ts'

/**
 * Hotkeys whose cumulative credit through `epoch` reaches its minimum payout (`reachesMinPayout`) but
 * that have no leaf in the epoch: the close leaves out only those without a (valid) recipient, so they
 * are waiting for one.
 */
export async function awaitingRecipient(
  db: Queryable,
  epoch: number,
  minPayoutUnits: bigint,
  limit = 100,
): Promise<AwaitingRecipient> {
  const rows = await db
    .selectFrom('epoch_payouts')
    .select((eb) => ['hotkey', eb.fn.sum<bigint>('units').as('units')])
    .where('epoch_id', '<=', BigInt(epoch))
    .where('hotkey', 'not in', (eb) =>
      eb.selectFrom('epoch_leaves').select('hotkey').where('epoch_id', '=', BigInt(epoch)),
    )
    .groupBy('hotkey')
    .orderBy('hotkey')
    .execute()
  const waiting = rows
    .map((r) => ({ hotkey: r.hotkey, units: BigInt(r.units) }))
    .filter((r) => reachesMinPayout(r.units, minPayoutUnits))
  return {
    miners: waiting.length,
    units: unitsToJson(waiting.reduce((s, r) => s + r.units, 0n)),
    hotkeys: waiting.slice(0, limit).map((r) => ({ hotkey: r.hotkey, credited_units: unitsToJson(r.units) })),
  }
}

/** The minimum payout an epoch closed with (from its stored parameters; 0 when they name none). */
export function minPayoutOf(params: string): bigint {
  const parsed = JSON.parse(params) as Partial<Pick<ArtifactParams, 'min_payout_units'>>
  return BigInt(parsed.min_payout_units ?? '0')
}
