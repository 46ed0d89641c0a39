/** `sotapool tempo show|set`: the stored tempo, and the one deliberate way to change it. */
import type { Command } from 'commander'
import { isoTime } from '../clock.ts'
import type { Tempo, TempoSegment } from '../domain/tempo.ts'
import type { PoolContext } from '../services/context.ts'
import { configOrExit, parseInteger, print } from './common.ts'

/** A pool context for commands that read or change the stored tempo, so they never refuse over it. */
export async function withStoredTempo<T>(fn: (pool: PoolContext) => Promise<T>): Promise<T> {
  const { createPoolContext } = await import('../services/context.ts')
  const pool = await createPoolContext(configOrExit({ adoptStoredTempo: true }), { createDatabase: false })
  try {
    return await fn(pool)
  } finally {
    await pool.close()
  }
}

const segmentJson = (s: TempoSegment, clock: boolean) => ({
  from_epoch: s.fromEpoch,
  from_window: s.fromWindow,
  from_block: s.fromBlock,
  ...(clock ? { from_time: isoTime(s.fromMs) } : {}),
  block_time_s: s.blockTimeS,
  window_blocks: s.windowBlocks,
  epoch_windows: s.epochWindows,
})

function describe(pool: PoolContext, tempo: Tempo) {
  const clock = pool.config.chainEndpoint === ''
  return {
    genesis: isoTime(pool.genesisMs),
    current: {
      block: pool.currentWindow().block,
      window: pool.currentWindow().windowNumber,
      epoch: pool.currentEpoch(),
    },
    settings: { BLOCK_TIME_S: tempo.blockTimeS, WINDOW_BLOCKS: tempo.windowBlocks, EPOCH_WINDOWS: tempo.epochWindows },
    schedule: (tempo.segments ?? []).map((s) => segmentJson(s, clock)),
  }
}

export function registerTempoCommands(program: Command): void {
  const tempo = program
    .command('tempo')
    .description("The tempo stored with the pool's data: show it, or change it from a coming epoch on")
  tempo
    .command('show')
    .description('Print the stored tempo: genesis, the settings every process must run with, and the schedule')
    .action(async () => {
      await withStoredTempo(async (pool) => {
        print(describe(pool, pool.tempo))
      })
    })

  tempo
    .command('set')
    .description(
      'Change block time, window blocks or epoch windows from the start of a coming epoch; window and epoch numbers continue',
    )
    .option('--block-time <seconds>', 'new BLOCK_TIME_S', parseInteger('--block-time', 1))
    .option('--window-blocks <blocks>', 'new WINDOW_BLOCKS', parseInteger('--window-blocks', 1))
    .option('--epoch-windows <windows>', 'new EPOCH_WINDOWS', parseInteger('--epoch-windows', 1))
    .option(
      '--from-epoch <epoch>',
      'first epoch with the new settings (default: the next epoch)',
      parseInteger('--from-epoch'),
    )
    .action(async (opts: { blockTime?: number; windowBlocks?: number; epochWindows?: number; fromEpoch?: number }) => {
      if (opts.blockTime === undefined && opts.windowBlocks === undefined && opts.epochWindows === undefined) {
        throw new Error('give at least one of --block-time, --window-blocks, --epoch-windows')
      }
      await withStoredTempo(async (pool) => {
        const { scheduleTempo } = await import('../domain/tempo.ts')
        const { writeTempo } = await import('../services/tempo.ts')
        const current = pool.currentEpoch()
        const lastClosed = await pool.epochs.lastClosed()
        const from = opts.fromEpoch ?? current + 1
        if (from <= current)
          throw new Error(
            `--from-epoch ${from} has already started (the pool is in epoch ${current}); a change starts at a coming epoch`,
          )
        if (lastClosed !== null && from <= lastClosed)
          throw new Error(`epoch ${lastClosed} is already closed; a change starts after it`)
        const settings = {
          blockTimeS: opts.blockTime ?? pool.tempo.blockTimeS,
          windowBlocks: opts.windowBlocks ?? pool.tempo.windowBlocks,
          epochWindows: opts.epochWindows ?? pool.tempo.epochWindows,
        }
        const next = scheduleTempo(pool.tempo, from, settings)
        await writeTempo(pool.database.db, next)
        print({
          ...describe(pool, next),
          note:
            `from epoch ${from} on; set BLOCK_TIME_S=${settings.blockTimeS} WINDOW_BLOCKS=${settings.windowBlocks} EPOCH_WINDOWS=${settings.epochWindows} ` +
            "in every process's environment (running processes follow the stored tempo within JOB_INTERVAL_S; a restart with other values is refused)",
        })
      })
    })
}
