// The monitor's alerts through GET /api/v1/monitor/summary: each condition is created for real in the
// store (or the block source), its alert appears with its code, and it goes once the condition is fixed.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BackgroundJobs } from '../../src/jobs/background-jobs.ts'
import { addPoints, closeThrough, craftMiner, randomAddress, WINDOW_MS } from '../support/epochs.ts'
import { FakeChain, waitFor } from '../support/fake-chain.ts'
import { TestMiner } from '../support/miner.ts'
import { startTestPool, VECTOR_TIME_MS, type TestPool } from '../support/pool.ts'

const BLOCK_MS = 12_000
const silent = { error: () => {}, info: () => {}, warn: () => {} } as unknown as ConstructorParameters<
  typeof BackgroundJobs
>[1]

interface AlertItem {
  code: string
  severity: string
  message: string
}

async function summary(t: TestPool): Promise<any> {
  const response = await t.app.inject('/api/v1/monitor/summary')
  assert.equal(response.statusCode, 200, response.body)
  return response.json()
}

async function alerts(t: TestPool): Promise<AlertItem[]> {
  return (await summary(t)).alerts.items
}

async function alertOf(t: TestPool, code: string): Promise<AlertItem | undefined> {
  return (await alerts(t)).find((a) => a.code === code)
}

/** Moves the clock so that `epoch` became ready to close exactly `blocks` blocks ago. */
function readyFor(t: TestPool, epoch: number, blocks: number): void {
  const ms = (blocks - t.pool.epochs.blocksSinceReady(epoch)) * BLOCK_MS
  assert.ok(ms >= 0, 'the clock only moves forward')
  t.clock.advance(ms)
}

