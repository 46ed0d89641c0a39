import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { testDialect } from '../support/database.ts'
import { TestMiner } from '../support/miner.ts'
import { startTestPool, WINDOW_MS } from '../support/pool.ts'

// On SQLite write transactions are exclusive, so a window close can never interleave with a submission.
test('a window does not close under a submission that decides in it', {
  skip: testDialect() !== 'postgres' && 'PostgreSQL only: SQLite serialises writers',
}, async () => {
  const t = await startTestPool()
  const blocker = new pg.Client({ connectionString: t.url })
  try {
    const [a, b, c] = await TestMiner.many(t.app, 3, 'race')
    const seedId = 1
    for (const m of [a!, b!]) {
      const lease = (await m.lease()).json()
      assert.equal(
        (
          await m.submitLease(lease.lease_id, {
            evaluations: lease.evaluate_algorithms.map((x: { id: number }) => ({ algorithm_id: x.id, score: 0.5 })),
          })
        ).statusCode,
        200,
      )
    }
    const lease = (await c!.lease()).json()
    assert.ok(lease.evaluate_algorithms.some((x: { id: number }) => x.id === seedId))

    // Another session holds the algorithm row, so the third (deciding) evaluation waits inside its transaction.
    await blocker.connect()
    await blocker.query('begin')
    await blocker.query('select id from algorithms where id = $1 for update', [seedId])
    const submit = c!.submitLease(lease.lease_id, {
      evaluations: lease.evaluate_algorithms.map((x: { id: number }) => ({ algorithm_id: x.id, score: 0.5 })),
    })
    await new Promise((r) => setTimeout(r, 300))
    t.clock.advance(WINDOW_MS)
    const close = t.pool.windows.close(0)
    await new Promise((r) => setTimeout(r, 300))
    await blocker.query('commit')

    assert.equal((await submit).statusCode, 200)
    assert.equal(await close, true)
    const decided = await t.pool.database.db
      .selectFrom('algorithms')
      .select(['state', 'decided_window'])
      .where('id', '=', BigInt(seedId))
      .executeTakeFirstOrThrow()
    assert.equal(decided.state, 'scored')
    const points = await t.pool.database.db
      .selectFrom('window_points')
      .select(['miner_hotkey', 'agreements'])
      .where('window_number', '=', decided.decided_window!)
      .where('miner_hotkey', '=', c!.hotkey)
      .executeTakeFirst()
    assert.ok(
      points !== undefined && points.agreements > 0n,
      'the deciding evaluation is credited in the window it was decided in',
    )
    if (decided.decided_window === 0n) {
      assert.ok(
        (
          await t.pool.database.db
            .selectFrom('window_points')
            .select('miner_hotkey')
            .where('window_number', '=', 0n)
            .execute()
        ).length >= 3,
      )
    }
  } finally {
    await blocker.end().catch(() => {})
    await t.close()
  }
})
