/**
 * A fresh, empty database for one test: in-memory SQLite, or a new PostgreSQL database (dropped again on
 * close) when TEST_DATABASE=postgres. The suite runs once per store (see scripts/run-tests.mjs).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openDatabase, type Database } from '../../src/db/database.ts'

export const testDialect = (): 'sqlite' | 'postgres' =>
  process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite'

const adminUrl = (): string => process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase {
  url: string
  database: Database
  drop(): Promise<void>
}

/** Creates the store and returns its URL (for processes of their own) and an open handle. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDialect() === 'sqlite') {
    const database = openDatabase('sqlite::memory:')
    return {
      url: 'sqlite::memory:',
      database,
      drop: async () => {
        await database.close()
      },
    }
  }
  const name = `sotapool_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl() })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl())
  url.pathname = `/${name}`
  const database = openDatabase(url.toString())
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close()
      await dropPostgresDatabase(name)
    },
  }
}

async function dropPostgresDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() })
  await client.connect()
  try {
    await client.query(`drop database if exists ${name} with (force)`)
  } finally {
    await client.end()
  }
}

export interface SharedTestStore {
  url: string
  drop(): Promise<void>
}

/**
 * An empty store that several pool contexts (standing in for several API processes) open by URL: a
 * temp-file SQLite database, or a fresh PostgreSQL database. Each opener closes its own handle; `drop`
 * removes the store afterwards.
 */
export async function createSharedTestStore(): Promise<SharedTestStore> {
  if (testDialect() === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'sotapool-test-'))
    return {
      url: `sqlite:${join(dir, 'pool.db')}`,
      drop: async () => {
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const store = await createTestDatabase()
  await store.database.close()
  return {
    url: store.url,
    drop: async () => {
      await dropPostgresDatabase(new URL(store.url).pathname.slice(1))
    },
  }
}