describe('monitor alerts', () => {
  it('NO_ACTIVE_MINERS until a miner is seen, and again an hour after it was last seen', async () => {
    const t = await startTestPool()
    try {
      assert.deepEqual(await alertOf(t, 'NO_ACTIVE_MINERS'), {
        code: 'NO_ACTIVE_MINERS',
        severity: 'warn',
        message: 'no miner was seen in the last hour',
      })
      await craftMiner(t.pool)
      assert.equal(await alertOf(t, 'NO_ACTIVE_MINERS'), undefined)
      t.clock.advance(3_600_000)
      assert.equal(await alertOf(t, 'NO_ACTIVE_MINERS'), undefined, 'seen exactly an hour ago still counts')
      t.clock.advance(1)
      assert.ok(await alertOf(t, 'NO_ACTIVE_MINERS'))
    } finally {
      await t.close()
    }
  })

  it('EPOCH_CLOSER_STOPPED while this process runs no background jobs', async () => {
    const t = await startTestPool({ JOB_INTERVAL_S: '3600' })
    try {
      assert.equal((await alertOf(t, 'EPOCH_CLOSER_STOPPED'))?.severity, 'warn')
      const jobs = new BackgroundJobs(t.pool, silent)
      jobs.start()
      try {
        assert.equal(await alertOf(t, 'EPOCH_CLOSER_STOPPED'), undefined)
      } finally {
        await jobs.stop()
      }
      assert.ok(await alertOf(t, 'EPOCH_CLOSER_STOPPED'))
    } finally {
      await t.close()
    }
  })

  it('EPOCH_CLOSE_PENDING after the grace period (critical for two epochs), EPOCH_OVERDUE after 5 minutes, both gone once closed', async () => {
    const t = await startTestPool()
    try {
      assert.deepEqual(await closeThrough(t, 0), [0])
      // ALERT_GRACE_S 60 at 12 s blocks: pending from 5 blocks after the epoch became ready.
      readyFor(t, 1, 4)
      assert.equal(await alertOf(t, 'EPOCH_CLOSE_PENDING'), undefined, 'within the grace period')
      assert.deepEqual((await summary(t)).epochs.pending_close, [])
      readyFor(t, 1, 5)
      assert.deepEqual(await alertOf(t, 'EPOCH_CLOSE_PENDING'), {
        code: 'EPOCH_CLOSE_PENDING',
        severity: 'warn',
        message: 'epochs ready but not closed: 1',
      })
      assert.deepEqual((await summary(t)).epochs.pending_close, [1])
      // Overdue once ready for 5 minutes or more: 25 blocks.
      readyFor(t, 1, 24)
      assert.equal(await alertOf(t, 'EPOCH_OVERDUE'), undefined)
      readyFor(t, 1, 25)
      assert.deepEqual(await alertOf(t, 'EPOCH_OVERDUE'), {
        code: 'EPOCH_OVERDUE',
        severity: 'critical',
        message: 'epochs ready for 5 minutes or more and not closed: 1',
      })
      readyFor(t, 2, 5)
      assert.deepEqual(await alertOf(t, 'EPOCH_CLOSE_PENDING'), {
        code: 'EPOCH_CLOSE_PENDING',
        severity: 'critical',
        message: 'epochs ready but not closed: 1, 2',
      })
      assert.equal((await summary(t)).alerts.overall, 'critical')

      assert.deepEqual(await t.pool.epochs.closeReady(), [1, 2])
      const after = await summary(t)
      assert.deepEqual(after.epochs.pending_close, [])
      assert.deepEqual(
        after.alerts.items.filter((a: AlertItem) => a.code.startsWith('EPOCH_CLOSE_P') || a.code === 'EPOCH_OVERDUE'),
        [],
      )
    } finally {
      await t.close()
    }
  })

  it('EPOCH_CLOSE_FAILING with its cause while a close fails, gone once the data is repaired and the epoch closes', async () => {
    const t = await startTestPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' })
    try {
      const bad = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, bad.hotkey, Number.POSITIVE_INFINITY)
      await t.pool.database.db
        .insertInto('window_closes')
        .values({ window_number: 0n, closed_at: BigInt(VECTOR_TIME_MS) })
        .execute()
      t.clock.advance(WINDOW_MS)
      await assert.rejects(t.pool.epochs.closeReady(), /points must be a finite number/)
      await assert.rejects(t.pool.epochs.closeReady(), /points must be a finite number/)
      const alert = await alertOf(t, 'EPOCH_CLOSE_FAILING')
      assert.equal(alert?.severity, 'critical')
      assert.match(
        alert!.message,
        /^epoch 0 failed to close \(2 attempt\(s\) since 2023-11-14T23:25:20Z, retried every run\): payouts: points must be a finite number/,
      )

      await t.pool.database.db
        .updateTable('window_points')
        .set({ points: 3, evaluator_points: 3 })
        .where('miner_hotkey', '=', bad.hotkey)
        .execute()
      assert.deepEqual(await t.pool.epochs.closeReady(), [0])
      assert.equal(await alertOf(t, 'EPOCH_CLOSE_FAILING'), undefined)
    } finally {
      await t.close()
    }
  })

  it('OVERDUE_LEASES once a lease is past its timeout by the grace period, gone once leases are expired', async () => {
    const t = await startTestPool({ LEASE_TTL_S: '60' })
    try {
      const [miner] = await TestMiner.many(t.app, 1)
      await miner!.leaseOk()
      // Timeout after 60 s, grace 60 s: overdue from 120 s on.
      t.clock.advance(120_000 - 1)
      assert.equal(await alertOf(t, 'OVERDUE_LEASES'), undefined, 'within the grace period')
      assert.equal((await summary(t)).leases.overdue_active, 0)
      t.clock.advance(1)
      assert.deepEqual(await alertOf(t, 'OVERDUE_LEASES'), {
        code: 'OVERDUE_LEASES',
        severity: 'warn',
        message: '1 active assignment(s) past their timeout not expired yet',
      })
      assert.equal((await summary(t)).leases.overdue_active, 1)
      assert.equal(await new BackgroundJobs(t.pool, silent).expireLeases(), 1)
      assert.equal(await alertOf(t, 'OVERDUE_LEASES'), undefined)
    } finally {
      await t.close()
    }
  })

  it('ZERO_EVALUATION_LEASES when more than half of at least 5 recent leases carried no evaluation', async () => {
    const t = await startTestPool()
    try {
      const idle = await TestMiner.many(t.app, 5, 'idle')
      for (const miner of idle.slice(0, 4)) {
        const lease = await miner.leaseOk()
        await miner.submitLeaseOk(lease.lease_id, { evaluations: [] })
      }
      assert.equal(await alertOf(t, 'ZERO_EVALUATION_LEASES'), undefined, 'fewer than 5 leases')
      const lease = await idle[4]!.leaseOk()
      await idle[4]!.submitLeaseOk(lease.lease_id, { evaluations: [] })
      assert.deepEqual(await alertOf(t, 'ZERO_EVALUATION_LEASES'), {
        code: 'ZERO_EVALUATION_LEASES',
        severity: 'warn',
        message: '100% of leases submitted in the last 15 minutes carried no evaluation',
      })
      assert.equal((await summary(t)).leases.zero_evaluation_ratio, 1)
      // The leases leave the last 15 minutes.
      t.clock.advance(15 * 60_000)
      assert.ok(await alertOf(t, 'ZERO_EVALUATION_LEASES'), 'submitted exactly 15 minutes ago still counts')
      t.clock.advance(1)
      assert.equal((await summary(t)).leases.zero_evaluation_ratio, 0)
      assert.equal(await alertOf(t, 'ZERO_EVALUATION_LEASES'), undefined)
    } finally {
      await t.close()
    }
  })

  it('DATABASE_UNREACHABLE when the database does not answer its ping', async () => {
    const t = await startTestPool()
    const ping = t.pool.database.ping
    try {
      assert.equal(await alertOf(t, 'DATABASE_UNREACHABLE'), undefined)
      t.pool.database.ping = async () => false
      assert.deepEqual(await alertOf(t, 'DATABASE_UNREACHABLE'), {
        code: 'DATABASE_UNREACHABLE',
        severity: 'critical',
        message: 'the database does not answer',
      })
      t.pool.database.ping = ping
      assert.equal(await alertOf(t, 'DATABASE_UNREACHABLE'), undefined)
    } finally {
      t.pool.database.ping = ping
      await t.close()
    }
  })

  it('CHAIN_STALE when the chain has given no block for more than 5 minutes, gone with the next block', async () => {
    const chain = new FakeChain(7200)
    await chain.start()
    let t: TestPool | undefined
    try {
      t = await startTestPool({ SUBTENSOR_CHAIN_ENDPOINT: chain.url })
      const pool = t
      await waitFor(() => pool.pool.blocks.currentBlock() === 7200, 15_000)
      assert.equal(await alertOf(t, 'CHAIN_STALE'), undefined)
      t.clock.advance(5 * 60_000)
      assert.equal(await alertOf(t, 'CHAIN_STALE'), undefined, 'exactly 5 minutes is not stale yet')
      t.clock.advance(1_000)
      assert.deepEqual(await alertOf(t, 'CHAIN_STALE'), {
        code: 'CHAIN_STALE',
        severity: 'critical',
        message: 'no block from the chain since 2023-11-14T22:13:20Z',
      })
      chain.produce()
      await waitFor(() => pool.pool.blocks.currentBlock() === 7201)
      assert.equal(await alertOf(t, 'CHAIN_STALE'), undefined)
    } finally {
      try {
        if (t !== undefined) await t.close()
      } finally {
        await chain.stop()
      }
    }
  })
})
