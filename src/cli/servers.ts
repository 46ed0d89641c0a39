/** `sotapool serve` and `sotapool migrate`. */
import type { Command } from 'commander'
import { configOrExit } from './common.ts'

// Commands load what they run only when run, so `--help` and light commands start fast.

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('Run the Pool API (with the claim app mounted when MERKLE_CLAIM_ENABLED=true)')
    .action(async () => {
      await (await import('../server.ts')).serve(configOrExit())
    })

  program
    .command('claims')
    .description('Run the standalone claim server (the claim routes with no prefix) on MERKLE_CLAIM_PORT')
    .action(async () => {
      await (await import('../server.ts')).serveClaims(configOrExit())
    })

  program
    .command('migrate')
    .description('Apply pending database migrations to DATABASE_URL and exit')
    .action(async () => {
      const config = configOrExit()
      const { openDatabase } = await import('../db/database.ts')
      const { migrateToLatest } = await import('../db/migrate.ts')
      const database = openDatabase(config.databaseUrl, { create: true, poolSize: config.databasePoolSize })
      try {
        const applied = await migrateToLatest(database, (migration, notes) => {
          process.stdout.write(`${migration} changed stored data:\n${notes.map((n) => `  ${n}`).join('\n')}\n`)
        })
        process.stdout.write(applied.length === 0 ? 'database is up to date\n' : `applied: ${applied.join(', ')}\n`)
      } finally {
        await database.close()
      }
    })
}
