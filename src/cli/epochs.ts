/** `sotapool window close`, `sotapool epoch close|verify|export` and `sotapool verify-proof`. */
import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { PoolContext } from '../services/context.ts'
import { configOrExit, parseInteger } from './main.ts'

async function withPool<T> (fn: (pool: PoolContext) => Promise<T>): Promise<T> {
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
  warn: (_obj: object, msg: string): void => { process.stderr.write(`sotapool: warning: ${msg}\n`) },
  info: (): void => {},
}

const print = (value: unknown): void => { process.stdout.write(`${JSON.stringify(value, null, 2)}\n`) }

export function registerEpochCommands (program: Command): void {
  program.command('window')
    .description('Window operations')
    .command('close')
    .description('Close ended windows (all not closed yet, or the one given) and store their points')
    .option('--window <number>', 'close only this window', parseInteger('--window'))
    .action(async (opts: { window?: number }) => {
      await withPool(async (pool) => {
        if (opts.window !== undefined) {
          const closed = await pool.windows.close(opts.window)
          print({ window: opts.window, closed, note: closed ? 'closed now' : 'was already closed' })
        } else {
          print({ closed: await pool.windows.closeEnded(), current_window: pool.currentWindow().windowNumber })
        }
      })
    })

  const epoch = program.command('epoch').description('Epoch operations: close, verify, export')
  epoch.command('close')
    .description('Close ready epochs (all not closed yet, or the one given): payouts, cumulative credit, claim tree')
    .argument('[epoch]', 'epoch id (default: every ready epoch)', parseInteger('epoch'))
    .action(async (id?: number) => {
      await withPool(async (pool) => {
        if (id !== undefined) {
          const closed = await pool.epochs.close(id)
          const { root, num_of_leaves: leaves, epoch_units: units } = await pool.epochs.export(id)
          print({ epoch: id, closed, note: closed ? 'closed now' : 'was already closed', root, num_of_leaves: leaves, epoch_units: units })
        } else {
          print({ closed: await pool.epochs.closeReady(), current_epoch: pool.currentEpoch() })
        }
      })
    })
  epoch.command('verify')
    .description('Recompute a closed epoch from the database and compare with what is stored (exit 1 on mismatch)')
    .argument('<epoch>', 'epoch id', parseInteger('epoch'))
    .action(async (id: number) => {
      const result = await withPool(async (pool) => await pool.epochs.verify(id))
      print({ epoch: id, match: result.ok, root: result.root, recomputed_root: result.recomputedRoot, mismatches: result.mismatches })
      if (!result.ok) process.exitCode = 1
    })
  epoch.command('export')
    .description('Write a closed epoch as JSON: root, totals, parameters, every leaf with its proof')
    .argument('<epoch>', 'epoch id', parseInteger('epoch'))
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (id: number, opts: { output?: string }) => {
      const artifact = await withPool(async (pool) => await pool.epochs.export(id))
      const text = `${JSON.stringify(artifact, null, 2)}\n`
      if (opts.output === undefined) process.stdout.write(text)
      else {
        await writeFile(opts.output, text)
        process.stderr.write(`wrote epoch ${id} (${artifact.num_of_leaves} leaves, root ${artifact.root}) to ${opts.output}\n`)
      }
    })

  program.command('verify-proof')
    .description('Check a proof package offline: recompute the leaf and fold the proof to the root (exit 1 when it does not verify)')
    .argument('<source>', 'a proof package JSON file, or its URL (e.g. http://127.0.0.1:8434/claims/epoch/3/proof/<hotkey>)')
    .option('--root <hex>', 'a root obtained independently (e.g. from chain); default: the package\'s own root')
    .action(async (source: string, opts: { root?: string }) => {
      const text = /^https?:\/\//.test(source) ? await fetchText(source) : await readFile(source, 'utf8')
      let pkg: unknown
      try {
        pkg = JSON.parse(text)
      } catch {
        throw new Error(`${source} is not JSON`)
      }
      const { initClaimTree } = await import('../domain/claim-tree.ts')
      const { checkProofPackage } = await import('../domain/proof-package.ts')
      await initClaimTree()
      const result = checkProofPackage(pkg, opts.root)
      print({ valid: result.ok, leaf: result.leaf, folded_root: result.root, problems: result.problems })
      if (!result.ok) process.exitCode = 1
    })
}

async function fetchText (url: string): Promise<string> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`)
  return await response.text()
}
