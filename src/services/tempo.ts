/**
 * The pool's tempo as stored with its data: genesis and the schedule of block time, window blocks and
 * epoch windows. Stored at first start from the configuration; afterwards a process whose settings differ
 * refuses to run (unless told to adopt the stored ones), and only `sotapool tempo set` changes it.
 */
import type { Config } from '../config.ts'
import type { Queryable } from '../db/database.ts'
import { initialSegment, tempoDifferences, type Tempo, type TempoSegment, type TempoSettings } from '../domain/tempo.ts'
import { getMeta, initMeta, setMeta } from './pool-meta.ts'

const TEMPO_KEY = 'tempo'

export class TempoDriftError extends Error {
  constructor(readonly differences: ReturnType<typeof tempoDifferences>) {
    super(
      `this process's tempo differs from the one stored with the pool's data: ${differences
        .map((d) => `${d.variable} is ${d.wanted} here but ${d.stored} in the database`)
        .join('; ')}. ` +
        'Set the stored values, or pass --adopt-stored-tempo (ADOPT_STORED_TEMPO=true) to run with them; ' +
        'to change the tempo on purpose, use `sotapool tempo set`.',
    )
    this.name = 'TempoDriftError'
  }
}

export const configuredTempo = (
  config: Pick<Config, 'blockTimeS' | 'windowBlocks' | 'epochWindows'>,
): TempoSettings => ({
  blockTimeS: config.blockTimeS,
  windowBlocks: config.windowBlocks,
  epochWindows: config.epochWindows,
})

interface StoredSegment {
  from_block: number
  from_window: number
  from_epoch: number
  from_ms: number
  block_time_s: number
  window_blocks: number
  epoch_windows: number
}

const toStored = (s: TempoSegment): StoredSegment => ({
  from_block: s.fromBlock,
  from_window: s.fromWindow,
  from_epoch: s.fromEpoch,
  from_ms: s.fromMs,
  block_time_s: s.blockTimeS,
  window_blocks: s.windowBlocks,
  epoch_windows: s.epochWindows,
})
const fromStored = (s: StoredSegment): TempoSegment => ({
  fromBlock: s.from_block,
  fromWindow: s.from_window,
  fromEpoch: s.from_epoch,
  fromMs: s.from_ms,
  blockTimeS: s.block_time_s,
  windowBlocks: s.window_blocks,
  epochWindows: s.epoch_windows,
})

function tempoOf(segments: TempoSegment[]): Tempo {
  const { blockTimeS, windowBlocks, epochWindows } = segments.at(-1)!
  return { blockTimeS, windowBlocks, epochWindows, segments }
}

/** The stored tempo; at first start (or on a pool made before tempo was stored) the configured one is stored. */
export async function initTempo(db: Queryable, settings: TempoSettings, genesisMs: number): Promise<Tempo> {
  const text = await initMeta(
    db,
    TEMPO_KEY,
    JSON.stringify({ segments: [toStored(initialSegment(settings, genesisMs))] }),
  )
  return tempoOf((JSON.parse(text) as { segments: StoredSegment[] }).segments.map(fromStored))
}

export async function readTempo(db: Queryable): Promise<Tempo | undefined> {
  const text = await getMeta(db, TEMPO_KEY)
  return text === undefined
    ? undefined
    : tempoOf((JSON.parse(text) as { segments: StoredSegment[] }).segments.map(fromStored))
}

export async function writeTempo(db: Queryable, tempo: Tempo): Promise<void> {
  await setMeta(db, TEMPO_KEY, JSON.stringify({ segments: (tempo.segments ?? []).map(toStored) }))
}

/**
 * Throws TempoDriftError when the configured settings differ from the stored ones and adoption is off;
 * otherwise returns the differences adopted (for a warning).
 */
export function checkTempo(
  stored: Tempo,
  configured: TempoSettings,
  adopt: boolean,
): ReturnType<typeof tempoDifferences> {
  const differences = tempoDifferences(stored, configured)
  if (differences.length > 0 && !adopt) throw new TempoDriftError(differences)
  return differences
}

export const adoptedTempoWarning = (differences: ReturnType<typeof tempoDifferences>): string =>
  `running with the tempo stored in the database, not the configured one: ${differences.map((d) => `${d.variable} ${d.stored} (configured ${d.wanted})`).join(', ')}`
