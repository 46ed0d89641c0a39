/** `sotapool window close`, `sotapool epoch close|verify|export` and `sotapool verify-proof`. */
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import type { PoolContext } from '../services/context.ts'
import { parseInteger, print, verifyAll, withPool } from './common.ts'
import { progress } from './progress.ts'

export function registerEpochCommands(program: Command): void {
  program
    .command('window')
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
          print({ closed: await closeWindows(pool), current_window: pool.currentWindow().windowNumber })
        }
      })
    })

  const epoch = program.command('epoch').description('Epoch operations: close, verify, export')
  epoch
    .command('close')
    .description('Close ready epochs (all not closed yet, or the one given): payouts, cumulative credit, claim tree')
    .argument('[epoch]', 'epoch id (default: every ready epoch)', parseInteger('epoch'))
    .action(async (id?: number) => {
      await withPool(async (pool) => {
        if (id !== undefined) {
          const closed = await pool.epochs.close(id)
          const { root, num_of_leaves: leaves, epoch_units: units } = await pool.claims.epochMeta(id)
          print({
            epoch: id,
            closed,
            note: closed ? 'closed now' : 'was already closed',
            root,
            num_of_leaves: leaves,
            epoch_units: units,
          })
        } else {
          await closeWindows(pool)
          const last = await pool.epochs.lastClosed()
          const ready: number[] = []
          for (let e = last === null ? await pool.epochs.firstEpoch() : last + 1; pool.epochs.isReady(e); e++)
            ready.push(e)
          const bar = progress('closing epochs', ready.length)
          const closed: number[] = []
          try {
            for (const e of ready) {
              if (await pool.epochs.close(e)) closed.push(e)
              bar.tick()
            }
          } finally {
            bar.stop()
          }
          print({ closed, current_epoch: pool.currentEpoch() })
        }
      })
    })
  epoch
    .command('verify')
    .description(
      'Recompute a closed epoch (or, with --all, every closed epoch) from the database and compare with what is stored; ' +
        "or, with --url, check a pool's published epoch artifacts over HTTP with no database (exit 1 on any mismatch)",
    )
    .argument('[epoch]', 'epoch id (or --all, or --url)', parseInteger('epoch'))
    .option('--all', 'verify every closed epoch (the check after restoring a backup)')
    .option(
      '--url <url>',
      'a Pool API (claims under /claims) or claim server URL: verify its artifacts, no database needed',
    )
    .option(
      '--epoch <number>',
      'with --url: only this epoch (default: every closed epoch, oldest first)',
      parseInteger('--epoch'),
    )
    .option(
      '--root <hex>',
      'with --url and --epoch: a root obtained independently (e.g. from chain) the artifact must match',
    )
    .action(async (id: number | undefined, opts: { all?: boolean; url?: string; epoch?: number; root?: string }) => {
      if (opts.url !== undefined) {
        const { verifyRemote } = await import('./verify-remote.ts')
        process.exitCode = await verifyRemote({ url: opts.url, epoch: opts.epoch ?? id, root: opts.root })
        return
      }
      if ((id === undefined) === (opts.all !== true))
        throw new Error('epoch verify needs an EPOCH or --all (from the database), or --url (over HTTP)')
      if (opts.all === true) {
        const result = await withPool(verifyAll)
        print(result)
        if (!result.ok) process.exitCode = 1
        return
      }
      const result = await withPool(async (pool) => await pool.epochs.verify(id!))
      print({
        epoch: id,
        match: result.ok,
        root: result.root,
        recomputed_root: result.recomputedRoot,
        mismatches: result.mismatches,
      })
      if (!result.ok) process.exitCode = 1
    })
  epoch
    .command('export')
    .description("Write a closed epoch's artifact: the same bytes GET /claims/epoch/{epoch}/artifact serves")
    .argument('<epoch>', 'epoch id', parseInteger('epoch'))
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (id: number, opts: { output?: string }) => {
      await withPool(async (pool) => {
        const { root, num_of_leaves: leaves } = await pool.claims.epochMeta(id)
        const source = Readable.from(withLeafProgress((await pool.epochs.artifact(id)).text, leaves))
        if (opts.output === undefined) await pipeline(source, process.stdout, { end: false })
        else {
          await pipeline(source, createWriteStream(opts.output))
          process.stderr.write(`wrote epoch ${id} (${leaves} leaves, root ${root}) to ${opts.output}\n`)
        }
      })
    })

  program
    .command('verify-proof')
    .description(
      'Check a proof package offline: recompute the leaf and fold the proof to the root (exit 1 when it does not verify)',
    )
    .argument(
      '<source>',
      'a proof package JSON file, or its URL (e.g. http://127.0.0.1:8434/claims/epoch/3/proof/<hotkey>)',
    )
    .option('--root <hex>', "a root obtained independently (e.g. from chain); default: the package's own root")
    .action(async (source: string, opts: { root?: string }) => {
      const text = /^https?:\/\//.test(source)
        ? await fetchText(source)
        : await readFile(source, 'utf8').catch((err: Error) => {
            throw new Error(`cannot read ${source}: ${err.message}`)
          })
      let pkg: unknown
      try {
        pkg = JSON.parse(text)
      } catch {
        throw new Error(`${source} is not JSON`)
      }
      const shape = pkg as { leaves?: unknown; hotkey?: unknown; epoch?: unknown }
      if (Array.isArray(shape.leaves) && shape.hotkey === undefined) {
        // An `epoch export` artifact holds every leaf; a proof package is one of them plus the root.
        throw new Error(
          `${source} is an epoch artifact (epoch ${String(shape.epoch)}, ${shape.leaves.length} leaves), not a proof package: ` +
            `check one hotkey's package with \`sotapool verify-proof <claim-url>/epoch/${String(shape.epoch)}/proof/<hotkey>\`, ` +
            'or the whole epoch against the database with `sotapool epoch verify`',
        )
      }
      const { initClaimTree } = await import('../domain/claim-tree.ts')
      const { checkProofPackage } = await import('../domain/proof-package.ts')
      await initClaimTree()
      const result = checkProofPackage(pkg, opts.root)
      print({ valid: result.ok, leaf: result.leaf, folded_root: result.root, problems: result.problems })
      if (!result.ok) process.exitCode = 1
    })
}

