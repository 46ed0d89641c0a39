import { sql, type Kysely } from 'kysely'
import type { Dialect } from '../database.ts'

/** The whole first schema. Amounts are BIGINT; times are unix milliseconds. */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  // One auto-increment id spelling per store: SQLite's rowid alias, PostgreSQL's identity column.
  const id = dialect === 'sqlite' ? 'integer' : 'bigint'
  const identity = (col: any) =>
    dialect === 'sqlite' ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity()

  await db.schema
    .createTable('pool_meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('miners')
    .addColumn('hotkey', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('recipient_coldkey', 'text')
    .addColumn('recipient_updated_at', 'bigint')
    .addColumn('reputation', 'double precision', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema.createIndex('miners_reputation').on('miners').columns(['reputation', 'hotkey']).execute()
  await db.schema.createIndex('miners_last_seen').on('miners').column('last_seen').execute()

  await db.schema
    .createTable('used_signatures')
    .addColumn('signature', 'text', (c) => c.primaryKey())
    .addColumn('hotkey', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('used_signatures_expiry').on('used_signatures').column('expires_at').execute()

  await db.schema
    .createTable('algorithms')
    .addColumn('id', id, identity)
    .addColumn('task_type', 'text', (c) => c.notNull())
    .addColumn('algorithm_dsl', 'text', (c) => c.notNull())
    .addColumn('algorithm_hash', 'text', (c) => c.notNull())
    .addColumn('input_dim', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('consensus_score', 'double precision')
    .addColumn('miner_hotkey', 'text')
    .addColumn('is_seed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('repeat', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('reject_reason', 'text')
    .addColumn('source_assignment_id', 'text')
    .addColumn('evaluation_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_window', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    .addColumn('decided_window', 'bigint')
    .addColumn('verified_at', 'bigint')
    .addColumn('verified_by', 'text')
    .execute()
  await db.schema
    .createIndex('algorithms_pick')
    .on('algorithms')
    .columns(['task_type', 'state', 'evaluation_count', 'id'])
    .execute()
  await db.schema
    .createIndex('algorithms_best')
    .on('algorithms')
    .columns(['task_type', 'state', 'consensus_score'])
    .execute()
  await db.schema.createIndex('algorithms_hash').on('algorithms').column('algorithm_hash').execute()
  await db.schema.createIndex('algorithms_author').on('algorithms').column('miner_hotkey').execute()
  await db.schema.createIndex('algorithms_decided').on('algorithms').column('decided_window').execute()

  await db.schema
    .createTable('algorithm_parents')
    .addColumn('algorithm_id', 'bigint', (c) => c.notNull())
    .addColumn('parent_id', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('algorithm_parents_pk', ['algorithm_id', 'parent_id'])
    .execute()

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('miner_hotkey', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('task_type', 'text', (c) => c.notNull())
    .addColumn('window_number', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('timeout_at', 'bigint', (c) => c.notNull())
    .addColumn('submitted_at', 'bigint')
    .addColumn('evolve_budget', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  // The database itself refuses a second active assignment for a miner, whichever process asks.
  await db.schema
    .createIndex('assignments_one_active')
    .on('assignments')
    .column('miner_hotkey')
    .unique()
    .where(sql.ref('status'), '=', 'active')
    .execute()
  await db.schema
    .createIndex('assignments_status_timeout')
    .on('assignments')
    .columns(['status', 'timeout_at'])
    .execute()
  await db.schema.createIndex('assignments_issued').on('assignments').column('issued_at').execute()

  await db.schema
    .createTable('assignment_items')
    .addColumn('assignment_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('algorithm_id', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('assignment_items_pk', ['assignment_id', 'role', 'algorithm_id'])
    .execute()
  await db.schema
    .createIndex('assignment_items_algorithm')
    .on('assignment_items')
    .columns(['algorithm_id', 'role'])
    .execute()

  await db.schema
    .createTable('lease_windows')
    .addColumn('miner_hotkey', 'text', (c) => c.notNull())
    .addColumn('window_number', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('lease_windows_pk', ['miner_hotkey', 'window_number'])
    .execute()

  await db.schema
    .createTable('evaluations')
    .addColumn('id', id, identity)
    .addColumn('algorithm_id', 'bigint', (c) => c.notNull())
    .addColumn('miner_hotkey', 'text', (c) => c.notNull())
    .addColumn('assignment_id', 'text', (c) => c.notNull())
    .addColumn('score', 'double precision')
    .addColumn('window_number', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('outcome', 'text')
    .execute()
  await db.schema
    .createIndex('evaluations_one_per_miner')
    .on('evaluations')
    .columns(['algorithm_id', 'miner_hotkey'])
    .unique()
    .execute()
  await db.schema.createIndex('evaluations_miner').on('evaluations').columns(['miner_hotkey', 'created_at']).execute()

  await db.schema
    .createTable('window_closes')
    .addColumn('window_number', 'bigint', (c) => c.primaryKey())
    .addColumn('closed_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('window_points')
    .addColumn('window_number', 'bigint', (c) => c.notNull())
    .addColumn('miner_hotkey', 'text', (c) => c.notNull())
    .addColumn('agreements', 'bigint', (c) => c.notNull())
    .addColumn('disagreements', 'bigint', (c) => c.notNull())
    .addColumn('evaluations', 'bigint', (c) => c.notNull())
    .addColumn('evolutions', 'bigint', (c) => c.notNull())
    .addColumn('scored_evolutions', 'bigint', (c) => c.notNull())
    .addColumn('evaluator_points', 'double precision', (c) => c.notNull())
    .addColumn('evolver_points', 'double precision', (c) => c.notNull())
    .addColumn('penalty', 'double precision', (c) => c.notNull())
    .addColumn('points', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('window_points_pk', ['window_number', 'miner_hotkey'])
    .execute()
  await db.schema.createIndex('window_points_miner').on('window_points').column('miner_hotkey').execute()

  await db.schema
    .createTable('epochs')
    .addColumn('epoch_id', 'bigint', (c) => c.primaryKey())
    .addColumn('root', 'text', (c) => c.notNull())
    .addColumn('num_of_leaves', 'bigint', (c) => c.notNull())
    .addColumn('total_units', 'bigint', (c) => c.notNull())
    .addColumn('epoch_units', 'bigint', (c) => c.notNull())
    .addColumn('fee_units', 'bigint', (c) => c.notNull())
    .addColumn('undistributed_units', 'bigint', (c) => c.notNull())
    .addColumn('budget_units', 'bigint', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .addColumn('block_start', 'bigint', (c) => c.notNull())
    .addColumn('block_end', 'bigint', (c) => c.notNull())
    .addColumn('closed_at', 'bigint', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('epoch_payouts')
    .addColumn('epoch_id', 'bigint', (c) => c.notNull())
    .addColumn('hotkey', 'text', (c) => c.notNull())
    .addColumn('points', 'double precision', (c) => c.notNull())
    .addColumn('micro_points', 'bigint', (c) => c.notNull())
    .addColumn('units', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('epoch_payouts_pk', ['epoch_id', 'hotkey'])
    .execute()
  await db.schema.createIndex('epoch_payouts_hotkey').on('epoch_payouts').column('hotkey').execute()

  await db.schema
    .createTable('epoch_leaves')
    .addColumn('epoch_id', 'bigint', (c) => c.notNull())
    .addColumn('leaf_index', 'bigint', (c) => c.notNull())
    .addColumn('hotkey', 'text', (c) => c.notNull())
    .addColumn('recipient_coldkey', 'text', (c) => c.notNull())
    .addColumn('amount_units', 'bigint', (c) => c.notNull())
    .addColumn('leaf', 'text', (c) => c.notNull())
    .addColumn('proof', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('epoch_leaves_pk', ['epoch_id', 'leaf_index'])
    .execute()
  await db.schema
    .createIndex('epoch_leaves_hotkey')
    .on('epoch_leaves')
    .columns(['epoch_id', 'hotkey'])
    .unique()
    .execute()

  await db.schema
    .createTable('claims')
    .addColumn('epoch_id', 'bigint', (c) => c.notNull())
    .addColumn('hotkey', 'text', (c) => c.notNull())
    .addColumn('leaf_index', 'bigint', (c) => c.notNull())
    .addColumn('recipient_coldkey', 'text', (c) => c.notNull())
    .addColumn('amount_units', 'bigint', (c) => c.notNull())
    .addColumn('transferred_units', 'bigint', (c) => c.notNull())
    .addColumn('claimed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('claims_pk', ['epoch_id', 'hotkey'])
    .execute()

  await db.schema
    .createTable('hotkey_claims')
    .addColumn('hotkey', 'text', (c) => c.primaryKey())
    .addColumn('claimed_units', 'bigint', (c) => c.notNull())
    .execute()
}
