/**
 * The `sotapool` command line: one subcommand per operator task. This entry point only reads `.env` and
 * assembles the command modules; what they share lives in common.ts.
 */
import { existsSync, readFileSync } from 'node:fs'
import { Command } from 'commander'
import dotenv from 'dotenv'
import { unknownVariables } from '../config.ts'
import { VERSION } from '../version.ts'
import { setGlobalOptions, type GlobalOptions } from './common.ts'
import { registerEpochCommands } from './epochs.ts'
import { registerKeyCommands } from './keys.ts'
import { registerOperatorCommands } from './operator.ts'
import { registerServerCommands } from './servers.ts'
import { registerSimulateCommand } from './simulate.ts'
import { registerTempoCommands } from './tempo.ts'

if (existsSync('.env')) {
  dotenv.config({ path: '.env', quiet: true })
  // A misspelled name would silently leave its default in force: say so.
  for (const u of unknownVariables(Object.keys(dotenv.parse(readFileSync('.env'))))) {
    process.stderr.write(
      `sotapool: warning: .env sets ${u.name}, which is not a configuration variable${u.suggestion === undefined ? '' : ` (did you mean ${u.suggestion}?)`}\n`,
    )
  }
}

const program = new Command()
  .name('sotapool')
  .description('sotapool mining pool: Pool API, claim server and operator tools')
  .version(VERSION)
  .option(
    '--adopt-stored-tempo',
    'run with the tempo stored in the database when BLOCK_TIME_S, WINDOW_BLOCKS or EPOCH_WINDOWS differ (same as ADOPT_STORED_TEMPO=true)',
  )
  .showHelpAfterError()
  .hook('preAction', () => setGlobalOptions(program.opts<GlobalOptions>()))

registerServerCommands(program)
registerKeyCommands(program)
registerEpochCommands(program)
registerSimulateCommand(program)
registerTempoCommands(program)
registerOperatorCommands(program)

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`sotapool: ${err instanceof Error ? err.message : String(err)}\n`)
  // A refused tempo is a configuration problem, like a bad variable.
  process.exit(err instanceof Error && err.name === 'TempoDriftError' ? 2 : 1)
})
