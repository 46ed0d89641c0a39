/**
 * Time to close a window and its epoch for 10,000 miners and 1,000,000 evaluations (about 333,000
 * algorithms evolved and decided in the window), on SQLite and on PostgreSQL.
 * Run: node --import tsx bench/epoch-close.bench.ts [--close-miners 10000] [--close-evaluations 1000000] [--store sqlite|postgres|both]
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { ManualClock } from '../src/clock.ts'
import { loadConfig } from '../src/config.ts'
import { encodeHotkey } from '../src/crypto/sr25519.ts'
import { createPoolContext, type PoolContext } from '../src/services/context.ts'
import { createPostgresStore, createSqliteStore } from '../test/load/support.ts'
import { flag, printTable, round, stores, writeResult } from './support.ts'

const minerCount = flag('close-miners', 10_000)
const evaluationCount = flag('close-evaluations', 1_000_000)
const EVALUATIONS_PER_ALGORITHM = 3
const algorithmCount = Math.ceil(evaluationCount / EVALUATIONS_PER_ALGORITHM)
const T0 = 1_700_000_000_000

async function seed(pool: PoolContext): Promise<void> {
  const db = pool.database.db
  const dialect = pool.database.dialect
  await sql`create table bench_miners (i bigint primary key, hotkey text not null)`.execute(db)
  for (let start = 0; start < minerCount; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, minerCount - start) }, (_, j) => ({
      i: start + j,
      key: randomBytes(32),
    }))
    await db
      .insertInto('miners')
      .values(
        rows.map((r) => ({
          hotkey: encodeHotkey(r.key),
          public_key: r.key.toString('hex'),
          created_at: BigInt(T0),
          last_seen: BigInt(T0),
          recipient_coldkey: encodeHotkey(randomBytes(32)),
          recipient_updated_at: BigInt(T0),
        })),
      )
      .execute()
    await sql`insert into bench_miners (i, hotkey) values ${sql.join(rows.map((r) => sql`(${r.i}, ${encodeHotkey(r.key)})`))}`.execute(
      db,
    )
  }
  await sql`update algorithms set state = 'scored', consensus_score = 0.5, decided_window = 0, decided_at = ${T0} where is_seed = 1`.execute(
    db,
  )
  const series =
    dialect === 'postgres'
      ? sql`select x from generate_series(0, ${algorithmCount - 1}) as x`
      : sql`with recursive seq(x) as (select 0 union all select x + 1 from seq where x < ${algorithmCount - 1}) select x from seq`
  await sql`insert into algorithms (task_type, algorithm_dsl, algorithm_hash, input_dim, state, consensus_score, miner_hotkey, is_seed, repeat,
      evaluation_count, created_at, created_window, decided_at, decided_window)
    select 'cifar10_binary', 's0 = 1', 'bench' || s.x, 16, 'scored', 0.45 + (s.x % 1000) / 10000.0, m.hotkey, 0, 'none', 3, ${T0}, 0, ${T0}, 0
    from (${series}) s join bench_miners m on m.i = s.x % ${minerCount}`.execute(db)
  await sql`insert into algorithm_parents (algorithm_id, parent_id) select id, 1 from algorithms where is_seed = 0`.execute(
    db,
  )
  await sql`insert into evaluations (algorithm_id, miner_hotkey, assignment_id, score, window_number, created_at, outcome)
    select a.id, m.hotkey, 'bench', a.consensus_score, 0, ${T0}, case when k.k = 2 and a.id % 10 = 0 then 'disagree' else 'agree' end
    from algorithms a
    cross join (select 0 as k union all select 1 union all select 2) k
    join bench_miners m on m.i = (a.id * 3 + k.k + 1) % ${minerCount}
    where a.is_seed = 0`.execute(db)
  if (dialect === 'postgres') await sql`analyze`.execute(db)
}

export async function benchEpochClose() {
  const results: Array<Record<string, string | number>> = []
  for (const kind of stores()) {
    const store = kind === 'sqlite' ? createSqliteStore('sotapool-bench-') : await createPostgresStore('sotapool_bench')
    const clock = new ManualClock(T0)
    const pool = await createPoolContext(loadConfig({ DATABASE_URL: store.url, LOG_LEVEL: 'silent' }), { clock })
    try {
      let t = performance.now()
      await seed(pool)
      const seedS = (performance.now() - t) / 1000
      const evaluations = Number(
        (
          await pool.database.db
            .selectFrom('evaluations')
            .select((eb) => eb.fn.countAll<bigint>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
      clock.advance(pool.config.windowBlocks * pool.config.blockTimeS * 1000)
      t = performance.now()
      await pool.windows.close(0)
      const windowS = (performance.now() - t) / 1000
      t = performance.now()
      await pool.epochs.close(0)
      const epochS = (performance.now() - t) / 1000
      t = performance.now()
      const verified = await pool.epochs.verify(0)
      const verifyS = (performance.now() - t) / 1000
      const meta = await pool.epochs.export(0)
      results.push({
        store: kind,
        miners: minerCount,
        evaluations,
        algorithms: algorithmCount,
        leaves: meta.num_of_leaves,
        seed_s: round(seedS),
        window_close_s: round(windowS, 2),
        epoch_close_s: round(epochS, 2),
        total_close_s: round(windowS + epochS, 2),
        verify_s: round(verifyS, 2),
        verify_match: String(verified.ok),
      })
    } finally {
      await pool.close()
      await store.drop()
    }
  }
  return results
}

if (process.argv[1]?.endsWith('epoch-close.bench.ts')) {
  const results = await benchEpochClose()
  printTable('window + epoch close', results)
  writeResult('epoch-close', { results })
}
