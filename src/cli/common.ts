/**
 * What the `sotapool` commands share: loading the configuration, parsing integer arguments, opening the
 * pool's database, printing JSON results and verifying every closed epoch. Imports no command module, so
 * the command modules depend on it and never on each other or on main.ts.
 */
import { InvalidArgumentError } from 'commander'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import type { PoolContext } from '../services/context.ts'
import { progress } from './progress.ts'

/** Options given before the command name; main.ts sets them before a command runs. */
export interface GlobalOptions {
  adoptStoredTempo?: boolean
}

let globalOptions: GlobalOptions = {}

export function setGlobalOptions(options: GlobalOptions): void {
  globalOptions = options
}

/** Loads configuration or exits naming every bad variable. */
export function configOrExit(overrides: Partial<Config> = {}): Config {
  try {
    const config = loadConfig(process.env, {
      ...(globalOptions.adoptStoredTempo === true ? { adoptStoredTempo: true } : {}),
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

/** Runs `fn` on the pool's existing database (operator commands never create one), then closes it. */
export async function withPool<T>(fn: (pool: PoolContext) => Promise<T>): Promise<T> {
  const { createPoolContext } = await import('../services/context.ts')
  // Only `serve` and `migrate` create a database; an operator command on a missing one is a mistake.
  const pool = await createPoolContext(configOrExit(), { createDatabase: false, log: stderrLog })
  try {
    return await fn(pool)
  } finally {
    await pool.close()
  }
}

/** Warnings of the pool context (an adopted tempo, the chain) on standard error, keeping stdout JSON. */
export const stderrLog = {
  warn: (_obj: object, msg: string): void => {
    process.stderr.write(`sotapool: warning: ${msg}\n`)
  },
  info: (): void => {},
}

/** Writes a command's result as JSON on standard output. */
export const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Verifies every closed epoch (the check after a backup or a restore). */
export async function verifyAll(
  pool: PoolContext,
): Promise<{ ok: boolean; epochs: number; mismatched: Array<{ epoch: number; mismatches: string[] }> }> {
  const ids = (await pool.database.db.selectFrom('epochs').select('epoch_id').orderBy('epoch_id').execute()).map((r) =>
    Number(r.epoch_id),
  )
  const bar = progress('verifying epochs', ids.length)
  const mismatched: Array<{ epoch: number; mismatches: string[] }> = []
  try {
    for (const id of ids) {
      const result = await pool.epochs.verify(id)
      if (!result.ok) mismatched.push({ epoch: id, mismatches: result.mismatches })
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  return { ok: mismatched.length === 0, epochs: ids.length, mismatched }
}
