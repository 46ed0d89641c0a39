/**
 * Versioned migrations, applied in order and recorded by Kysely's migrator (which also takes a lock,
 * so several processes starting together migrate once).
 */
import { Migrator, type Migration, type MigrationProvider } from 'kysely'
import type { Database } from './database.ts'
import * as initial from './migrations/001-initial.ts'

const MIGRATIONS = { '001-initial': initial } as const

export async function migrateToLatest (database: Database): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations () {
      const out: Record<string, Migration> = {}
      for (const [name, m] of Object.entries(MIGRATIONS)) {
        out[name] = { up: async (db) => { await m.up(db, database.dialect) } }
      }
      return out
    },
  }
  const { error, results } = await new Migrator({ db: database.db, provider }).migrateToLatest()
  if (error !== undefined) throw error instanceof Error ? error : new Error(String(error))
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
