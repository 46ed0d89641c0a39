/** `sotapool serve` and `sotapool migrate`. */
import type { Command } from 'commander'
import { openDatabase } from '../db/database.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { serve, serveClaims } from '../server.ts'
import { configOrExit } from './main.ts'

export function registerServerCommands (program: Command): void {
  program.command('serve')
    .description('Run the Pool API (with the claim app mounted when MERKLE_CLAIM_ENABLED=true)')
    .action(async () => { await serve(configOrExit()) })

  program.command('claims')
    .description('Run the standalone claim server (the claim routes with no prefix) on MERKLE_CLAIM_PORT')
    .action(async () => { await serveClaims(configOrExit()) })

  program.command('migrate')
    .description('Apply pending database migrations to DATABASE_URL and exit')
    .action(async () => {
      const config = configOrExit()
      const database = openDatabase(config.databaseUrl)
      try {
        const applied = await migrateToLatest(database)
        process.stdout.write(applied.length === 0 ? 'database is up to date\n' : `applied: ${applied.join(', ')}\n`)
      } finally {
        await database.close()
      }
    })
}
