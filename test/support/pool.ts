/**
 * A whole pool for a test: fresh database, pinned clock, the real app driven through inject().
 * The clock starts at 1700000000 s so the shared auth vectors verify.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import { DRAW_MODULUS } from '../../src/domain/assignment.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { seededRandom } from '../../src/simulation/cheating.ts'
import { createTestDatabase } from './database.ts'

export const VECTOR_TIME_MS = 1_700_000_000_000

export interface TestPool {
  app: FastifyInstance
  pool: PoolContext
  clock: ManualClock
  /** The store's URL (a PostgreSQL test database, or `sqlite::memory:`). */
  url: string
  close(): Promise<void>
}

/** What every test pool runs with unless a test says otherwise: no background jobs, no rate limits, no logs. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  BACKGROUND_JOBS: 'false',
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_IP_PER_MINUTE: '0',
  LOG_LEVEL: 'silent',
}

const DEFAULTS = loadConfig(TEST_ENV)

/** One window at the configuration defaults (WINDOW_BLOCKS × BLOCK_TIME_S), in ms: 360 × 12 s. */
export const WINDOW_MS = DEFAULTS.windowBlocks * DEFAULTS.blockTimeS * 1000

export async function startTestPool(
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
  options: { logger?: FastifyBaseLogger } = {},
): Promise<TestPool> {
  const clock = new ManualClock(VECTOR_TIME_MS)
  const store = await createTestDatabase()
  const config = loadConfig({ ...TEST_ENV, ...env }, overrides)
  // The secret assignment draws from a fixed seed, so which miner is offered what replays exactly.
  const random = seededRandom(1)
  const draws = (): bigint => BigInt(1 + Math.floor(random() * (DRAW_MODULUS - 1)))
  const pool = await createPoolContext(config, { clock, database: store.database, draws })
  const app = await buildApp(pool, options)
  return {
    app,
    pool,
    clock,
    url: store.url,
    async close() {
      await app.close()
      await pool.verifier.close()
      await pool.blocks.close()
      await store.drop()
    },
  }
}

/** Runs `fn` against a fresh pool and always closes it. */
export async function withTestPool(env: Record<string, string>, fn: (t: TestPool) => Promise<void>): Promise<void> {
  const t = await startTestPool(env)
  try {
    await fn(t)
  } finally {
    await t.close()
  }
}

/** The built-in seed algorithms' ids in id order, of one task type or of all. */
export async function seedIds(t: Pick<TestPool, 'pool'>, taskType?: string): Promise<number[]> {
  const rows = await t.pool.database.db
    .selectFrom('algorithms')
    .select('id')
    .where('is_seed', '=', 1n)
    .$if(taskType !== undefined, (q) => q.where('task_type', '=', taskType!))
    .orderBy('id')
    .execute()
  return rows.map((r) => Number(r.id))
}
