/**
 * Retention of old evaluations. An evaluation is only needed until its algorithm's decision has become
 * window points and that window's epoch has closed: `epoch verify` recomputes from window points and
 * payouts, never from evaluations. So only evaluations that are older than the horizon, of decided
 * algorithms, decided in a window of a closed epoch, are deleted; everything an open window or epoch
 * still needs stays.
 */
import { toNumber } from '../db/database.ts'
import { epochWindows } from '../domain/tempo.ts'
import type { PoolContext } from './context.ts'

export interface PruneResult {
  horizon: string
  through_window: number | null
  evaluations: number
  dry_run: boolean
}

export async function pruneEvaluations(pool: PoolContext, horizonDays: number, dryRun = false): Promise<PruneResult> {
  const cutoff = pool.clock.now() - horizonDays * 86_400_000
  const lastEpoch = await pool.epochs.lastClosed()
  const horizon = new Date(cutoff).toISOString()
  if (lastEpoch === null) return { horizon, through_window: null, evaluations: 0, dry_run: dryRun }
  const throughWindow = epochWindows(lastEpoch, pool.tempo).last
  const db = pool.database.db
  const closedDecisions = db
    .selectFrom('algorithms')
    .select('id')
    .where('decided_window', 'is not', null)
    .where('decided_window', '<=', BigInt(throughWindow))
  if (dryRun) {
    const row = await db
      .selectFrom('evaluations')
      .select((eb) => eb.fn.countAll<bigint>().as('n'))
      .where('created_at', '<', BigInt(cutoff))
      .where('algorithm_id', 'in', closedDecisions)
      .executeTakeFirstOrThrow()
    return { horizon, through_window: throughWindow, evaluations: toNumber(row.n), dry_run: true }
  }
  const deleted = await db
    .deleteFrom('evaluations')
    .where('created_at', '<', BigInt(cutoff))
    .where('algorithm_id', 'in', closedDecisions)
    .executeTakeFirst()
  return { horizon, through_window: throughWindow, evaluations: Number(deleted.numDeletedRows), dry_run: false }
}