/** Closes every ended window not closed yet, oldest first, with a progress bar. */
async function closeWindows(pool: PoolContext): Promise<number[]> {
  const current = pool.currentWindow().windowNumber
  const from = (await pool.windows.lastClosed()) + 1
  const bar = progress('closing windows', current - from)
  const closed: number[] = []
  try {
    for (let w = from; w < current; w++) {
      if (await pool.windows.close(w)) closed.push(w)
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  return closed
}

/** Passes the artifact's pieces through, ticking a progress bar per leaf line once the leaves list began. */
async function* withLeafProgress(pieces: AsyncIterable<string>, leaves: number): AsyncGenerator<string> {
  const bar = progress('writing leaves', leaves)
  let inLeaves = false
  try {
    for await (const piece of pieces) {
      let from = 0
      if (!inLeaves) {
        const at = piece.indexOf('"leaves":[')
        if (at >= 0) {
          inLeaves = true
          from = at
        }
      }
      if (inLeaves) {
        let lines = 0
        for (let i = piece.indexOf('\n', from); i >= 0; i = piece.indexOf('\n', i + 1)) lines++
        bar.tick(lines)
      }
      yield piece
    }
  } finally {
    bar.stop()
  }
}

async function fetchText(url: string): Promise<string> {
  let response: Response
  try {
    response = await fetch(url)
  } catch (err) {
    // fetch says only "fetch failed"; the cause (refused, DNS, TLS) and the URL are what an operator needs.
    const cause = (err as { cause?: { message?: string; code?: string } }).cause
    throw new Error(`cannot fetch ${url}: ${cause?.message ?? cause?.code ?? (err as Error).message}`)
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`)
  return await response.text()
}
