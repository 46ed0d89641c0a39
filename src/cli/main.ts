/** The `sotapool` command line: one subcommand per operator task. */
import { existsSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import dotenv from 'dotenv'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { VERSION } from '../version.ts'
import { registerEpochCommands } from './epochs.ts'
import { registerKeyCommands } from './keys.ts'
import { registerServerCommands } from './servers.ts'
import { registerSimulateCommand } from './simulate.ts'

if (existsSync('.env')) dotenv.config({ path: '.env', quiet: true })

/** Loads configuration or exits with the message that names the bad variable. */
export function configOrExit (): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sotapool: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

export const parseInteger = (name: string, min = 0) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`)
  }
  return Number(value)
}

const program = new Command()
  .name('sotapool')
  .description('sotapool mining pool: Pool API, claim server and operator tools')
  .version(VERSION)
  .showHelpAfterError()

registerServerCommands(program)
registerKeyCommands(program)
registerEpochCommands(program)
registerSimulateCommand(program)

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`sotapool: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
