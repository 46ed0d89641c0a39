import { sql, type Kysely } from 'kysely'
import type { Dialect } from '../database.ts'

/**
 * What the defences against collusion keep (README, "Rules of the pool"):
 *
 * - `algorithms.draw` and `miners.draw`: secret random numbers in [1, 2^31 - 2] that decide which miners an
 *   algorithm is offered to first. Existing rows get theirs here.
 * - `algorithms.sample_target`: how many evaluations the algorithm collects before it is judged (null: the
 *   configured n); adaptive n raises it. `algorithms.offered_at`: when its current slots were opened (null:
 *   when it was created); the offer widens from there.
 * - `miners.trust_agreements` / `trust_disagreements`: the evaluator's recent record of decided evaluations
 *   (its vote weight), scaled down to TRUST_HORIZON evaluations as it grows. Filled here from the outcomes
 *   stored so far; every decision adds its own.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const random =
    dialect === 'postgres' ? sql`floor(random() * 2147483646)::bigint + 1` : sql`(abs(random()) % 2147483646) + 1`
  await db.schema
    .alterTable('algorithms')
    .addColumn('draw', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema.alterTable('algorithms').addColumn('sample_target', 'bigint').execute()
  await db.schema.alterTable('algorithms').addColumn('offered_at', 'bigint').execute()
  await db.schema
    .alterTable('miners')
    .addColumn('draw', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema
    .alterTable('miners')
    .addColumn('trust_agreements', 'double precision', (c) => c.notNull().defaultTo(0))
    .execute()
  await db.schema
    .alterTable('miners')
    .addColumn('trust_disagreements', 'double precision', (c) => c.notNull().defaultTo(0))
    .execute()
  await sql`update algorithms set draw = ${random}`.execute(db)
  await sql`update miners set draw = ${random},
    trust_agreements = (select count(*) from evaluations e where e.miner_hotkey = miners.hotkey and e.outcome = 'agree'),
    trust_disagreements = (select count(*) from evaluations e where e.miner_hotkey = miners.hotkey and e.outcome = 'disagree')`.execute(
    db,
  )
}
