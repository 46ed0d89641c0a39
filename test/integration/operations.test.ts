// What operators rely on while the pool runs: bans, maintenance mode, /metrics gauges, alerts with a
// grace period, request log lines and the start-up line, and retention that keeps what epochs need.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { startLine } from '../../src/server.ts'
import { pruneEvaluations } from '../../src/services/retention.ts'
import { withTestPool, startTestPool } from '../support/pool.ts'
import { evolvedProgram, TestMiner } from '../support/miner.ts'
import { addPoints, closeThrough, craftMiner, earnByEvaluating, randomAddress, WINDOW_MS } from '../support/epochs.ts'

describe('operator controls', () => {
  it('a banned key gets a clear 403 on every signed route, loses its lease, keeps its earned credit; unban restores it', async () => {
    await withTestPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const miner = await TestMiner.create(t.app, '//banned')
      assert.equal((await miner.setRecipient(await randomAddress())).statusCode, 200)
      await addPoints(t.pool, 0, miner.hotkey, 2)
      assert.deepEqual(await closeThrough(t, 0), [0])
      const lease = await miner.lease()
      assert.equal(lease.statusCode, 200, lease.body)

      assert.equal(await t.pool.controls.ban(miner.hotkey, 'reported random scores'), true)
      assert.equal(await t.pool.controls.ban(miner.hotkey, 'reported random scores (again)'), false)
      for (const r of [
        await miner.lease(),
        await miner.stats(),
        await miner.submitLease(lease.json().lease_id, { evaluations: [] }),
        await miner.setRecipient(await randomAddress()),
      ]) {
        assert.equal(r.statusCode, 403, r.body)
        assert.equal(r.json().code, 'POOL_ERR_MINER_BANNED')
        assert.match(r.json().detail, /is banned from this pool: reported random scores \(again\)/)
      }
      const status = await t.pool.database.db
        .selectFrom('assignments')
        .select('status')
        .where('id', '=', lease.json().lease_id)
        .executeTakeFirstOrThrow()
      assert.equal(status.status, 'expired', 'the banned key holds no work')
      // Credit earned before the ban stays claimable (the documented rule).
      const proof = await t.app.inject({ method: 'GET', url: `/claims/epoch/0/proof/${miner.hotkey}` })
      assert.equal(proof.statusCode, 200)
      assert.equal(proof.json().amount_units, 1000)
      // Another key is unaffected.
      const other = await TestMiner.create(t.app, '//not-banned')
      assert.equal((await other.stats()).statusCode, 200)

      assert.equal(await t.pool.controls.unban(miner.hotkey), true)
      assert.equal((await miner.stats()).statusCode, 200)
    })
  })

  it('maintenance mode answers signed writes 503 with Retry-After; reads keep working', async () => {
    await withTestPool({}, async (t) => {
      const miner = await TestMiner.create(t.app, '//maintenance')
      await t.pool.controls.setMaintenance(true, 120, 'database upgrade')
      const lease = await miner.lease()
      assert.equal(lease.statusCode, 503)
      assert.equal(lease.headers['retry-after'], '120')
      assert.equal(lease.json().code, 'POOL_ERR_MAINTENANCE')
      assert.match(lease.json().detail, /pool is in maintenance: database upgrade; retry after 120 s/)
      assert.equal((await miner.stats()).statusCode, 200, 'a signed read works')
      for (const url of ['/health', '/api/v1/miners/leaderboard', '/claims/epochs', '/api/v1/monitor/summary']) {
        assert.equal((await t.app.inject({ url })).statusCode, 200, url)
      }
      await t.pool.controls.setMaintenance(false)
      assert.equal((await miner.lease()).statusCode, 200)
    })
  })
})

