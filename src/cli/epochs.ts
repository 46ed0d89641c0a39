/** `sotapool window close`, `sotapool epoch close|verify|export` and `sotapool verify-proof`. */
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import type { PoolContext } from '../services/context.ts'
import { configOrExit, parseInteger } from './main.ts'

async function withPool<T> (fn: (pool: PoolContext) => Promise<T>): Promise<T> {
  const { createPoolContext } = await import('../services/context.ts')
  const pool = await createPoolContext(configOrExit())
  try {
    return await fn(pool)
  } finally {
    await pool.close()
  }
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
          const { root, num_of_leaves: leaves, epoch_units: units } = await pool.claims.epochMeta(id)
          print({ epoch: id, closed, note: closed ? 'closed now' : 'was already closed', root, num_of_leaves: leaves, epoch_units: units })
        } else {
          print({ closed: await pool.epochs.closeReady(), current_epoch: pool.currentEpoch() })
        }
      })
    })
  epoch.command('verify')
    .description('Recompute a closed epoch from the database and compare with what is stored; or, with --url, check a ' +
      'pool\'s published epoch artifacts over HTTP with no database (exit 1 on any mismatch)')
    .argument('[epoch]', 'epoch id (required without --url)', parseInteger('epoch'))
    .option('--url <url>', 'a Pool API (claims under /claims) or claim server URL: verify its artifacts, no database needed')
    .option('--epoch <number>', 'with --url: only this epoch (default: every closed epoch, oldest first)', parseInteger('--epoch'))
    .option('--root <hex>', 'with --url and --epoch: a root obtained independently (e.g. from chain) the artifact must match')
    .action(async (id: number | undefined, opts: { url?: string; epoch?: number; root?: string }) => {
      if (opts.url !== undefined) {
        const { verifyRemote } = await import('./verify-remote.ts')
        process.exitCode = await verifyRemote({ url: opts.url, epoch: opts.epoch ?? id, root: opts.root })
        return
      }
      if (id === undefined) throw new Error('epoch verify needs an EPOCH (from the database) or --url (over HTTP)')
      const result = await withPool(async (pool) => await pool.epochs.verify(id))
      print({ epoch: id, match: result.ok, root: result.root, recomputed_root: result.recomputedRoot, mismatches: result.mismatches })
      if (!result.ok) process.exitCode = 1
    })
  epoch.command('export')
    .description('Write a closed epoch\'s artifact: the same bytes GET /claims/epoch/{epoch}/artifact serves')
    .argument('<epoch>', 'epoch id', parseInteger('epoch'))
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (id: number, opts: { output?: string }) => {
      await withPool(async (pool) => {
        const { text } = await pool.epochs.artifact(id)
        const source = Readable.from(text)
        if (opts.output === undefined) await pipeline(source, process.stdout, { end: false })
        else {
          await pipeline(source, createWriteStream(opts.output))
          const { root, num_of_leaves: leaves } = (await pool.claims.epochMeta(id))
          process.stderr.write(`wrote epoch ${id} (${leaves} leaves, root ${root}) to ${opts.output}\n`)
        }
      })
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
