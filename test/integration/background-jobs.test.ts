// The background jobs cannot be stopped for good by data: a close that fails is retried on every run,
// its cause is a critical alert in the monitor summary, /health is degraded while the epoch is overdue,
// and once the data is repaired the next run closes the epoch and the alert goes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BackgroundJobs } from '../../src/jobs/background-jobs.ts'
import { addPoints, craftMiner, randomAddress, WINDOW_MS } from '../support/epochs.ts'
import { startTestPool, VECTOR_TIME_MS } from '../support/pool.ts'

const silent = { error: () => {}, info: () => {}, warn: () => {} } as unknown as ConstructorParameters<
  typeof BackgroundJobs
>[1]

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('the background jobs under bad data', () => {
  it('retries a failing close, reports its cause as critical, degrades /health while overdue, and recovers', async () => {
    const t = await startTestPool({
      JOB_INTERVAL_S: '1',
      EPOCH_BUDGET_UNITS: '1000',
      POOL_FEE_BPS: '0',
      MINER_CAP_BPS: '0',
    })
    const closer = new BackgroundJobs(t.pool, silent)
    try {
      const good = await craftMiner(t.pool, { recipient: await randomAddress() })
      const bad = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, good.hotkey, 1)
      // Points no payout can be computed from: the close of epoch 0 throws until they are repaired.
      await addPoints(t.pool, 0, bad.hotkey, Number.POSITIVE_INFINITY)
      await t.pool.database.db
        .insertInto('window_closes')
        .values({ window_number: 0n, closed_at: BigInt(VECTOR_TIME_MS) })
        .execute()
      t.clock.advance(WINDOW_MS + 6 * 60_000) // epoch 0 ready for 6 minutes

      const summary = async (): Promise<any> => (await t.app.inject('/api/v1/monitor/summary')).json()
      closer.start()
      await until('two attempts have failed', async () => ((await t.pool.epochs.closeFailure())?.attempts ?? 0) >= 2)
      const failing = (await summary()).alerts
      assert.equal(failing.overall, 'critical')
      const alert = failing.items.find((a: { code: string }) => a.code === 'EPOCH_CLOSE_FAILING')
      assert.equal(alert.severity, 'critical')
      assert.match(
        alert.message,
        /^epoch 0 failed to close \(\d+ attempt\(s\) since .*\): payouts: points must be a finite number/,
      )
      assert.ok(failing.items.some((a: { code: string }) => a.code === 'EPOCH_OVERDUE'))
      const degraded = await t.app.inject('/health')
      assert.equal(degraded.statusCode, 503)
      assert.equal(degraded.json().status, 'degraded')
      assert.deepEqual(degraded.json().epoch.overdue, [0])

      await t.pool.database.db
        .updateTable('window_points')
        .set({ points: 3, evaluator_points: 3 })
        .where('miner_hotkey', '=', bad.hotkey)
        .execute()
      await until('the next run closes epoch 0', async () => (await t.pool.epochs.lastClosed()) === 0)
      await until('the failure is forgotten', async () => (await t.pool.epochs.closeFailure()) === undefined)
      const payouts = await t.pool.database.db
        .selectFrom('epoch_payouts')
        .select(['hotkey', 'units'])
        .orderBy('units')
        .execute()
      assert.deepEqual(
        payouts.map((p) => [p.hotkey, BigInt(p.units)]),
        [
          [good.hotkey, 250n],
          [bad.hotkey, 750n],
        ],
      )
      const healthy = await t.app.inject('/health')
      assert.equal(healthy.statusCode, 200)
      assert.deepEqual(healthy.json().epoch.overdue, [])
      assert.ok(
        !(await summary()).alerts.items.some((a: { code: string }) => a.code.startsWith('EPOCH_')),
        'no epoch alert is left',
      )
    } finally {
      await closer.stop()
      await t.close()
    }
  })

  it('run under the process name clients know, epoch-closer, in /health and the monitor summary', async () => {
    const t = await startTestPool({ JOB_INTERVAL_S: '3600' })
    const jobs = new BackgroundJobs(t.pool, silent)
    const stopped = async (): Promise<boolean> =>
      (await t.app.inject('/api/v1/monitor/summary'))
        .json()
        .alerts.items.some((a: { code: string }) => a.code === 'EPOCH_CLOSER_STOPPED')
    try {
      assert.ok(await stopped())
      jobs.start()
      assert.deepEqual((await t.app.inject('/health')).json().onchain_runtime.processes, [
        { name: 'epoch-closer', running: true },
      ])
      assert.ok(!(await stopped()))
    } finally {
      await jobs.stop()
    }
    try {
      assert.deepEqual((await t.app.inject('/health')).json().onchain_runtime.processes, [
        { name: 'epoch-closer', running: false },
      ])
      assert.ok(await stopped())
    } finally {
      await t.close()
    }
  })

  it("an epoch just ready is pending, not overdue: /health stays healthy for the closer's first minutes", async () => {
    const t = await startTestPool()
    try {
      t.clock.advance(WINDOW_MS + 60_000)
      const health = await t.app.inject('/health')
      assert.equal(health.statusCode, 200)
      assert.deepEqual(health.json().epoch.overdue, [])
      t.clock.advance(5 * 60_000)
      assert.deepEqual((await t.app.inject('/health')).json().epoch.overdue, [0])
      assert.deepEqual(await t.pool.epochs.closeReady(), [0])
      assert.equal((await t.app.inject('/health')).statusCode, 200)
    } finally {
      await t.close()
    }
  })
})
