/**
 * Versioned migrations, applied in order and recorded by Kysely's migrator. On PostgreSQL the migrator
 * takes an advisory lock, so several processes starting together migrate once. Its SQLite adapter takes
 * no lock: there a process that loses the race (its migration fails because the other one's committed
 * meanwhile) runs the migrator again, which then finds everything applied.
 */
import { Migrator, type Migration, type MigrationProvider } from 'kysely'
import type { Database } from './database.ts'
import * as initial from './migrations/001-initial.ts'
import * as minersDsl from './migrations/002-miners-dsl.ts'

const MIGRATIONS = { '001-initial': initial, '002-miners-dsl': minersDsl } as const
const SQLITE_ATTEMPTS = 10

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
  const migrator = new Migrator({ db: database.db, provider })
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest()
    if (error === undefined) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    if (database.dialect !== 'sqlite' || attempt >= SQLITE_ATTEMPTS) throw error instanceof Error ? error : new Error(String(error))
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
  }
}
