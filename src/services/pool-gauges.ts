/**
 * Gauges of the pool's state for `/metrics`, read from the database when Prometheus scrapes (so every
 * process reports the same shared state): windows and epochs, close lag, miners, leases, SOTA and
 * credit waiting for a recipient. One count is this process's own: its transactions run again after a
 * deadlock (kept by the database layer).
 */
import { Counter, Gauge } from 'prom-client'
import { toNumber } from '../db/database.ts'
import { windowBlocks } from '../domain/tempo.ts'
import type { PoolContext } from './context.ts'
import { awaitingRecipient, minPayoutOf } from './credit.ts'

export function registerPoolGauges(pool: PoolContext): void {
  const registry = pool.metrics.registry
  if (registry.getSingleMetric('sotapool_current_window') !== undefined) return
  const gauge = (
    name: string,
    help: string,
    collect: (g: Gauge) => Promise<void> | void,
    labelNames: string[] = [],
  ): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await collect(this)
      },
    })
  }
  const db = pool.database.db
  gauge('sotapool_current_window', 'The window the pool is in', (g) => {
    g.set(pool.currentWindow().windowNumber)
  })
  gauge('sotapool_current_epoch', 'The epoch the pool is in', (g) => {
    g.set(pool.currentEpoch())
  })
  gauge('sotapool_last_closed_window', 'The last closed window (-1: none)', async (g) => {
    g.set(await pool.windows.lastClosed())
  })
  gauge('sotapool_last_closed_epoch', 'The last closed epoch (-1: none)', async (g) => {
    g.set((await pool.epochs.lastClosed()) ?? -1)
  })
  gauge(
    'sotapool_window_close_lag_seconds',
    'How long the oldest ended window has waited to be closed (0 when every ended window is closed)',
    async (g) => {
      const next = (await pool.windows.lastClosed()) + 1
      const { windowNumber, block } = pool.currentWindow()
      g.set(next >= windowNumber ? 0 : (block - windowBlocks(next, pool.tempo).last - 1) * pool.tempo.blockTimeS)
    },
  )
  gauge('sotapool_active_miners', 'Miners seen in the last hour', async (g) => {
    g.set((await pool.miners.counts(pool.clock.now())).activeLastHour)
  })
  new Counter({
    name: 'sotapool_db_transactions_retried_total',
    help: "This process's transactions run again after a PostgreSQL deadlock or serialization failure",
    registers: [registry],
    collect() {
      // The database layer counts them; the counter shows that count at each scrape.
      this.reset()
      this.inc(pool.database.retried)
    },
  })
  gauge('sotapool_active_leases', 'Active leases and batches not past their timeout', async (g) => {
    const row = await db
      .selectFrom('assignments')
      .select((eb) => eb.fn.countAll<bigint>().as('n'))
      .where('status', '=', 'active')
      .where('timeout_at', '>', BigInt(pool.clock.now()))
      .executeTakeFirstOrThrow()
    g.set(toNumber(row.n))
  })
  gauge(
    'sotapool_sota_score',
    'Best consensus score per task type',
    async (g) => {
      for (const [taskType, score] of Object.entries(await pool.sotaByTaskType())) g.set({ task_type: taskType }, score)
    },
    ['task_type'],
  )
  gauge(
    'sotapool_credit_awaiting_recipient_units',
    'Cumulative credit through the last closed epoch of hotkeys without a recipient coldkey (no leaf)',
    async (g) => {
      const last = await db
        .selectFrom('epochs')
        .select(['epoch_id', 'params'])
        .orderBy('epoch_id', 'desc')
        .limit(1)
        .executeTakeFirst()
      g.set(
        last === undefined
          ? 0
          : Number((await awaitingRecipient(db, Number(last.epoch_id), minPayoutOf(last.params), 0)).units),
      )
    },
  )
  gauge(
    'sotapool_credit_awaiting_recipient_miners',
    'Hotkeys credited through the last closed epoch that wait for a recipient coldkey',
    async (g) => {
      const last = await db
        .selectFrom('epochs')
        .select(['epoch_id', 'params'])
        .orderBy('epoch_id', 'desc')
        .limit(1)
        .executeTakeFirst()
      g.set(
        last === undefined
          ? 0
          : (await awaitingRecipient(db, Number(last.epoch_id), minPayoutOf(last.params), 0)).miners,
      )
    },
  )
}
