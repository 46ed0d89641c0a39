/**
 * Blocks, windows and epochs (SPEC §4): pure arithmetic over block heights, and the kinds of source the
 * heights come from.
 *
 * A pool's tempo is a schedule of segments. The first starts at block 0, window 0, epoch 0 at genesis; a
 * tempo change (`sotapool tempo set`) appends a segment that starts at an epoch boundary, so window and
 * epoch numbers continue where the previous settings left them instead of being recomputed from block 0.
 */

/** Where block heights come from: counted by the clock from the stored tempo, or followed on a chain. */
export const BLOCK_SOURCES = ['clock', 'chain'] as const
export type BlockSourceKind = (typeof BLOCK_SOURCES)[number]

export interface TempoSegment {
  fromBlock: number
  fromWindow: number
  fromEpoch: number
  /** Unix ms at which `fromBlock` starts when blocks are counted by the clock. */
  fromMs: number
  blockTimeS: number
  windowBlocks: number
  epochWindows: number
}

export interface TempoSettings {
  blockTimeS: number
  windowBlocks: number
  epochWindows: number
}

/**
 * The top-level fields are the latest settings (what a process must be configured with); `segments`,
 * when present, is the whole schedule. Without segments the settings hold from block 0.
 */
export interface Tempo extends TempoSettings {
  segments?: TempoSegment[]
}

export interface WindowInfo {
  block: number
  windowNumber: number
  windowStartBlock: number
  windowEndBlock: number
  timeRemainingS: number
}

export function initialSegment(settings: TempoSettings, genesisMs: number): TempoSegment {
  return { fromBlock: 0, fromWindow: 0, fromEpoch: 0, fromMs: genesisMs, ...settings }
}

function segmentsOf(tempo: Tempo): TempoSegment[] {
  return tempo.segments !== undefined && tempo.segments.length > 0 ? tempo.segments : [initialSegment(tempo, 0)]
}

/** The last segment whose start (by `key`) is at or before `value`; the first segment before any start. */
function segmentAt(
  tempo: Tempo,
  key: 'fromBlock' | 'fromWindow' | 'fromEpoch' | 'fromMs',
  value: number,
): TempoSegment {
  const segments = segmentsOf(tempo)
  let found = segments[0]!
  for (const s of segments) if (s[key] <= value) found = s
  return found
}

export function windowOfBlock(block: number, tempo: Tempo): number {
  const s = segmentAt(tempo, 'fromBlock', block)
  return s.fromWindow + Math.floor((block - s.fromBlock) / s.windowBlocks)
}

export function windowInfo(block: number, tempo: Tempo): WindowInfo {
  const windowNumber = windowOfBlock(block, tempo)
  const { first, last } = windowBlocks(windowNumber, tempo)
  const s = segmentAt(tempo, 'fromBlock', block)
  return {
    block,
    windowNumber,
    windowStartBlock: first,
    windowEndBlock: last + 1,
    timeRemainingS: (last + 1 - block) * s.blockTimeS,
  }
}

export function epochOfWindow(windowNumber: number, tempo: Tempo): number {
  const s = segmentAt(tempo, 'fromWindow', windowNumber)
  return s.fromEpoch + Math.floor((windowNumber - s.fromWindow) / s.epochWindows)
}

/** First and last window of an epoch, inclusive. */
export function epochWindows(epoch: number, tempo: Tempo): { first: number; last: number } {
  const s = segmentAt(tempo, 'fromEpoch', epoch)
  const first = s.fromWindow + (epoch - s.fromEpoch) * s.epochWindows
  return { first, last: first + s.epochWindows - 1 }
}

/** First block of an epoch (of its first window) and the last block inside it (of its last window). */
export function epochBlocks(epoch: number, tempo: Tempo): { first: number; last: number } {
  const { first, last } = epochWindows(epoch, tempo)
  return { first: windowBlocks(first, tempo).first, last: windowBlocks(last, tempo).last }
}

/** First block of a window and the last block inside it. */
export function windowBlocks(windowNumber: number, tempo: Tempo): { first: number; last: number } {
  const s = segmentAt(tempo, 'fromWindow', windowNumber)
  const first = s.fromBlock + (windowNumber - s.fromWindow) * s.windowBlocks
  return { first, last: first + s.windowBlocks - 1 }
}

/** The settings in force for an epoch (what its close records as parameters). */
export function settingsOfEpoch(epoch: number, tempo: Tempo): TempoSettings {
  const { blockTimeS, windowBlocks, epochWindows } = segmentAt(tempo, 'fromEpoch', epoch)
  return { blockTimeS, windowBlocks, epochWindows }
}

/** The block at unix time `ms` when blocks are counted by the clock (never below 0). */
export function blockAtTime(ms: number, tempo: Tempo): number {
  const s = segmentAt(tempo, 'fromMs', ms)
  return Math.max(0, s.fromBlock + Math.floor((ms - s.fromMs) / (s.blockTimeS * 1000)))
}

/** Unix ms at which `block` starts when blocks are counted by the clock. */
export function blockStartMs(block: number, tempo: Tempo): number {
  const s = segmentAt(tempo, 'fromBlock', block)
  return s.fromMs + (block - s.fromBlock) * s.blockTimeS * 1000
}

/**
 * The schedule with `settings` in force from the start of `epoch` on: a segment starting at that epoch's
 * first window and block (replacing any change scheduled at or after it), so numbering stays continuous.
 */
export function scheduleTempo(tempo: Tempo, epoch: number, settings: TempoSettings): Tempo {
  const fromWindow = epochWindows(epoch, tempo).first
  const fromBlock = windowBlocks(fromWindow, tempo).first
  const next: TempoSegment = {
    fromBlock,
    fromWindow,
    fromEpoch: epoch,
    fromMs: blockStartMs(fromBlock, tempo),
    ...settings,
  }
  const segments = [...segmentsOf(tempo).filter((s) => s.fromEpoch < epoch), next]
  return { ...settings, segments }
}

/** The names of the settings that differ, with both values. */
export function tempoDifferences(
  stored: TempoSettings,
  wanted: TempoSettings,
): Array<{ variable: string; stored: number; wanted: number }> {
  const names: Array<[keyof TempoSettings, string]> = [
    ['blockTimeS', 'BLOCK_TIME_S'],
    ['windowBlocks', 'WINDOW_BLOCKS'],
    ['epochWindows', 'EPOCH_WINDOWS'],
  ]
  return names
    .filter(([k]) => stored[k] !== wanted[k])
    .map(([k, variable]) => ({ variable, stored: stored[k], wanted: wanted[k] }))
}
