// The batcher behind signed requests' signature and last_seen writes: a lone call runs at once, calls made
// while the lanes are busy share the next batch, every caller gets its own answer, and a failed batch fails
// only its own callers.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Batcher } from '../../src/db/batcher.ts'

/** A batch run the test finishes by hand. */
interface Held {
  inputs: number[]
  finish(outputs?: string[]): void
  fail(error: Error): void
}

function heldBatcher(options: { concurrency: number; maxSize: number }): {
  batcher: Batcher<number, string>
  runs: Held[]
} {
  const runs: Held[] = []
  const batcher = new Batcher<number, string>(
    (inputs) =>
      new Promise((resolve, reject) => {
        runs.push({
          inputs,
          finish: (outputs) => resolve(outputs ?? inputs.map((i) => `#${i}`)),
          fail: reject,
        })
      }),
    options,
  )
  return { batcher, runs }
}

const settle = async (): Promise<void> => await new Promise((r) => setImmediate(r))

describe('Batcher', () => {
  test('a lone call runs at once, in a batch of its own', async () => {
    const { batcher, runs } = heldBatcher({ concurrency: 1, maxSize: 10 })
    const answer = batcher.call(7)
    assert.deepEqual(
      runs.map((r) => r.inputs),
      [[7]],
    )
    runs[0]!.finish()
    assert.equal(await answer, '#7')
  })

  test('calls made while every lane is busy share the next batch, in order, each with its own answer', async () => {
    const { batcher, runs } = heldBatcher({ concurrency: 2, maxSize: 10 })
    const answers = [1, 2, 3, 4, 5].map((i) => batcher.call(i))
    assert.deepEqual(
      runs.map((r) => r.inputs),
      [[1], [2]],
      'two lanes: the first two calls start at once, the rest wait',
    )
    runs[1]!.finish()
    await settle()
    assert.deepEqual(runs[2]!.inputs, [3, 4, 5], 'the lane that frees first takes every waiting call')
    runs[2]!.finish()
    runs[0]!.finish()
    assert.deepEqual(await Promise.all(answers), ['#1', '#2', '#3', '#4', '#5'])
  })

  test('a batch never holds more than maxSize calls', async () => {
    const { batcher, runs } = heldBatcher({ concurrency: 1, maxSize: 3 })
    const answers = Array.from({ length: 8 }, (_, i) => batcher.call(i))
    for (let i = 0; i < 4 && runs[i] !== undefined; i++) {
      runs[i]!.finish()
      await settle()
    }
    assert.deepEqual(
      runs.map((r) => r.inputs),
      [[0], [1, 2, 3], [4, 5, 6], [7]],
    )
    assert.equal((await Promise.all(answers)).length, 8)
  })

  test('a failed batch fails its own callers only, and the calls after it still run', async () => {
    const { batcher, runs } = heldBatcher({ concurrency: 1, maxSize: 10 })
    const first = batcher.call(1)
    const second = batcher.call(2)
    const third = batcher.call(3)
    runs[0]!.fail(new Error('connection lost'))
    await assert.rejects(first, /connection lost/)
    await settle()
    assert.deepEqual(runs[1]!.inputs, [2, 3])
    runs[1]!.finish()
    assert.deepEqual(await Promise.all([second, third]), ['#2', '#3'])
  })

  test('a batch that answers the wrong number of results fails instead of mixing answers up', async () => {
    const { batcher, runs } = heldBatcher({ concurrency: 1, maxSize: 10 })
    const answer = batcher.call(1)
    runs[0]!.finish(['#1', '#extra'])
    await assert.rejects(answer, /a batch of 1 calls answered 2 results/)
  })

  test('refuses a concurrency or batch size below 1', () => {
    assert.throws(() => new Batcher(async (x: number[]) => x, { concurrency: 0, maxSize: 1 }), RangeError)
    assert.throws(() => new Batcher(async (x: number[]) => x, { concurrency: 1, maxSize: 0 }), RangeError)
  })

  test('property: every caller gets its own answer, within the lane and size limits, whatever the timing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.nat({ max: 3 })), { maxLength: 40 }),
        async (concurrency, maxSize, calls) => {
          let running = 0
          let most = 0
          const batcher = new Batcher<number, number>(
            async (inputs) => {
              assert.ok(inputs.length >= 1 && inputs.length <= maxSize)
              running++
              most = Math.max(most, running)
              // Each batch takes a few turns of the event loop, so later calls arrive while it runs.
              for (let t = 0; t < (inputs[0]! & 3); t++) await settle()
              running--
              return inputs.map((i) => i * 2)
            },
            { concurrency, maxSize },
          )
          const answers: Array<Promise<number>> = []
          for (const [value, pause] of calls) {
            answers.push(batcher.call(value))
            for (let t = 0; t < pause; t++) await settle()
          }
          assert.deepEqual(
            await Promise.all(answers),
            calls.map(([v]) => v * 2),
          )
          assert.ok(most <= concurrency, `${most} batches ran at once, limit ${concurrency}`)
        },
      ),
      { numRuns: 200 },
    )
  })
})
