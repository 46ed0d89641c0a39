import type { Kysely } from 'kysely'
import { DslError, validateAlgorithm } from '../../domain/dsl/index.ts'
import { taskInputDim } from '../../domain/task-types.ts'
import type { Dialect } from '../database.ts'

const BATCH = 500
/** Stored texts already passed the size limit in force when they arrived; none is refused for size here. */
const NO_SIZE_LIMIT = 1 << 30

/**
 * Algorithms in the miners' DSL: every stored program is re-read as the miners' parser reads it for its
 * task's input dimension, and stored as the text their serializer writes, with their identity as hash and
 * the task's input_dim. The text as it was is kept in submitted_dsl when it differs, so nothing is lost,
 * and since old and new submissions hash alike, duplicate detection carries over. A program the miners'
 * grammar does not read keeps its text and hash and is marked dsl_readable = 0, so it is never handed
 * out again.
 */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable('algorithms').addColumn('submitted_dsl', 'text').execute()
  await db.schema
    .alterTable('algorithms')
    .addColumn('dsl_readable', 'bigint', (c) => c.notNull().defaultTo(1))
    .execute()
  // The migrator runs PostgreSQL migrations in a transaction but not SQLite ones; one transaction there too.
  if (db.isTransaction) await rewrite(db)
  else await db.transaction().execute(rewrite)
}

async function rewrite(db: Kysely<any>): Promise<void> {
  for (let after: bigint | number = -1; ; ) {
    const rows = await db
      .selectFrom('algorithms')
      .select(['id', 'task_type', 'algorithm_dsl'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute()
    if (rows.length === 0) return
    for (const row of rows) {
      const inputDim = taskInputDim(row.task_type)
      let update: Record<string, unknown>
      try {
        const validated = validateAlgorithm(row.algorithm_dsl, { inputDim, maxBytes: NO_SIZE_LIMIT })
        update = {
          algorithm_dsl: validated.canonical,
          algorithm_hash: validated.hash,
          submitted_dsl: validated.canonical === row.algorithm_dsl ? null : row.algorithm_dsl,
          input_dim: BigInt(inputDim),
        }
      } catch (err) {
        if (!(err instanceof DslError)) throw err
        update = { dsl_readable: 0n, input_dim: BigInt(inputDim) }
      }
      await db.updateTable('algorithms').set(update).where('id', '=', row.id).execute()
    }
    after = rows[rows.length - 1]!.id
  }
}
