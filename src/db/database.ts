/**
 * The one place that talks to the database. Both stores are reached through one Kysely instance, so
 * every query runs unchanged on SQLite and PostgreSQL. Integers come back as `bigint` from both drivers
 * (BIGINT columns everywhere), so amounts never pass through a lossy JavaScript number.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
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
  /** Where the data lives, without secrets: the SQLite file, or the PostgreSQL URL without its password. */
  readonly label: string
  /**
   * Runs `fn` in one transaction: all of it commits or none. SQLite takes the write lock up front.
   * PostgreSQL runs `fn` again (at most three times in all) when the transaction was chosen as a deadlock
   * victim or failed to serialize, so `fn` must not act outside the database before it returns.
   */
  transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>, options?: TransactionOptions): Promise<T>
  ping(): Promise<boolean>
  /** Transactions this process ran again after a deadlock or serialization failure (PostgreSQL; SQLite 0). */
  readonly retried: number
  /** SQLite only: an online, consistent copy of the database into `file` while the pool keeps running. */
  backup?(file: string): Promise<void>
  close(): Promise<void>
}

/** What a transaction needs from its start; on PostgreSQL sent with BEGIN, in the same round trip. */
export interface TransactionOptions {
  /**
   * False: the commit does not wait for the server's disk (PostgreSQL `synchronous_commit = off`). Only
   * for work a database crash may lose because its client simply asks again (a lease): the commit is
   * still atomic and ordered, and never lost when the pool process crashes.
   */
  durable?: boolean
  /**
   * Take the window lock first, held until commit: submissions take it shared, window closes exclusive, so
   * a window never closes while a submission that decides in it is still uncommitted. PostgreSQL takes a
   * transaction-scoped advisory lock; SQLite's write transactions are exclusive already.
   */
  windows?: 'shared' | 'exclusive'
  /**
   * Queue behind every other transaction started with the same key, until commit. PostgreSQL takes a
   * transaction-scoped advisory lock on the key's hash, so no row is locked; SQLite's write transactions
   * are exclusive already.
   */
  queue?: string
}

// BIGINT and NUMERIC arrive as strings from pg; integers are read exactly, fractional numerics as numbers.
pg.types.setTypeParser(20, (v) => BigInt(v))
pg.types.setTypeParser(1700, (v) => (/^-?\d+$/.test(v) ? BigInt(v) : Number(v)))

export interface OpenOptions {
  /**
   * Create a SQLite file (and its folder) that does not exist yet. Only the commands that set a pool up
   * (`serve`, `migrate`) do; every other one refuses a missing database instead of making an empty one.
   */
  create?: boolean
  /** PostgreSQL: most connections this process holds (DATABASE_POOL_SIZE). */
  poolSize?: number
}

export function openDatabase(url: string, options: OpenOptions = {}): Database {
  return url.startsWith('sqlite:')
    ? openSqlite(url.slice('sqlite:'.length), options.create ?? true)
    : openPostgres(url, options.poolSize ?? 20)
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@')
  }
}

export class DatabaseMissingError extends Error {
  constructor(path: string) {
    super(
      `no database at ${path}: DATABASE_URL names a SQLite file that does not exist (${existsSync(dirname(path)) ? 'the file is missing' : `its folder ${dirname(path)} is missing too`}); ` +
        'check DATABASE_URL, or create the pool with `sotapool migrate` or `sotapool serve`',
    )
    this.name = 'DatabaseMissingError'
  }
}

function openSqlite(file: string, create: boolean): Database {
  const path = file === ':memory:' ? ':memory:' : resolve(file)
  if (path !== ':memory:' && !existsSync(path)) {
    if (!create) throw new DatabaseMissingError(path)
    mkdirSync(dirname(path), { recursive: true })
  }
  let connection: BetterSqlite3.Database
  try {
    connection = new BetterSqlite3(path)
  } catch (err) {
    throw new Error(`cannot open SQLite database ${path}: ${(err as Error).message}`)
  }
  connection.defaultSafeIntegers(true)
  connection.pragma('journal_mode = WAL')
  connection.pragma('synchronous = NORMAL')
  connection.pragma('busy_timeout = 10000')
  connection.pragma('foreign_keys = ON')
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: reusingStatements(connection) }) })
  return {
    db,
    dialect: 'sqlite',
    label: path === ':memory:' ? 'sqlite::memory:' : `sqlite:${path}`,
    // Kysely's SQLite driver hands out one connection at a time, so a transaction excludes every other
    // query of this process; BEGIN IMMEDIATE also excludes other processes' writers from the start,
    // which avoids the read-then-upgrade deadlock SQLite reports as SQLITE_BUSY.
    async transaction(fn) {
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
    ping: async () =>
      await sql`select 1`.execute(db).then(
        () => true,
        () => false,
      ),
    retried: 0,
    backup: async (file) => {
      await connection.backup(file)
    },
    close: async () => {
      await db.destroy()
    },
  }
}

/**
 * Kysely prepares every query afresh; a pool runs the same few statements all day, so they are prepared
 * once and reused by SQL text (a bounded map, oldest out first). A statement still being iterated is busy
 * and is never handed out twice; SQLite re-prepares a cached statement itself after a schema change.
 */
const PREPARED_STATEMENTS = 512

