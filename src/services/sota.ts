/**
 * SOTA: the best consensus score per task type, over scored algorithms (0 before any is scored). Every
 * SOTA query of the pool is here: the best per task type (now, or before a window, for the points
 * baseline), the algorithm holding it, and how it grew over time.
 */
import { sql } from 'kysely'
import { isoTime } from '../clock.ts'
import type { Queryable } from '../db/database.ts'

/** The best score of each task type that has a scored algorithm, optionally only those decided before a window. */
export async function bestScores(db: Queryable, options: { beforeWindow?: number } = {}): Promise<Map<string, number>> {
  let q = db
    .selectFrom('algorithms')
    .select((eb) => ['task_type', eb.fn.max('consensus_score').as('best')])
    .where('state', '=', 'scored')
  if (options.beforeWindow !== undefined) q = q.where('decided_window', '<', BigInt(options.beforeWindow))
  const rows = await q.groupBy('task_type').execute()
  return new Map(rows.map((r) => [r.task_type, Number(r.best ?? 0)]))
}

/** The SOTA of every configured task type (0 for one with no scored algorithm), and of any other stored. */
export async function sotaByTaskType(db: Queryable, taskTypes: readonly string[]): Promise<Record<string, number>> {
  const sota: Record<string, number> = Object.fromEntries(taskTypes.map((t) => [t, 0]))
  for (const [taskType, best] of await bestScores(db)) sota[taskType] = best
  return sota
}

/** The algorithm holding a task type's SOTA: the best score, the earliest decided among equals. */
export async function sotaOf(db: Queryable, taskType: string) {
  const best = await db
    .selectFrom('algorithms')
    .select(['id', 'consensus_score', 'miner_hotkey', 'decided_window', 'decided_at'])
    .where('task_type', '=', taskType)
    .where('state', '=', 'scored')
    .orderBy('consensus_score', 'desc')
    .orderBy('decided_at', 'asc')
    .orderBy('id', 'asc')
    .limit(1)
    .executeTakeFirst()
  return {
    task_type: taskType,
    sota_threshold: best?.consensus_score ?? 0,
    algorithm_id: best === undefined ? null : Number(best.id),
    miner_hotkey: best?.miner_hotkey ?? null,
    window_number:
      best?.decided_window === null || best?.decided_window === undefined ? null : Number(best.decided_window),
    updated_at: isoTime(best?.decided_at),
  }
}

/**
 * How a task type's SOTA grew: one point per scored algorithm in decision order (decided_at, then id),
 * each with its own score and the running best up to it. `limit` keeps the newest points, whose running
 * best still counts every earlier algorithm.
 */
export async function sotaHistory(db: Queryable, taskType: string, limit: number) {
  // The window function runs over every scored algorithm before ORDER BY/LIMIT pick the newest ones.
  const rows = await db
    .selectFrom('algorithms')
    .select(['id', 'consensus_score', 'decided_at', 'decided_window'])
    .select(
      sql<number>`max(consensus_score) over (order by decided_at, id rows between unbounded preceding and current row)`.as(
        'sota',
      ),
    )
    .where('task_type', '=', taskType)
    .where('state', '=', 'scored')
    .where('decided_at', 'is not', null)
    .orderBy('decided_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return {
    task_type: taskType,
    points: rows.reverse().map((r) => ({
      window_number: Number(r.decided_window ?? 0),
      decided_at: isoTime(r.decided_at)!,
      consensus_score: Number(r.consensus_score ?? 0),
      algorithm_id: Number(r.id),
      sota: Number(r.sota),
    })),
  }
}
