import type { Kysely } from 'kysely'
import type { Dialect } from '../database.ts'

/** Bans per hotkey, and an index that lets retention find old evaluations without a full scan. */
export async function up(db: Kysely<any>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('miner_bans')
    .addColumn('hotkey', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('banned_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('evaluations_created').on('evaluations').column('created_at').execute()
}
