import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DRAW_MODULUS, isOffered, offerBounds, offerRank } from '../../src/domain/assignment.ts'
import { seededRandom } from '../../src/simulation/cheating.ts'

const draws = (seed: number, count: number): bigint[] => {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => BigInt(1 + Math.floor(random() * (DRAW_MODULUS - 1))))
}

describe('offerBounds', () => {
  it('offers everything to everyone when the spread is 0 or the pool is small', () => {
    assert.deepEqual(offerBounds({ spread: 0, activeMiners: 1000, widenMs: 60_000 }, 3), [])
    // 0.5 x 3 of 1 miner: more than everyone.
    assert.deepEqual(offerBounds({ spread: 0.5, activeMiners: 1, widenMs: 60_000 }, 3), [])
  })

  it('doubles the bound each widening step until everyone qualifies', () => {
    const bounds = offerBounds({ spread: 0.5, activeMiners: 300, widenMs: 60_000 }, 3)
    assert.ok(bounds.length > 3)
    for (let k = 1; k < bounds.length; k++) assert.ok(Math.abs(bounds[k]! - 2 * bounds[k - 1]!) <= 1)
    assert.ok(bounds.at(-1)! * 3 < DRAW_MODULUS && bounds.at(-1)! * 6 >= DRAW_MODULUS - 2)
  })
})

describe('the draw', () => {
  it('offers an algorithm first to about spread x n of the active miners, and to more as it waits', () => {
    const active = 400
    const miners = draws(1, active)
    const algorithms = draws(2, 200)
    const bounds = offerBounds({ spread: 0.5, activeMiners: active, widenMs: 60_000 }, 3)
    const offered = (waitedMs: number) =>
      algorithms.reduce(
        (sum, a) => sum + miners.filter((m) => isOffered(offerRank(a, m), 3, waitedMs, bounds, 60_000)).length,
        0,
      ) / algorithms.length
    // Expected 1.5, 3, 6 miners per algorithm.
    assert.ok(Math.abs(offered(0) - 1.5) < 0.3, `first offer ${offered(0)}`)
    assert.ok(Math.abs(offered(60_000) - 3) < 0.5, `after one period ${offered(60_000)}`)
    assert.ok(Math.abs(offered(150_000) - 6) < 0.8, `after two periods ${offered(150_000)}`)
    assert.equal(offered(60_000 * 64), active)
  })

  it('picks different miners for different algorithms (no miner is everyone’s evaluator)', () => {
    const active = 300
    const miners = draws(3, active)
    const bounds = offerBounds({ spread: 0.5, activeMiners: active, widenMs: 60_000 }, 3)
    const counts = new Map<bigint, number>()
    for (const a of draws(4, 2000)) {
      for (const m of miners)
        if (isOffered(offerRank(a, m), 3, 0, bounds, 60_000)) counts.set(m, (counts.get(m) ?? 0) + 1)
    }
    // Each miner is offered about 1.5 x 2000 / 300 = 10 of the algorithms; none gets many times that.
    assert.ok(Math.max(...counts.values()) < 30)
  })

  it('keeps ranks inside [0, DRAW_MODULUS) for any draws', () => {
    const drawArb = fc.bigInt({ min: 1n, max: BigInt(DRAW_MODULUS - 1) })
    fc.assert(
      fc.property(drawArb, drawArb, (a, m) => {
        const rank = offerRank(a, m)
        assert.ok(rank >= 0n && rank < BigInt(DRAW_MODULUS))
        // The product the SQL filter computes fits a signed 64-bit integer.
        assert.ok(a * m < 2n ** 63n)
      }),
    )
  })
})
