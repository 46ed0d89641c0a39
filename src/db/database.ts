/**
 * The one place that talks to the database. Both stores are reached through one Kysely instance, so
 * every query runs unchanged on SQLite and PostgreSQL. Integers come back as `bigint` from both drivers
 * (BIGINT columns everywhere), so amounts never pass through a lossy JavaScript number.
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely'
import pg from 'pg'
import type { DB } from './schema.ts'

export type Dialect = 'sqlite' | 'postgres'
export type Queryable = Kysely<DB> | Transaction<DB>

export interface Database {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  /** Runs `fn` in one transaction: all of it commits or none. SQLite takes the write lock up front. */
  transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T>
  /**
   * Inside a transaction: orders submissions (shared) against window closes (exclusive), so a window
   * never closes while a submission that decides in it is still uncommitted. PostgreSQL takes a
   * transaction-scoped advisory lock; SQLite's write transactions are exclusive already.
   */
  lockWindows(trx: Transaction<DB>, mode: 'shared' | 'exclusive'): Promise<void>
  ping(): Promise<boolean>
  close(): Promise<void>
}

// BIGINT and NUMERIC arrive as strings from pg; integers are read exactly, fractional numerics as numbers.
pg.types.setTypeParser(20, (v) => BigInt(v))
pg.types.setTypeParser(1700, (v) => (/^-?\d+$/.test(v) ? BigInt(v) : Number(v)))

export function openDatabase (url: string): Database {
  return url.startsWith('sqlite:') ? openSqlite(url.slice('sqlite:'.length)) : openPostgres(url)
}

function openSqlite (file: string): Database {
  const path = file === '' || file === ':memory:' ? ':memory:' : resolve(file)
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const connection = new BetterSqlite3(path)
  connection.defaultSafeIntegers(true)
  connection.pragma('journal_mode = WAL')
  connection.pragma('synchronous = NORMAL')
  connection.pragma('busy_timeout = 10000')
  connection.pragma('foreign_keys = ON')
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: connection }) })
  return {
    db,
    dialect: 'sqlite',
    // Kysely's SQLite driver hands out one connection at a time, so a transaction excludes every other
    // query of this process; BEGIN IMMEDIATE also excludes other processes' writers from the start,
    // which avoids the read-then-upgrade deadlock SQLite reports as SQLITE_BUSY.
    async transaction (fn) {
      return await db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn)
        try {
          const result = await fn(conn as unknown as Transaction<DB>)
          await sql`commit`.execute(conn)
          return result
        } catch (err) {
          await sql`rollback`.execute(conn)
          throw err
        }
      })
    },
    lockWindows: async () => {},
    ping: async () => await sql`select 1`.execute(db).then(() => true, () => false),
    close: async () => { await db.destroy() },
  }
}

/** Advisory lock key of window closing (an arbitrary constant: "sota" in ASCII). */
const WINDOW_LOCK_KEY = 0x736f7461

function openPostgres (url: string): Database {
  const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000 })
  // An idle client that loses its server must not crash the process; the next query reports the failure.
  pool.on('error', () => {})
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    dialect: 'postgres',
    transaction: async (fn) => await db.transaction().execute(fn),
    async lockWindows (trx, mode) {
      if (mode === 'shared') await sql`select pg_advisory_xact_lock_shared(${WINDOW_LOCK_KEY})`.execute(trx)
      else await sql`select pg_advisory_xact_lock(${WINDOW_LOCK_KEY})`.execute(trx)
    },
    ping: async () => await sql`select 1`.execute(db).then(() => true, () => false),
    close: async () => { await db.destroy() },
  }
}

/** True when `err` is a unique or primary-key violation on either database. */
export function isUniqueViolation (err: unknown): boolean {
  const e = err as { code?: unknown }
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** Converts a driver integer (bigint on both stores) to a number where the value is known to be small. */
export const toNumber = (v: bigint | number | null | undefined): number => (v === null || v === undefined ? 0 : Number(v))