describe('signals', () => {
  it('/metrics has single prefixes and gauges of the pool state', async () => {
    await withTestPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const waiting = await craftMiner(t.pool)
      await addPoints(t.pool, 0, waiting.hotkey, 1)
      await closeThrough(t, 1)
      const miners = await TestMiner.many(t.app, 4, 'metrics')
      await earnByEvaluating(miners.slice(0, 3))
      assert.equal((await miners[3]!.lease()).statusCode, 200)
      const text = (await t.app.inject({ url: '/metrics' })).body
      assert.doesNotMatch(text, /process_process_/)
      assert.match(text, /^sotapool_process_cpu_seconds_total /m)
      const value = (name: string): number => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1])
      assert.equal(value('sotapool_current_window'), 2)
      assert.equal(value('sotapool_current_epoch'), 2)
      assert.equal(value('sotapool_last_closed_window'), 1)
      assert.equal(value('sotapool_last_closed_epoch'), 1)
      assert.equal(value('sotapool_window_close_lag_seconds'), 0)
      assert.equal(value('sotapool_active_miners'), 4)
      assert.equal(value('sotapool_active_leases'), 1)
      assert.equal(value('sotapool_credit_awaiting_recipient_units'), 1000)
      assert.equal(value('sotapool_credit_awaiting_recipient_miners'), 1)
      assert.equal(value('sotapool_db_transactions_retried_total'), t.pool.database.retried)
      assert.match(text, /^sotapool_sota_score\{task_type="cifar10_binary"\} 0\.5$/m)
      // A window ended and not closed shows as lag.
      t.clock.advance(WINDOW_MS + 60_000)
      const lagged = (await t.app.inject({ url: '/metrics' })).body
      assert.equal(Number(lagged.match(/^sotapool_window_close_lag_seconds (\S+)$/m)?.[1]), 60)
    })
  })

  it('EPOCH_CLOSE_PENDING and OVERDUE_LEASES wait for the grace period', async () => {
    await withTestPool({ ALERT_GRACE_S: '60' }, async (t) => {
      assert.deepEqual(await closeThrough(t, 0), [0])
      const miner = await TestMiner.create(t.app, '//grace')
      assert.equal((await miner.lease()).statusCode, 200)
      const codes = async (): Promise<string[]> =>
        (await t.app.inject({ url: '/api/v1/monitor/summary' }))
          .json()
          .alerts.items.map((a: { code: string }) => a.code)
      t.clock.advance(WINDOW_MS + 30_000) // epoch 1 ended 30 s ago; the lease (TTL 900 s) is far past its timeout
      assert.ok(!(await codes()).includes('EPOCH_CLOSE_PENDING'), 'within the grace period')
      t.clock.advance(40_000)
      const later = await codes()
      assert.ok(later.includes('EPOCH_CLOSE_PENDING'), later.join())
      assert.ok(later.includes('OVERDUE_LEASES'), later.join())
    })
  })

  it('requests are logged once at REQUEST_LOG_LEVEL; the start-up line names the store without secrets', async () => {
    const lines: any[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    })
    const t = await startTestPool(
      { ENVIRONMENT: 'production', MONITOR_TOKEN: 'm', METRICS_TOKEN: 's' },
      {},
      { logger: pino({ level: 'debug' }, sink) },
    )
    try {
      await t.app.inject({ url: '/health' })
      const requestLines = lines.filter((l) => l.msg === 'request')
      assert.equal(requestLines.length, 1, JSON.stringify(lines))
      assert.equal(requestLines[0].level, 20, 'debug in production')
      assert.equal(requestLines[0].url, '/health')
      assert.ok(!lines.some((l) => l.msg === 'incoming request'), 'no second line per request')

      const { message, fields } = startLine(
        'Pool API',
        { ...t.pool, database: { ...t.pool.database, label: 'postgres://pool:***@db:5432/pool' } },
        '0.0.0.0',
        8434,
      )
      assert.match(
        message,
        /environment production, database postgres:\/\/pool:\*\*\*@db:5432\/pool, tempo 12 s\/block, 360 blocks\/window, 1 windows\/epoch, genesis 2023-11-14T22:13:20Z, blocks from clock, claim app mounted at \/claims/,
      )
      assert.equal((fields.tempo as { window_blocks: number }).window_blocks, 360)
    } finally {
      await t.close()
    }
  })
})

describe('retention', () => {
  it('deletes old evaluations of closed epochs only; epoch verify still matches and open windows keep theirs', async () => {
    await withTestPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3, 'retention')
      await earnByEvaluating(miners)
      t.clock.advance(WINDOW_MS)
      // Window 1: an evolution that two miners evaluate stays undecided (n = 3), so its evaluations are needed.
      const lease = (await miners[0]!.lease()).json()
      const evolved = await miners[0]!.submitLease(lease.lease_id, {
        evaluations: [],
        evolutions: [{ parent_algorithm_ids: [lease.seed_algorithms[0].id], algorithm_dsl: evolvedProgram(7) }],
      })
      assert.equal(evolved.statusCode, 200, evolved.body)
      for (const m of miners.slice(1)) {
        const l = (await m.lease()).json()
        assert.ok(l.evaluate_algorithms.length > 0, JSON.stringify(l))
        assert.equal(
          (
            await m.submitLease(l.lease_id, {
              evaluations: l.evaluate_algorithms.map((a: { id: number }) => ({ algorithm_id: a.id, score: 0.7 })),
            })
          ).statusCode,
          200,
        )
      }
      assert.deepEqual(await t.pool.epochs.closeReady(), [0])
      const count = async (): Promise<number> =>
        Number(
          (
            await t.pool.database.db
              .selectFrom('evaluations')
              .select((eb) => eb.fn.countAll<bigint>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      const before = await count()
      const openOnes = Number(
        (
          await t.pool.database.db
            .selectFrom('evaluations')
            .select((eb) => eb.fn.countAll<bigint>().as('n'))
            .where('window_number', '=', 1n)
            .executeTakeFirstOrThrow()
        ).n,
      )
      assert.ok(openOnes === 2 && before > openOnes, `${openOnes} of ${before}`)

      t.clock.advance(2 * 86_400_000)
      const dry = await pruneEvaluations(t.pool, 1, true)
      assert.equal(dry.evaluations, before - openOnes)
      assert.equal(await count(), before, 'a dry run deletes nothing')
      const pruned = await pruneEvaluations(t.pool, 1)
      assert.equal(pruned.evaluations, before - openOnes)
      assert.equal(pruned.through_window, 0)
      assert.equal(await count(), openOnes, 'the open window keeps its evaluations')
      assert.equal((await t.pool.epochs.verify(0)).ok, true, 'epoch verify needs none of what was deleted')
      // Epoch 1 still closes from what was kept, and verifies.
      assert.ok((await t.pool.epochs.closeReady()).includes(1))
      assert.equal((await t.pool.epochs.verify(1)).ok, true)
      assert.equal((await pruneEvaluations(t.pool, 30)).evaluations, 0, 'nothing younger than the horizon')
    })
  })
})
