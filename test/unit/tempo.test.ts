// Tempo (SPEC §4): windows and epochs from block heights, and a tempo change that keeps numbering continuous.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  blockAtTime,
  epochBlocks,
  epochOfWindow,
  epochWindows,
  initialSegment,
  scheduleTempo,
  tempoDifferences,
  windowBlocks,
  windowInfo,
  windowOfBlock,
  type Tempo,
} from '../../src/domain/tempo.ts'

const GENESIS = 1_700_000_000_000
const base: Tempo = {
  blockTimeS: 12,
  windowBlocks: 360,
  epochWindows: 1,
  segments: [initialSegment({ blockTimeS: 12, windowBlocks: 360, epochWindows: 1 }, GENESIS)],
}

describe('one segment', () => {
  test('windows, epochs and blocks follow the settings from block 0', () => {
    assert.equal(windowOfBlock(0, base), 0)
    assert.equal(windowOfBlock(359, base), 0)
    assert.equal(windowOfBlock(360, base), 1)
    assert.deepEqual(windowBlocks(2, base), { first: 720, last: 1079 })
    assert.deepEqual(epochWindows(3, base), { first: 3, last: 3 })
    assert.deepEqual(epochBlocks(3, base), { first: 1080, last: 1439 })
    assert.equal(blockAtTime(GENESIS + 12_000 * 10 + 5, base), 10)
    assert.equal(blockAtTime(GENESIS - 1_000_000, base), 0)
    assert.equal(windowInfo(10, base).timeRemainingS, 350 * 12)
  })

  test('a tempo without a schedule is the same single segment', () => {
    const plain: Tempo = { blockTimeS: 12, windowBlocks: 10, epochWindows: 3 }
    assert.equal(windowOfBlock(95, plain), 9)
    assert.equal(epochOfWindow(9, plain), 3)
    assert.deepEqual(epochWindows(3, plain), { first: 9, last: 11 })
    assert.deepEqual(epochBlocks(3, plain), { first: 90, last: 119 })
  })
})

describe('a scheduled change', () => {
  // Window 52 closed under 360 blocks; from epoch 60 windows are 5 blocks and epochs 4 windows.
  const changed = scheduleTempo(base, 60, { blockTimeS: 6, windowBlocks: 5, epochWindows: 4 })

  test('numbering before the change is untouched', () => {
    assert.equal(windowOfBlock(52 * 360 + 7, changed), 52)
    assert.equal(epochOfWindow(52, changed), 52)
    assert.deepEqual(windowBlocks(59, changed), { first: 59 * 360, last: 60 * 360 - 1 })
  })

  test('numbering continues at the change instead of restarting from block 0', () => {
    const start = 60 * 360
    assert.equal(windowOfBlock(start - 1, changed), 59)
    assert.equal(windowOfBlock(start, changed), 60)
    assert.equal(windowOfBlock(start + 5, changed), 61)
    assert.equal(epochOfWindow(60, changed), 60)
    assert.equal(epochOfWindow(63, changed), 60)
    assert.equal(epochOfWindow(64, changed), 61)
    assert.deepEqual(epochWindows(61, changed), { first: 64, last: 67 })
    assert.deepEqual(windowBlocks(64, changed), { first: start + 20, last: start + 24 })
    // The epoch before the change ends where the first epoch after it starts.
    assert.deepEqual(epochBlocks(59, changed), { first: 59 * 360, last: start - 1 })
    assert.deepEqual(epochBlocks(61, changed), { first: start + 20, last: start + 39 })
    // The clock keeps counting blocks from the change at the new block time.
    const changeMs = GENESIS + start * 12_000
    assert.equal(blockAtTime(changeMs - 1, changed), start - 1)
    assert.equal(blockAtTime(changeMs + 6_000 * 7, changed), start + 7)
    assert.deepEqual([changed.windowBlocks, changed.epochWindows, changed.blockTimeS], [5, 4, 6])
  })

  test('property: window and epoch numbers never go back or skip as blocks advance', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 6 }),
        (epoch, wb, ew) => {
          const t = scheduleTempo(base, epoch, { blockTimeS: 12, windowBlocks: wb, epochWindows: ew })
          const from = windowBlocks(epochWindows(epoch, t).first, t).first
          let previous = windowOfBlock(from - 400, t)
          for (let b = from - 399; b < from + 400; b++) {
            const w = windowOfBlock(b, t)
            if (w !== previous && w !== previous + 1) return false
            const { first, last } = windowBlocks(w, t)
            if (b < first || b > last) return false
            if (epochOfWindow(w, t) < epochOfWindow(previous, t)) return false
            previous = w
          }
          return true
        },
      ),
    )
  })

  test('a later change replaces one scheduled at or after its epoch', () => {
    const again = scheduleTempo(changed, 60, { blockTimeS: 12, windowBlocks: 100, epochWindows: 1 })
    assert.equal(again.segments!.length, 2)
    assert.equal(windowOfBlock(60 * 360 + 100, again), 61)
  })
})

test('tempoDifferences names each differing variable with both values', () => {
  assert.deepEqual(tempoDifferences(base, { blockTimeS: 12, windowBlocks: 5, epochWindows: 1 }), [
    { variable: 'WINDOW_BLOCKS', stored: 360, wanted: 5 },
  ])
  assert.deepEqual(tempoDifferences(base, base), [])
})
