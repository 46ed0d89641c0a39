import { sql, type Kysely } from 'kysely'
import type { Dialect } from '../database.ts'

/**
 * Indexes for the queries every lease runs, so their cost stays flat as decided algorithms accumulate:
 * gossip reads the most recently decided algorithms of a task type (it sorted every scored row before),
 * and the seed set reads the best ones in its exact order (score descending, ties by id).
 */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createIndex('algorithms_recent')
    .on('algorithms')
    .columns(['task_type', 'state', 'decided_at', 'id'])
    .execute()
  await db.schema
    .createIndex('algorithms_seed_order')
    .on('algorithms')
    .expression(sql`task_type, state, consensus_score desc, id`)
    .execute()
}
