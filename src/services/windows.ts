/**
 * Closing windows (SPEC §6.2): once a window has ended, the facts decided in it become each miner's
 * window points, stored once. The `window_closes` key makes the close happen exactly once even when
 * several processes try; reputation is updated in the same transaction.
 */
import type { Transaction } from 'kysely'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { DB } from '../db/schema.ts'
import { computeWindowPoints, type EvaluationFact, type EvolutionFact, type MinerWindowPoints, type PointsParams } from '../domain/points.ts'
import type { PoolMetrics } from '../metrics.ts'
import { getMeta } from './pool-meta.ts'

export const pointsParams = (config: Config): PointsParams => ({
  evaluatorWeight: config.evaluatorWeight,
  evolverWeight: config.evolverWeight,
  baseline: config.evolverBaseline,
  repetitionScope: config.repetitionScope,
  repetitionPenalty: config.repetitionPenalty,
  minRewardActivity: config.minRewardActivity,
})

export class WindowService {
  constructor (
    private readonly database: Database,
    private readonly config: Config,
    private readonly metrics: PoolMetrics,
    private readonly now: () => number,
    private readonly currentWindow: () => number,
  ) {}

  /** The window the pool started in (stored at first start); earlier windows hold nothing to close. */
  async firstWindow (): Promise<number> {
    return Number(await getMeta(this.database.db, 'first_window') ?? '0')
  }

  /** The last closed window, or one before the pool's first window when none is closed. */
  async lastClosed (): Promise<number> {
    const row = await this.database.db.selectFrom('window_closes').select((eb) => eb.fn.max('window_number').as('w')).executeTakeFirst()
    if (row?.w !== null && row?.w !== undefined) return Number(row.w)
    return (await this.firstWindow()) - 1
  }

  /** Closes every ended window not closed yet, oldest first; returns the windows this call closed. */
  async closeEnded (): Promise<number[]> {
    const closed: number[] = []
    const current = this.currentWindow()
    for (let w = (await this.lastClosed()) + 1; w < current; w++) {
      if (await this.close(w)) closed.push(w)
    }
    return closed
  }

  /** Closes one ended window; false when it was already closed (by this or another process). */
  async close (windowNumber: number): Promise<boolean> {
    if (windowNumber >= this.currentWindow()) throw new Error(`window ${windowNumber} has not ended yet`)
    const closedNow = await this.database.transaction(async (trx) => {
      // ON CONFLICT DO NOTHING, not a caught unique violation: on PostgreSQL a failed statement aborts the
      // transaction and its commit throws, so the process that lost the race would report an error.
      const inserted = await trx.insertInto('window_closes').values({ window_number: BigInt(windowNumber), closed_at: BigInt(this.now()) })
        .onConflict((oc) => oc.column('window_number').doNothing()).executeTakeFirst()
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false
      const rows = await this.computePoints(trx, windowNumber)
      for (const r of rows) {
        await trx.insertInto('window_points').values({
          window_number: BigInt(windowNumber), miner_hotkey: r.miner,
          agreements: BigInt(r.agreements), disagreements: BigInt(r.disagreements), evaluations: BigInt(r.evaluations),
          evolutions: BigInt(r.evolutions), scored_evolutions: BigInt(r.scoredEvolutions),
          evaluator_points: r.evaluatorPoints, evolver_points: r.evolverPoints, penalty: r.penalty, points: r.points,
        }).execute()
        if (r.points > 0) {
          await trx.updateTable('miners').set((eb) => ({ reputation: eb('reputation', '+', r.points) })).where('hotkey', '=', r.miner).execute()
        }
      }
      return true
    })
    if (closedNow) this.metrics.windowCloses.inc()
    return closedNow
  }

  /** The facts decided in the window, with every baseline resolved, combined by the pure points module. */
  async computePoints (trx: Transaction<DB> | Database['db'], windowNumber: number): Promise<MinerWindowPoints[]> {
    const w = BigInt(windowNumber)
    const evaluations: EvaluationFact[] = (await trx.selectFrom('evaluations as e')
      .innerJoin('algorithms as a', 'a.id', 'e.algorithm_id')
      .select(['e.miner_hotkey', 'e.outcome'])
      .where('a.decided_window', '=', w).where('e.outcome', 'is not', null)
      .execute()).map((e) => ({ miner: e.miner_hotkey, outcome: e.outcome! }))

    const evolved = await trx.selectFrom('algorithms')
      .select(['id', 'miner_hotkey', 'task_type', 'state', 'consensus_score', 'repeat', 'source_assignment_id'])
      .where('decided_window', '=', w).where('is_seed', '=', 0n).where('miner_hotkey', 'is not', null)
      .orderBy('id').execute()
    const evolutions: EvolutionFact[] = []
    const sotaAtStart = new Map<string, number>()
    for (const a of evolved) {
      if (!sotaAtStart.has(a.task_type)) {
        const best = await trx.selectFrom('algorithms').select((eb) => eb.fn.max('consensus_score').as('best'))
          .where('task_type', '=', a.task_type).where('state', '=', 'scored').where('decided_window', '<', w).executeTakeFirst()
        sotaAtStart.set(a.task_type, Number(best?.best ?? 0))
      }
      const parentIds = (await trx.selectFrom('algorithm_parents').select('parent_id').where('algorithm_id', '=', a.id).execute()).map((p) => p.parent_id)
      const shownIds = a.source_assignment_id === null
        ? []
        : (await trx.selectFrom('assignment_items').select('algorithm_id')
            .where('assignment_id', '=', a.source_assignment_id).where('role', 'in', ['evaluate', 'seed']).execute()).map((i) => i.algorithm_id)
      evolutions.push({
        miner: a.miner_hotkey!,
        algorithmId: Number(a.id),
        score: a.state === 'scored' ? a.consensus_score : null,
        repeat: a.repeat,
        baselines: {
          sota: sotaAtStart.get(a.task_type) ?? 0,
          genealogy: await bestScore(trx, parentIds),
          local_evolver: await bestScore(trx, [...parentIds, ...shownIds]),
        },
      })
    }
    return computeWindowPoints(evaluations, evolutions, pointsParams(this.config))
  }
}

/** Best consensus score among the given algorithms (0 when none is scored). */
async function bestScore (db: Transaction<DB> | Database['db'], ids: bigint[]): Promise<number> {
  if (ids.length === 0) return 0
  const row = await db.selectFrom('algorithms').select((eb) => eb.fn.max('consensus_score').as('best'))
    .where('id', 'in', ids).where('state', '=', 'scored').executeTakeFirst()
  return Number(row?.best ?? 0)
}
