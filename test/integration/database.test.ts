/**
 * The database layer's own promises on PostgreSQL: parameterised statements are prepared once per
 * connection and reused; a table changed under a prepared statement costs one refused call, not a broken
 * connection; the number kept per connection is bounded; a deadlock victim runs again, any other failure
 * does not. (SQLite's reuse is covered by every other test.)
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase, testDialect } from '../support/database.ts'

describe('PostgreSQL prepared statements', { skip: testDialect() !== 'postgres' }, () => {
  let t: TestDatabase
  before(async () => {
    t = await createTestDatabase()
  })
  after(async () => {
    await t?.drop()
  })

  it('prepares a parameterised statement once per connection and reuses it', async () => {
    await t.database.db.connection().execute(async (conn) => {
      for (let i = 0; i < 3; i++) {
        const { rows } = await sql<{ x: number }>`select ${i}::int + 1 as x`.execute(conn)
        assert.equal(rows[0]!.x, i + 1)
      }
      const { rows } = await sql<{ n: bigint }>`select count(*) as n from pg_prepared_statements
        where statement = ${'select $1::int + 1 as x'}`.execute(conn)
      assert.equal(rows[0]!.n, 1n)
    })
  })

  it('answers again after a table changed under a prepared statement', async () => {
    await sql`create table changing (id int primary key)`.execute(t.database.db)
    await sql`insert into changing values (1)`.execute(t.database.db)
    await t.database.db.connection().execute(async (conn) => {
      const read = async () =>
        (await sql<Record<string, unknown>>`select * from changing where id = ${1}`.execute(conn)).rows
      assert.deepEqual(await read(), [{ id: 1 }])
      await sql`alter table changing add column note text default 'new'`.execute(conn)
      // PostgreSQL refuses the old plan once; the connection then prepares afresh.
      const first = await read().then(
        (rows) => rows,
        (err: { code?: string }) => err.code,
      )
      if (first !== '0A000') assert.deepEqual(first, [{ id: 1, note: 'new' }])
      assert.deepEqual(await read(), [{ id: 1, note: 'new' }])
    })
  })

  it('keeps a bounded number per connection and still runs every statement past the bound', async () => {
    await t.database.db.connection().execute(async (conn) => {
      for (let i = 0; i < 300; i++) {
        const { rows } = await sql<{ x: number }>`select ${i}::int as x, ${sql.lit(i)} as k`.execute(conn)
        assert.equal(rows[0]!.x, i)
      }
      // Counted per generation of names (a change of table under a statement starts a new one).
      const { rows } = await sql<{ n: bigint }>`select count(*) as n from pg_prepared_statements
        group by split_part(name, '_', 2) order by n desc limit 1`.execute(conn)
      assert.ok(rows[0]!.n <= 256n, `${rows[0]!.n} statements kept on one connection`)
      assert.ok(rows[0]!.n >= 250n, 'statements are kept up to the bound')
    })
  })
})

describe('PostgreSQL transactions', { skip: testDialect() !== 'postgres' }, () => {
  let t: TestDatabase
  before(async () => {
    t = await createTestDatabase()
    await sql`create table pair (id int primary key, n int not null)`.execute(t.database.db)
    await sql`insert into pair values (1, 0), (2, 0)`.execute(t.database.db)
  })
  after(async () => {
    await t?.drop()
  })

  it('runs a deadlock victim again, so both transactions of a deadlock happen once', async () => {
    let runs = 0
    const retriedBefore = t.database.retried
    const locked = { first: signal(), second: signal() }
    // Each locks one row, waits until the other holds the other row, then wants it: a deadlock.
    const bump = (mine: number, theirs: number, own: Signal, other: Promise<void>) =>
      t.database.transaction(async (trx) => {
        runs++
        await sql`update pair set n = n + 1 where id = ${mine}`.execute(trx)
        own.resolve()
        await other
        await sql`update pair set n = n + 1 where id = ${theirs}`.execute(trx)
      })
    await Promise.all([
      bump(1, 2, locked.first, locked.second.promise),
      bump(2, 1, locked.second, locked.first.promise),
    ])
    assert.equal(runs, 3, 'one of the two ran again')
    assert.equal(t.database.retried, retriedBefore + 1)
    const { rows } = await sql<{ n: number }>`select n from pair order by id`.execute(t.database.db)
    assert.deepEqual(
      rows.map((r) => r.n),
      [2, 2],
    )
  })

  it('runs a transaction that failed for any other reason once, and leaves no trace of it', async () => {
    let runs = 0
    await assert.rejects(
      t.database.transaction(async (trx) => {
        runs++
        await sql`update pair set n = n + 10 where id = 1`.execute(trx)
        await sql`insert into pair values (2, 0)`.execute(trx)
      }),
      (err: { code?: string }) => err.code === '23505',
    )
    assert.equal(runs, 1)
    assert.equal(t.database.retried, 1, 'only the deadlock victim above ran again')
    const { rows } = await sql<{ n: number }>`select n from pair where id = 1`.execute(t.database.db)
    assert.equal(rows[0]!.n, 2)
  })
})

interface Signal {
  promise: Promise<void>
  resolve(): void
}

function signal(): Signal {
  let resolve = (): void => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
