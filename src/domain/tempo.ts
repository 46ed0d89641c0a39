/** Blocks, windows and epochs (SPEC §4): pure arithmetic over block heights. */

export interface Tempo { windowBlocks: number; epochWindows: number; blockTimeS: number }

export interface WindowInfo {
  block: number
  windowNumber: number
  windowStartBlock: number
  windowEndBlock: number
  timeRemainingS: number
}

export const windowOfBlock = (block: number, tempo: Tempo): number => Math.floor(block / tempo.windowBlocks)

export function windowInfo (block: number, tempo: Tempo): WindowInfo {
  const windowNumber = windowOfBlock(block, tempo)
  const windowStartBlock = windowNumber * tempo.windowBlocks
  const windowEndBlock = windowStartBlock + tempo.windowBlocks
  return { block, windowNumber, windowStartBlock, windowEndBlock, timeRemainingS: (windowEndBlock - block) * tempo.blockTimeS }
}

export const epochOfWindow = (windowNumber: number, tempo: Tempo): number => Math.floor(windowNumber / tempo.epochWindows)

/** First and last window of an epoch, inclusive. */
export function epochWindows (epoch: number, tempo: Tempo): { first: number; last: number } {
  return { first: epoch * tempo.epochWindows, last: (epoch + 1) * tempo.epochWindows - 1 }
}

/** First block of a window and the last block inside it. */
export function windowBlocks (windowNumber: number, tempo: Tempo): { first: number; last: number } {
  return { first: windowNumber * tempo.windowBlocks, last: (windowNumber + 1) * tempo.windowBlocks - 1 }
}
