/**
 * A fresh, empty database for one test: in-memory SQLite, or a new PostgreSQL database (dropped again on
 * close) when TEST_DATABASE=postgres. The suite runs once per store (see scripts/run-tests.mjs).
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openDatabase, type Database } from '../../src/db/database.ts'

export const testDialect = (): 'sqlite' | 'postgres' => (process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite')

const adminUrl = (): string => process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabase { url: string; database: Database; drop(): Promise<void> }

/** Creates the store and returns its URL (for processes of their own) and an open handle. */
export async function createTestDatabase (): Promise<TestDatabase> {
  if (testDialect() === 'sqlite') {
    const database = openDatabase('sqlite::memory:')
    return { url: 'sqlite::memory:', database, drop: async () => { await database.close() } }
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
    async drop () {
      await database.close()
      const client = new pg.Client({ connectionString: adminUrl() })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}
