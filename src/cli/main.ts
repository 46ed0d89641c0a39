/** The `sotapool` command line: one subcommand per operator task. */
import { existsSync, readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import dotenv from 'dotenv'
import { ConfigError, loadConfig, unknownVariables, type Config } from '../config.ts'
import { VERSION } from '../version.ts'
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

/** Loads configuration or exits naming every bad variable. */
export function configOrExit(overrides: Partial<Config> = {}): Config {
  try {
    const config = loadConfig(process.env, {
      ...(program.opts().adoptStoredTempo === true ? { adoptStoredTempo: true } : {}),
      ...overrides,
    })
    if (config.databaseUrl === 'sqlite::memory:')
      process.stderr.write(
        'sotapool: warning: DATABASE_URL=sqlite::memory: keeps the database in memory; it is lost when the process exits\n',
      )
    return config
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `sotapool: invalid configuration (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):\n${err.problems.map((p) => `  ${p.variable} ${p.reason}\n`).join('')}`,
      )
      process.exit(2)
    }
    throw err
  }
}

export const parseInteger =
  (name: string, min = 0) =>
  (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`)
    }
    return Number(value)
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
