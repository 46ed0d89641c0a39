/** SOTA: the best consensus score per task type (0 before any algorithm is scored). */
import type { Queryable } from '../db/database.ts'

export async function sotaByTaskType(db: Queryable, taskTypes: readonly string[]): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('algorithms')
    .select((eb) => ['task_type', eb.fn.max('consensus_score').as('best')])
    .where('state', '=', 'scored')
    .groupBy('task_type')
    .execute()
  const sota: Record<string, number> = Object.fromEntries(taskTypes.map((t) => [t, 0]))
  for (const row of rows) sota[row.task_type] = Number(row.best ?? 0)
  return sota
}
