/**
 * Versioned migrations, applied in order and recorded by Kysely's migrator. On PostgreSQL the migrator
 * takes an advisory lock, so several processes starting together migrate once. Its SQLite adapter takes
 * no lock: there a process that loses the race (its migration fails because the other one's committed
 * meanwhile) runs the migrator again, which then finds everything applied.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import type { Database, Dialect } from './database.ts'
import * as initial from './migrations/001-initial.ts'
import * as minersDsl from './migrations/002-miners-dsl.ts'
import * as identityFold from './migrations/003-identity-fold.ts'
import * as balancedEpochs from './migrations/004-balanced-epochs.ts'
import * as operator from './migrations/005-operator.ts'
import * as leaseIndexes from './migrations/006-lease-indexes.ts'
import * as assignmentDraws from './migrations/007-assignment-draws.ts'

/** A migration may return what it changed in stored data, one line each, to be logged. */
type MigrationModule = { up: (db: Kysely<any>, dialect: Dialect) => Promise<unknown> }

const MIGRATIONS: Record<string, MigrationModule> = {
  '001-initial': initial,
  '002-miners-dsl': minersDsl,
  '003-identity-fold': identityFold,
  '004-balanced-epochs': balancedEpochs,
  '005-operator': operator,
  '006-lease-indexes': leaseIndexes,
  '007-assignment-draws': assignmentDraws,
}
const SQLITE_ATTEMPTS = 10

/** Applies pending migrations; returns their names. `report` hears what a migration changed in stored data. */
export async function migrateToLatest(
  database: Database,
  report?: (migration: string, notes: string[]) => void,
): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {}
      for (const [name, m] of Object.entries(MIGRATIONS)) {
        out[name] = {
          up: async (db) => {
            const notes = await m.up(db, database.dialect)
            if (Array.isArray(notes) && notes.length > 0) report?.(name, notes.map(String))
          },
        }
      }
      return out
    },
  }
  const migrator = new Migrator({ db: database.db, provider })
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest()
    if (error === undefined) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
    if (database.dialect !== 'sqlite' || attempt >= SQLITE_ATTEMPTS)
      throw error instanceof Error ? error : new Error(String(error))
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
  }
}
