/**
 * Closing windows (SPEC §6.2): once a window has ended, the facts decided in it become each miner's
 * window points, stored once. The `window_closes` key makes the close happen exactly once even when
 * several processes try; reputation is updated in the same transaction.
 */
import type { Transaction } from 'kysely'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { DB } from '../db/schema.ts'
import {
  computeWindowPoints,
  type EvaluationFact,
  type EvolutionFact,
  type MinerWindowPoints,
  type PointsParams,
} from '../domain/points.ts'
import type { PoolMetrics } from '../metrics.ts'
import { getMeta } from './pool-meta.ts'
import { bestScores } from './sota.ts'

export const pointsParams = (config: Config): PointsParams => ({
  evaluatorWeight: config.evaluatorWeight,
  evolverWeight: config.evolverWeight,
  baseline: config.evolverBaseline,
  repetitionScope: config.repetitionScope,
  repetitionPenalty: config.repetitionPenalty,
  minRewardActivity: config.minRewardActivity,
})

export class WindowService {
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly metrics: PoolMetrics,
    private readonly now: () => number,
    private readonly currentWindow: () => number,
  ) {}

  /** The window the pool started in (stored at first start); earlier windows hold nothing to close. */
  async firstWindow(): Promise<number> {
    return Number((await getMeta(this.database.db, 'first_window')) ?? '0')
  }

  /** The last closed window, or one before the pool's first window when none is closed. */
  async lastClosed(): Promise<number> {
    const row = await this.database.db
      .selectFrom('window_closes')
      .select((eb) => eb.fn.max('window_number').as('w'))
      .executeTakeFirst()
    if (row?.w !== null && row?.w !== undefined) return Number(row.w)
    return (await this.firstWindow()) - 1
  }

  /** Closes every ended window not closed yet, oldest first; returns the windows this call closed. */
  async closeEnded(): Promise<number[]> {
    const closed: number[] = []
    const current = this.currentWindow()
    for (let w = (await this.lastClosed()) + 1; w < current; w++) {
      if (await this.close(w)) closed.push(w)
    }
    return closed
  }

  /** Closes one ended window; false when it was already closed (by this or another process). */
  async close(windowNumber: number): Promise<boolean> {
    if (windowNumber >= this.currentWindow()) throw new Error(`window ${windowNumber} has not ended yet`)
    // The exclusive window lock waits for submissions still deciding in this window; later ones see it
    // closed and use the next.
    const closedNow = await this.database.transaction(
      async (trx) => {
        // ON CONFLICT DO NOTHING, not a caught unique violation: on PostgreSQL a failed statement aborts the
        // transaction and its commit throws, so the process that lost the race would report an error.
        const inserted = await trx
          .insertInto('window_closes')
          .values({ window_number: BigInt(windowNumber), closed_at: BigInt(this.now()) })
          .onConflict((oc) => oc.column('window_number').doNothing())
          .executeTakeFirst()
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false
        const rows = await this.computePoints(trx, windowNumber)
        const values = rows.map((r) => ({
          window_number: BigInt(windowNumber),
          miner_hotkey: r.miner,
          agreements: BigInt(r.agreements),
          disagreements: BigInt(r.disagreements),
          evaluations: BigInt(r.evaluations),
          evolutions: BigInt(r.evolutions),
          scored_evolutions: BigInt(r.scoredEvolutions),
          evaluator_points: r.evaluatorPoints,
          evolver_points: r.evolverPoints,
          penalty: r.penalty,
          points: r.points,
        }))
        for (let i = 0; i < values.length; i += 500)
          await trx
            .insertInto('window_points')
            .values(values.slice(i, i + 500))
            .execute()
        // Reputation is the running sum of window points: one statement adds this window's to every earner.
        await trx
          .updateTable('miners')
          .set((eb) => ({
            reputation: eb(
              'reputation',
              '+',
              eb
                .selectFrom('window_points as p')
                .select('p.points')
                .whereRef('p.miner_hotkey', '=', 'miners.hotkey')
                .where('p.window_number', '=', BigInt(windowNumber)),
            ),
          }))
          .where('hotkey', 'in', (eb) =>
            eb
              .selectFrom('window_points')
              .select('miner_hotkey')
              .where('window_number', '=', BigInt(windowNumber))
              .where('points', '>', 0),
          )
          .execute()
        return true
      },
      { windows: 'exclusive' },
    )
    if (closedNow) this.metrics.windowCloses.inc()
    return closedNow
  }

  /** The facts decided in the window, with every baseline resolved, combined by the pure points module. */
  async computePoints(trx: Transaction<DB> | Database['db'], windowNumber: number): Promise<MinerWindowPoints[]> {
    const w = BigInt(windowNumber)
    const evaluations: EvaluationFact[] = (
      await trx
        .selectFrom('evaluations as e')
        .innerJoin('algorithms as a', 'a.id', 'e.algorithm_id')
        .select((eb) => ['e.miner_hotkey', 'e.outcome', eb.fn.countAll<bigint>().as('n')])
        .where('a.decided_window', '=', w)
        .where('e.outcome', 'is not', null)
        .groupBy(['e.miner_hotkey', 'e.outcome'])
        .execute()
    ).map((e) => ({ miner: e.miner_hotkey, outcome: e.outcome!, count: Number(e.n) }))

    const decidedEvolutions = (qb: Transaction<DB> | Database['db']) =>
      qb
        .selectFrom('algorithms as a')
        .where('a.decided_window', '=', w)
        .where('a.is_seed', '=', 0n)
        .where('a.miner_hotkey', 'is not', null)
    const evolved = await decidedEvolutions(trx)
      .select(['a.id', 'a.miner_hotkey', 'a.task_type', 'a.state', 'a.consensus_score', 'a.repeat'])
      .orderBy('a.id')
      .execute()
    if (evolved.length === 0) return computeWindowPoints(evaluations, [], pointsParams(this.config))

    // Baseline inputs in three set queries (not per algorithm): SOTA before the window, the parents'
    // scores, and the scores of what each evolution's assignment showed.
    const sotaAtStart = await bestScores(trx, { beforeWindow: windowNumber })
    const parentScores = await decidedEvolutions(trx)
      .innerJoin('algorithm_parents as p', 'p.algorithm_id', 'a.id')
      .innerJoin('algorithms as parent', 'parent.id', 'p.parent_id')
      .select(['a.id as child', 'parent.consensus_score as score'])
      .where('parent.state', '=', 'scored')
      .execute()
    const shownScores = await decidedEvolutions(trx)
      .innerJoin('assignment_items as i', 'i.assignment_id', 'a.source_assignment_id')
      .innerJoin('algorithms as shown', 'shown.id', 'i.algorithm_id')
      .select(['a.id as child', 'shown.consensus_score as score'])
      .where('i.role', 'in', ['evaluate', 'recheck', 'seed'])
      .where('shown.state', '=', 'scored')
      .execute()
    const best = (rows: Array<{ child: bigint; score: number | null }>): Map<bigint, number> => {
      const out = new Map<bigint, number>()
      for (const r of rows) out.set(r.child, Math.max(out.get(r.child) ?? 0, r.score ?? 0))
      return out
    }
    const genealogy = best(parentScores)
    const shown = best(shownScores)

    const evolutions: EvolutionFact[] = evolved.map((a) => ({
      miner: a.miner_hotkey!,
      algorithmId: Number(a.id),
      score: a.state === 'scored' ? a.consensus_score : null,
      repeat: a.repeat,
      baselines: {
        sota: sotaAtStart.get(a.task_type) ?? 0,
        genealogy: genealogy.get(a.id) ?? 0,
        local_evolver: Math.max(genealogy.get(a.id) ?? 0, shown.get(a.id) ?? 0),
      },
    }))
    return computeWindowPoints(evaluations, evolutions, pointsParams(this.config))
  }
}
