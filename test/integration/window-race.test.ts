// A window close must wait for a submission that is deciding in that window (the window lock: submissions
// hold it shared, closes exclusive). The race is staged with locks, not timing: another session holds the
// evaluated algorithm's row, so the deciding submission stops inside its transaction; the close starts
// exactly then and must be found waiting for the window lock, not finished.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { testDialect } from '../support/database.ts'
import { TestMiner } from '../support/miner.ts'
import { startTestPool, WINDOW_MS } from '../support/pool.ts'

/** Locks of this test database's sessions, as PostgreSQL reports them. */
async function locks(observer: pg.Client): Promise<Array<{ locktype: string; mode: string; granted: boolean }>> {
  const { rows } = await observer.query(
    `select l.locktype, l.mode, l.granted from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where a.datname = current_database() and a.pid <> pg_backend_pid()`,
  )
  return rows
}

/** Polls until `condition` holds (it names what is awaited, for the failure message). */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

// On SQLite write transactions are exclusive, so a window close can never interleave with a submission.
test('a window does not close under a submission that decides in it', {
  skip: testDialect() !== 'postgres' && 'PostgreSQL only: SQLite serialises writers',
}, async () => {
  const t = await startTestPool()
  const blocker = new pg.Client({ connectionString: t.url })
  const observer = new pg.Client({ connectionString: t.url })
  try {
    await blocker.connect()
    await observer.connect()
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

    // Another session holds the algorithm row, so the third (deciding) evaluation stops inside its
    // transaction (which took the window lock shared at its start), waiting for the row.
    await blocker.query('begin')
    await blocker.query('select id from algorithms where id = $1 for update', [seedId])
    const submit = c!.submitLease(lease.lease_id, {
      evaluations: lease.evaluate_algorithms.map((x: { id: number }) => ({ algorithm_id: x.id, score: 0.5 })),
    })
    await until('the submission waits for the row', async () =>
      (await locks(observer)).some((l) => !l.granted && l.locktype !== 'advisory'),
    )

    // The window ends while the submission is deciding in it; the close must wait for the submission.
    t.clock.advance(WINDOW_MS)
    const close = t.pool.windows.close(0)
    const first = await Promise.race([
      close.then(() => 'the close finished' as const),
      until('the close waits for the window lock', async () =>
        (await locks(observer)).some((l) => l.locktype === 'advisory' && l.mode === 'ExclusiveLock' && !l.granted),
      ).then(() => 'the close waits' as const),
    ])
    assert.equal(first, 'the close waits', 'the close must not run while a submission decides in its window')

    await blocker.query('commit')
    assert.equal((await submit).statusCode, 200)
    assert.equal(await close, true)

    // The submission decided in window 0, and the close that waited for it credited it there.
    const decided = await t.pool.database.db
      .selectFrom('algorithms')
      .select(['state', 'decided_window'])
      .where('id', '=', BigInt(seedId))
      .executeTakeFirstOrThrow()
    assert.deepEqual(decided, { state: 'scored', decided_window: 0n })
    const points = await t.pool.database.db
      .selectFrom('window_points')
      .select(['miner_hotkey', 'agreements'])
      .where('window_number', '=', 0n)
      .execute()
    assert.deepEqual(
      points.map((p) => p.miner_hotkey).sort(),
      [a!.hotkey, b!.hotkey, c!.hotkey].sort(),
      'all three evaluators have points in window 0',
    )
    for (const p of points) assert.ok(p.agreements > 0n, `${p.miner_hotkey} is credited with its agreement`)
  } finally {
    await blocker.end().catch(() => {})
    await observer.end().catch(() => {})
    await t.close()
  }
})