function reusingStatements(connection: BetterSqlite3.Database): {
  prepare(sql: string): BetterSqlite3.Statement
  close(): void
} {
  const prepared = new Map<string, BetterSqlite3.Statement>()
  return {
    prepare(text) {
      const known = prepared.get(text)
      if (known !== undefined && !known.busy) return known
      const statement = connection.prepare(text)
      if (known === undefined) {
        if (prepared.size >= PREPARED_STATEMENTS) prepared.delete(prepared.keys().next().value as string)
        prepared.set(text, statement)
      }
      return statement
    },
    close() {
      connection.close()
    },
  }
}

/** Most statements one PostgreSQL connection keeps prepared; past it, statements are sent unnamed. */
const PREPARED_PER_CONNECTION = 256
/** Longer statements (large multi-row writes, each of a size of its own) are not worth keeping. */
const PREPARED_TEXT_LIMIT = 8_192

/**
 * A pg client that prepares each parameterised statement once per connection and then only binds and
 * executes it: PostgreSQL parses and plans it once instead of on every call (the pool runs the same few
 * dozen statements all day). Statements without parameters (BEGIN with its settings, COMMIT) stay on the
 * simple protocol. When a migration changes a table under a prepared statement, PostgreSQL refuses it once
 * ("cached plan must not change result type"); the connection then prepares afresh under new names.
 */
class PreparingClient extends pg.Client {
  #names = new Map<string, string>()
  #generation = 0

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() overloads, passed through unchanged
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config !== 'string' || !Array.isArray(values) || values.length === 0 || callback !== undefined) {
      return super.query(config, values, callback)
    }
    let name = this.#names.get(config)
    if (name === undefined && this.#names.size < PREPARED_PER_CONNECTION && config.length <= PREPARED_TEXT_LIMIT) {
      name = `sotapool_${this.#generation}_${this.#names.size}`
      this.#names.set(config, name)
    }
    if (name === undefined) return super.query(config, values)
    return (super.query({ name, text: config, values }) as Promise<unknown>).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === '0A000') {
        this.#names.clear()
        this.#generation++
      }
      throw err
    })
  }
}

/** Advisory lock key of window closing (an arbitrary constant: "sota" in ASCII). */
const WINDOW_LOCK_KEY = 0x736f7461
/**
 * Class of the two-key advisory locks of `queue` ("queu" in ASCII; PostgreSQL keeps two-key locks apart
 * from one-key ones). The second key is a 32-bit hash of the queue key: two keys that share a hash only
 * queue behind each other.
 */
const QUEUE_LOCK_CLASS = 0x71756575
/** deadlock_detected and serialization_failure: the transaction was rolled back and may simply run again. */
const RETRIED_CODES = new Set(['40P01', '40001'])
const TRANSACTION_TRIES = 3
const queueLockKey = (key: string): number => createHash('sha256').update(key).digest().readInt32BE(0)

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    idleTimeoutMillis: 30_000,
    Client: PreparingClient,
  })
  // An idle client that loses its server must not crash the process; the next query reports the failure.
  pool.on('error', () => {})
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
  let retried = 0
  return {
    db,
    dialect: 'postgres',
    label: redactUrl(url),
    // BEGIN and what the transaction needs first travel as one simple-protocol query: a round trip less
    // per transaction, where every round trip costs a system call on each side.
    async transaction(fn, options = {}) {
      const start = ['begin']
      if (options.durable === false) start.push('set local synchronous_commit = off')
      if (options.windows === 'shared') start.push(`select pg_advisory_xact_lock_shared(${WINDOW_LOCK_KEY})`)
      if (options.windows === 'exclusive') start.push(`select pg_advisory_xact_lock(${WINDOW_LOCK_KEY})`)
      // Only integers enter this text: the key itself is hashed here.
      if (options.queue !== undefined)
        start.push(`select pg_advisory_xact_lock(${QUEUE_LOCK_CLASS}, ${queueLockKey(options.queue)})`)
      const attempt = async (): Promise<Awaited<ReturnType<typeof fn>>> =>
        await db.connection().execute(async (conn) => {
          await sql.raw(start.join('; ')).execute(conn)
          try {
            const result = await fn(conn as unknown as Transaction<DB>)
            await sql`commit`.execute(conn)
            return result
          } catch (err) {
            await sql`rollback`.execute(conn).catch(() => {})
            throw err
          }
        })
      // A deadlock victim (or a serialization failure) left no trace: it runs again from the start, as
      // PostgreSQL advises, instead of failing a request that did nothing wrong.
      for (let tries = 1; ; tries++) {
        try {
          return await attempt()
        } catch (err) {
          if (tries >= TRANSACTION_TRIES || !RETRIED_CODES.has((err as { code?: unknown }).code as string)) throw err
          retried++
        }
      }
    },
    get retried() {
      return retried
    },
    ping: async () =>
      await sql`select 1`.execute(db).then(
        () => true,
        () => false,
      ),
    close: async () => {
      await db.destroy()
    },
  }
}

/** True when `err` is a unique or primary-key violation on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown }
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** Converts a driver integer (bigint on both stores) to a number where the value is known to be small. */
export const toNumber = (v: bigint | number | null | undefined): number =>
  v === null || v === undefined ? 0 : Number(v)
