import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decideConsensus, judgeSample, samplePolicy, TOLERANCE_SLACK, trustWeight } from '../../src/domain/consensus.ts'
import type { ConsensusDecision, ConsensusParams, SamplePolicy, Vote } from '../../src/domain/consensus.ts'

const DEFAULTS: ConsensusParams = { threshold: 2, toleranceRatio: 0.1 }

/** Votes from miners m0, m1, ... in the given order. */
function votes(...scores: (number | null)[]): Vote[] {
  return scores.map((score, i) => ({ miner: `m${i}`, score }))
}

/** The decision for equal-weight votes, without its weight totals (the weighted tests check those). */
function decide(
  scores: (number | null)[],
  params: Partial<ConsensusParams> = {},
): Omit<ConsensusDecision, 'agreeingWeight' | 'totalWeight'> {
  const {
    agreeingWeight: _a,
    totalWeight: _t,
    ...decision
  } = decideConsensus(votes(...scores), {
    ...DEFAULTS,
    ...params,
  })
  return decision
}

describe('decideConsensus: table', () => {
  it('scores three agreeing votes with their median', () => {
    assert.deepEqual(decide([0.5, 0.52, 0.51]), {
      state: 'scored',
      score: 0.51,
      agreeing: ['m0', 'm1', 'm2'],
      disagreeing: [],
      cluster: 'numeric',
    })
  })

  it('scores two agreeing votes and marks the outlier as disagreeing', () => {
    assert.deepEqual(decide([0.8, 0.3, 0.82]), {
      state: 'scored',
      score: (0.8 + 0.82) / 2,
      agreeing: ['m0', 'm2'],
      disagreeing: ['m1'],
      cluster: 'numeric',
    })
  })

  it('rejects on two invalid votes; the invalid voters agree', () => {
    assert.deepEqual(decide([null, 0.7, null]), {
      state: 'rejected',
      score: null,
      agreeing: ['m0', 'm2'],
      disagreeing: ['m1'],
      cluster: 'invalid',
    })
  })

  it('rejects without agreement when every vote differs', () => {
    assert.deepEqual(decide([0.1, 0.5, 0.9]), {
      state: 'rejected',
      score: null,
      agreeing: [],
      disagreeing: [],
      cluster: 'none',
    })
  })

  it('rejects without agreement when one numeric and one invalid vote fall short of k', () => {
    assert.deepEqual(decide([0.1, null, 0.9]).cluster, 'none')
  })

  it('k = 1 with distinct votes: the smallest spread ties at 0, so the lowest median wins', () => {
    const d = decide([0.9, 0.1, 0.5], { threshold: 1 })
    assert.equal(d.state, 'scored')
    assert.equal(d.score, 0.1)
    assert.deepEqual(d.agreeing, ['m1'])
    assert.deepEqual(d.disagreeing, ['m0', 'm2'])
  })

  it('k = 1 ties between one numeric and one invalid vote go to invalid', () => {
    const d = decide([0.5, null], { threshold: 1 })
    assert.equal(d.cluster, 'invalid')
    assert.deepEqual(d.agreeing, ['m1'])
    assert.deepEqual(d.disagreeing, ['m0'])
  })

  it('size ties between numeric and invalid clusters go to invalid', () => {
    const d = decide([0.5, null, 0.5, null], { threshold: 2 })
    assert.deepEqual(d, {
      state: 'rejected',
      score: null,
      agreeing: ['m1', 'm3'],
      disagreeing: ['m0', 'm2'],
      cluster: 'invalid',
    })
  })

  it('a larger numeric cluster beats a smaller invalid one', () => {
    const d = decide([0.5, null, 0.5, null, 0.5], { threshold: 2 })
    assert.equal(d.state, 'scored')
    assert.deepEqual(d.disagreeing, ['m1', 'm3'])
  })

  it('k = n requires everyone', () => {
    assert.equal(decide([0.5, 0.51, 0.52], { threshold: 3 }).state, 'scored')
    assert.equal(decide([0.5, 0.51, 0.9], { threshold: 3 }).cluster, 'none')
    assert.equal(decide([null, null, null], { threshold: 3 }).cluster, 'invalid')
  })

  it('n = 5 with two clusters of two: the smaller spread wins', () => {
    const d = decide([0.2, 0.21, 0.6, 0.62, null], { threshold: 2 })
    assert.equal(d.state, 'scored')
    assert.equal(d.score, (0.2 + 0.21) / 2)
    assert.deepEqual(d.agreeing, ['m0', 'm1'])
    assert.deepEqual(d.disagreeing, ['m2', 'm3', 'm4'])
  })

  it('n = 5 with two clusters of two and equal spreads: the lower median wins', () => {
    // Dyadic scores so both spreads are exactly 0.0625 in binary.
    const d = decide([0.8125, 0.5, 0.75, 0.5625, null], { threshold: 2, toleranceRatio: 0.2 })
    assert.equal(d.state, 'scored')
    assert.equal(d.score, 0.53125)
    assert.deepEqual(d.agreeing, ['m1', 'm3'])
  })

  it('equal size, spread and median: the lower run wins', () => {
    // {0.375, 0.5 x3} and {0.5 x3, 0.625}: size 4, spread 0.125, median 0.5; all five exceed 0.25 * 0.5.
    const d = decide([0.375, 0.5, 0.5, 0.5, 0.625], { threshold: 2, toleranceRatio: 0.25 })
    assert.equal(d.state, 'scored')
    assert.equal(d.score, 0.5)
    assert.deepEqual(d.agreeing, ['m0', 'm1', 'm2', 'm3'])
    assert.deepEqual(d.disagreeing, ['m4'])
  })

  it('uses the mean of the two middle votes for an even cluster', () => {
    const d = decide([0.6, 0.62, 0.63, 0.64], { threshold: 2 })
    assert.equal(d.state, 'scored')
    assert.equal(d.score, (0.62 + 0.63) / 2)
    assert.equal(d.agreeing.length, 4)
  })

  it('a median of 0 requires equal votes', () => {
    assert.deepEqual(decide([0, 0, 0.001]).agreeing, ['m0', 'm1'])
    assert.equal(decide([0, 0, 0.001]).score, 0)
    assert.equal(decide([0, 0, 1e-12], { threshold: 3, toleranceRatio: 1e6 }).cluster, 'none')
    assert.equal(decide([0, 0, 0], { threshold: 3, toleranceRatio: 0 }).score, 0)
  })

  it('a ratio of 0 requires equal votes', () => {
    assert.equal(decide([0.5, 0.5, 0.5000001], { toleranceRatio: 0 }).score, 0.5)
    assert.deepEqual(decide([0.5, 0.5, 0.5000001], { toleranceRatio: 0 }).agreeing, ['m0', 'm1'])
    assert.equal(decide([0.5, 0.5000001], { toleranceRatio: 0 }).cluster, 'none')
  })

  it('accepts the example from the spec: 0.5 and 0.55 at ratio 0.1', () => {
    assert.equal(decide([0.5, 0.55]).score, 0.525)
  })

  it('accepts clusters exactly at the tolerance boundary, whatever the rounding', () => {
    // {m, m, 1.1m} has spread 0.1m and median m: exactly at the bound in decimal.
    for (let i = 1; i <= 90; i++) {
      const m = i / 100
      const high = Number((m * 1.1).toFixed(4))
      const d = decide([high, m, m], { threshold: 3 })
      assert.equal(d.state, 'scored', `m = ${m}`)
      assert.equal(d.score, m)
    }
    // The same at ratio 0.2: {m, m, 1.2m} has spread 0.2m and median m.
    for (let i = 1; i <= 80; i++) {
      const m = i / 100
      const high = Number((m * 1.2).toFixed(4))
      assert.equal(decide([m, m, high], { threshold: 3, toleranceRatio: 0.2 }).state, 'scored', `m = ${m}`)
    }
  })

  it('rejects clusters just beyond the tolerance boundary', () => {
    for (let i = 1; i <= 90; i++) {
      const m = i / 100
      const high = m * 1.1 + 1e-6
      assert.equal(decide([m, m, high], { threshold: 3 }).cluster, 'none', `m = ${m}`)
    }
  })

  it('never splits equal votes, even when a split cluster would be larger', () => {
    // {0.5, 0.5, 0.552, 0.552} is within tolerance (median 0.526) but would leave out a third 0.5.
    const d = decide([0.5, 0.5, 0.5, 0.552, 0.552], { threshold: 2 })
    assert.equal(d.state, 'scored')
    assert.equal(d.score, 0.5)
    assert.deepEqual(d.agreeing, ['m0', 'm1', 'm2'])
    assert.deepEqual(d.disagreeing, ['m3', 'm4'])
  })

  it('rejects a single vote when k = 2', () => {
    assert.equal(decide([0.7]).cluster, 'none')
    assert.equal(decide([null]).cluster, 'none')
    assert.equal(decide([]).cluster, 'none')
  })

  it('handles the extremes 0 and 1', () => {
    assert.deepEqual(decide([0, 0, 1]), {
      state: 'scored',
      score: 0,
      agreeing: ['m0', 'm1'],
      disagreeing: ['m2'],
      cluster: 'numeric',
    })
    assert.deepEqual(decide([1, 0, 1]), {
      state: 'scored',
      score: 1,
      agreeing: ['m0', 'm2'],
      disagreeing: ['m1'],
      cluster: 'numeric',
    })
    assert.equal(decide([0, 1]).cluster, 'none')
    // Ratio 2: spread 1 equals 2 x median 0.5.
    assert.equal(decide([0, 1], { threshold: 2, toleranceRatio: 2 }).score, 0.5)
    assert.equal(decide([0, 1, 1], { threshold: 3, toleranceRatio: 1 }).score, 1)
  })

  it('treats -0 as 0', () => {
    assert.ok(Object.is(decide([-0, 0, -0]).score, 0))
    assert.ok(Object.is(decide([-0, 0]).score, 0))
  })

  it('sorts miner lists by code unit, not locale', () => {
    const d = decideConsensus(
      [
        { miner: 'b', score: 0.5 },
        { miner: 'B', score: 0.5 },
        { miner: 'a', score: 0.9 },
        { miner: 'A', score: 0.1 },
      ],
      DEFAULTS,
    )
    assert.deepEqual(d.agreeing, ['B', 'b'])
    assert.deepEqual(d.disagreeing, ['A', 'a'])
  })

  it('throws on caller bugs', () => {
    assert.throws(
      () =>
        decideConsensus(
          [
            { miner: 'x', score: 0.5 },
            { miner: 'x', score: null },
          ],
          DEFAULTS,
        ),
      /duplicate/,
    )
    assert.throws(() => decide([1.5]), /\[0, 1\]/)
    assert.throws(() => decide([-0.1]), /\[0, 1\]/)
    assert.throws(() => decide([Number.NaN]), /\[0, 1\]/)
    assert.throws(() => decide([0.5], { threshold: 0 }), /threshold/)
    assert.throws(() => decide([0.5], { threshold: 1.5 }), /threshold/)
    assert.throws(() => decide([0.5], { toleranceRatio: -0.1 }), /tolerance/)
    assert.throws(() => decide([0.5], { toleranceRatio: Number.POSITIVE_INFINITY }), /tolerance/)
  })
})

// Scores from a coarse grid make clusters and equal votes common; arbitrary doubles cover the rest.
const scoreArb: fc.Arbitrary<number | null> = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 0, max: 20 }).map((i) => i / 20),
  fc.integer({ min: 40, max: 60 }).map((i) => i / 100),
  fc.double({ min: 0, max: 1, noNaN: true }),
)

const votesArb = (maxLength: number): fc.Arbitrary<Vote[]> =>
  fc.uniqueArray(fc.record({ miner: fc.string({ maxLength: 3 }), score: scoreArb }), {
    selector: (v) => v.miner,
    maxLength,
  })

const paramsArb: fc.Arbitrary<ConsensusParams> = fc.record({
  threshold: fc.integer({ min: 1, max: 7 }),
  toleranceRatio: fc.oneof(fc.constantFrom(0, 0.05, 0.1, 0.2, 0.5), fc.double({ min: 0, max: 2, noNaN: true })),
})

function median(sorted: readonly number[]): number {
  const n = sorted.length
  const mid = Math.floor(n / 2)
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function withinTolerance(sorted: readonly number[], ratio: number): boolean {
  const spread = (sorted[sorted.length - 1] as number) - (sorted[0] as number)
  return spread <= ratio * median(sorted) * (1 + TOLERANCE_SLACK)
}

interface OracleCluster {
  miners: string[]
  size: number
  spread: number
  median: number
  min: number
}

/** Every subset of numeric votes within tolerance, optionally only those closed under score intervals. */
function subsetsWithinTolerance(vs: readonly Vote[], ratio: number, intervalClosed: boolean): OracleCluster[] {
  const numeric = vs.filter((v): v is { miner: string; score: number } => v.score !== null)
  const out: OracleCluster[] = []
  for (let mask = 1; mask < 1 << numeric.length; mask++) {
    const members = numeric.filter((_, i) => (mask >> i) & 1)
    const scores = members.map((v) => v.score + 0).sort((a, b) => a - b)
    const lo = scores[0] as number
    const hi = scores[scores.length - 1] as number
    if (intervalClosed && numeric.some((v, i) => !((mask >> i) & 1) && v.score >= lo && v.score <= hi)) continue
    if (!withinTolerance(scores, ratio)) continue
    out.push({
      miners: members.map((v) => v.miner).sort(),
      size: scores.length,
      spread: hi - lo,
      median: median(scores),
      min: lo,
    })
  }
  return out
}

function oracleBest(clusters: readonly OracleCluster[]): OracleCluster | undefined {
  return [...clusters].sort((a, b) => b.size - a.size || a.spread - b.spread || a.median - b.median || a.min - b.min)[0]
}

const shuffledArb = <T>(arb: fc.Arbitrary<T[]>): fc.Arbitrary<[T[], T[]]> =>
  arb.chain((xs) => fc.tuple(fc.constant(xs), fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length })))

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

describe('decideConsensus: properties', () => {
  it('is invariant under permutation of the votes', () => {
    fc.assert(
      fc.property(shuffledArb(votesArb(8)), paramsArb, ([vs, shuffled], params) => {
        assert.deepStrictEqual(decideConsensus(shuffled, params), decideConsensus(vs, params))
      }),
      { numRuns: 2000 },
    )
  })

  it('partitions voters into agreeing and disagreeing when there is a winner, and assigns none otherwise', () => {
    fc.assert(
      fc.property(votesArb(8), paramsArb, (vs, params) => {
        const d = decideConsensus(vs, params)
        if (d.cluster === 'none') {
          assert.deepEqual(d.agreeing, [])
          assert.deepEqual(d.disagreeing, [])
          return
        }
        const all = [...d.agreeing, ...d.disagreeing].sort(byCodeUnit)
        assert.deepEqual(all, vs.map((v) => v.miner).sort(byCodeUnit))
        assert.ok(d.agreeing.length >= params.threshold)
        assert.deepEqual(d.agreeing, [...d.agreeing].sort(byCodeUnit))
        assert.deepEqual(d.disagreeing, [...d.disagreeing].sort(byCodeUnit))
      }),
      { numRuns: 2000 },
    )
  })

  it('scores within the agreeing votes, within [0, 1] and within tolerance', () => {
    fc.assert(
      fc.property(votesArb(8), paramsArb, (vs, params) => {
        const d = decideConsensus(vs, params)
        if (d.state !== 'scored') return
        const byMiner = new Map(vs.map((v) => [v.miner, v.score]))
        const agreed = d.agreeing.map((m) => byMiner.get(m) as number).sort((a, b) => a - b)
        assert.ok(agreed.every((s) => typeof s === 'number'))
        assert.ok(d.score >= (agreed[0] as number) && d.score <= (agreed[agreed.length - 1] as number))
        assert.ok(d.score >= 0 && d.score <= 1)
        assert.equal(d.score, median(agreed))
        assert.ok(withinTolerance(agreed, params.toleranceRatio))
      }),
      { numRuns: 2000 },
    )
  })

  it('gives miners with equal votes the same outcome', () => {
    fc.assert(
      fc.property(votesArb(8), paramsArb, (vs, params) => {
        const d = decideConsensus(vs, params)
        const agreeing = new Set(d.agreeing)
        for (const a of vs) {
          for (const b of vs) {
            if (a.score === b.score) assert.equal(agreeing.has(a.miner), agreeing.has(b.miner))
          }
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('matches a brute-force search over all subsets (n <= 6)', () => {
    fc.assert(
      fc.property(votesArb(6), paramsArb, (vs, params) => {
        const d = decideConsensus(vs, params)
        const best = oracleBest(subsetsWithinTolerance(vs, params.toleranceRatio, true))
        const invalid = vs
          .filter((v) => v.score === null)
          .map((v) => v.miner)
          .sort(byCodeUnit)
        const numericSize = best?.size ?? 0
        if (Math.max(numericSize, invalid.length) < params.threshold) {
          assert.equal(d.cluster, 'none')
        } else if (invalid.length >= numericSize) {
          assert.equal(d.cluster, 'invalid')
          assert.deepEqual(d.agreeing, invalid)
        } else {
          assert.ok(best !== undefined)
          assert.equal(d.cluster, 'numeric')
          assert.deepEqual(d.agreeing, [...best.miners].sort(byCodeUnit))
          assert.equal(d.score, best.median)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('with distinct scores, no subset of any shape within tolerance is larger than the winner', () => {
    const distinctVotesArb = fc
      .uniqueArray(fc.record({ miner: fc.string({ maxLength: 3 }), score: scoreArb }), {
        selector: (v) => v.miner,
        maxLength: 6,
      })
      .map((vs) => vs.filter((v, i) => v.score === null || vs.findIndex((w) => w.score === v.score) === i))
    fc.assert(
      fc.property(distinctVotesArb, paramsArb, (vs, params) => {
        const d = decideConsensus(vs, { ...params, threshold: 1 })
        const largest = Math.max(0, ...subsetsWithinTolerance(vs, params.toleranceRatio, false).map((c) => c.size))
        if (d.state === 'scored') assert.equal(d.agreeing.length, largest)
        else assert.ok(largest <= vs.filter((v) => v.score === null).length)
      }),
      { numRuns: 3000 },
    )
  })
})

const weighted = (...list: Array<[number | null, number]>): Vote[] =>
  list.map(([score, weight], i) => ({ miner: `m${i}`, score, weight }))

describe('decideConsensus: weighted votes', () => {
  it('a heavier cluster beats a lighter one of the same size', () => {
    // Equal weights: a size tie of spread 0, the lower median wins.
    assert.equal(decide([0.5, 0.5, 0.9, 0.9]).score, 0.5)
    const d = decideConsensus(weighted([0.5, 0.2], [0.5, 0.2], [0.9, 1], [0.9, 1]), DEFAULTS)
    assert.equal(d.score, 0.9)
    assert.deepEqual(d.agreeing, ['m2', 'm3'])
    assert.equal(d.agreeingWeight, 2)
    assert.ok(Math.abs(d.totalWeight - 2.4) < 1e-12)
  })

  it('a heavier invalid cluster beats a larger numeric one', () => {
    const d = decideConsensus(weighted([null, 1], [null, 1], [0.5, 0.3], [0.5, 0.3], [0.5, 0.3]), DEFAULTS)
    assert.equal(d.state, 'rejected')
    assert.equal(d.cluster, 'invalid')
    assert.deepEqual(d.disagreeing, ['m2', 'm3', 'm4'])
  })

  it('the winner still needs k votes, whatever its weight', () => {
    const d = decideConsensus(weighted([0.9, 5], [0.5, 0.5], [0.5, 0.5]), DEFAULTS)
    assert.equal(d.cluster, 'none')
    assert.deepEqual([d.agreeing, d.disagreeing], [[], []])
  })

  it('a ceiling leaves out clusters above it and never lets invalid win', () => {
    const votes3 = weighted([0.9, 1], [0.9, 1], [0.9, 1], [0.4, 1], [0.4, 1], [null, 1], [null, 1], [null, 1])
    assert.equal(decideConsensus(votes3, DEFAULTS).cluster, 'invalid')
    const capped = decideConsensus(votes3, { ...DEFAULTS, ceiling: 0.5 })
    assert.equal(capped.score, 0.4)
    assert.deepEqual(capped.disagreeing, ['m0', 'm1', 'm2', 'm5', 'm6', 'm7'])
    assert.equal(decideConsensus(votes3, { ...DEFAULTS, ceiling: Number.NEGATIVE_INFINITY }).cluster, 'none')
  })

  it('throws on a weight that is not finite and positive', () => {
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => decideConsensus(weighted([0.5, weight], [0.5, 1]), DEFAULTS), /weight of miner m0/)
    }
  })

  it('equal weights decide exactly as unweighted votes, and scaling every weight changes nothing but the totals', () => {
    const dyadic = fc.constantFrom(0.25, 0.5, 0.75, 1, 2)
    fc.assert(
      fc.property(votesArb(8), paramsArb, dyadic, (vs, params, w) => {
        const plain = decideConsensus(vs, params)
        const scaled = decideConsensus(
          vs.map((v) => ({ ...v, weight: w })),
          params,
        )
        assert.deepEqual(
          { ...scaled, agreeingWeight: plain.agreeingWeight * w, totalWeight: plain.totalWeight * w },
          scaled,
        )
        assert.deepEqual(
          { ...plain, agreeingWeight: 0, totalWeight: 0 },
          { ...scaled, agreeingWeight: 0, totalWeight: 0 },
        )
      }),
      { numRuns: 1000 },
    )
  })

  it('is invariant under permutation of weighted votes', () => {
    const withWeights = votesArb(8).chain((vs) =>
      fc
        .array(fc.constantFrom(0.25, 0.5, 0.75, 1), { minLength: vs.length, maxLength: vs.length })
        .map((ws) => vs.map((v, i) => ({ ...v, weight: ws[i]! }))),
    )
    fc.assert(
      fc.property(shuffledArb(withWeights), paramsArb, ([vs, shuffled], params) => {
        assert.deepStrictEqual(decideConsensus(shuffled, params), decideConsensus(vs, params))
      }),
      { numRuns: 1000 },
    )
  })
})

const POLICY: SamplePolicy = {
  sampleSize: 3,
  maxSampleSize: 9,
  step: 2,
  majority: 0.5,
  supermajority: 0.6667,
  quorumWeight: 3,
  strictSampleSize: 3,
}

/** Votes of weight `w` each, scores in order. */
const at = (w: number, ...scores: Array<number | null>): Vote[] =>
  scores.map((score, i) => ({ miner: `m${i}`, score, weight: w }))

describe('judgeSample: adaptive n, supermajority and quorum', () => {
  it('decides an ordinary score by a simple majority at n', () => {
    const j = judgeSample(at(1, 0.4, 0.4, 0.9), DEFAULTS, POLICY, 0.8)
    assert.equal(j.kind, 'decide')
    assert.equal(j.decision.score, 0.4)
  })

  it('extends a new best short of its supermajority by two evaluators, and says why', () => {
    const j = judgeSample(at(1, 0.9, 0.9, 0.4), DEFAULTS, POLICY, 0.8)
    assert.deepEqual([j.kind, j.kind === 'extend' && j.to, j.kind === 'extend' && j.reason], ['extend', 5, 'new_best'])
    // Unanimous and heavy enough: decided at n.
    assert.equal(judgeSample(at(1, 0.9, 0.9, 0.9), DEFAULTS, POLICY, 0.8).kind, 'decide')
  })

  it('treats a score equal to the best, and any score before there is a best, as a new best', () => {
    assert.equal(judgeSample(at(1, 0.8, 0.8, 0.4), DEFAULTS, POLICY, 0.8).kind, 'extend')
    assert.equal(judgeSample(at(1, 0.2, 0.2, 0.4), DEFAULTS, POLICY, null).kind, 'extend')
    assert.equal(judgeSample(at(1, 0.2, 0.2, 0.4), DEFAULTS, POLICY, 0.8).kind, 'decide')
  })

  it('extends a rejection short of its supermajority, and a sample with no cluster of k', () => {
    const rejection = judgeSample(at(1, null, null, 0.4), DEFAULTS, POLICY, 0.8)
    assert.equal(rejection.kind === 'extend' && rejection.reason, 'rejection')
    const none = judgeSample(at(1, 0.1, 0.5, 0.9), DEFAULTS, POLICY, 0.8)
    assert.equal(none.kind === 'extend' && none.reason, 'no_consensus')
  })

  it('needs the quorum weight for a new best: three newcomers are not enough, six are', () => {
    assert.equal(judgeSample(at(0.5, 0.9, 0.9, 0.9), DEFAULTS, POLICY, 0.8).kind, 'extend')
    assert.equal(judgeSample(at(0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9), DEFAULTS, POLICY, 0.8).kind, 'decide')
    // An ordinary score needs no quorum.
    assert.equal(judgeSample(at(0.5, 0.4, 0.4, 0.4), DEFAULTS, POLICY, 0.8).kind, 'decide')
  })

  it('weighs trusted votes above distrusted ones', () => {
    // Two distrusted evaluators claim a new best; one trusted evaluator reports the truth.
    const votes3: Vote[] = [
      { miner: 'a', score: 0.97, weight: 0.1 },
      { miner: 'b', score: 0.97, weight: 0.1 },
      { miner: 'c', score: 0.4, weight: 0.95 },
    ]
    const j = judgeSample(votes3, DEFAULTS, POLICY, 0.8)
    assert.equal(j.kind, 'extend')
  })

  it('at the largest sample, a new best without its supermajority gives way to the best ordinary cluster', () => {
    const votes9 = at(1, 0.97, 0.97, 0.97, 0.97, 0.97, 0.4, 0.4, 0.4, 0.4)
    const j = judgeSample(votes9, DEFAULTS, POLICY, 0.8)
    assert.equal(j.kind, 'decide')
    assert.equal(j.decision.score, 0.4)
    assert.deepEqual(j.decision.disagreeing, ['m0', 'm1', 'm2', 'm3', 'm4'])
  })

  it('at the largest sample, a rejection without its supermajority gives way to an ordinary score', () => {
    const votes9 = at(1, null, null, null, null, null, 0.4, 0.4, 0.4, 0.4)
    const j = judgeSample(votes9, DEFAULTS, POLICY, 0.8)
    assert.equal(j.decision.state, 'scored')
    assert.equal(j.decision.score, 0.4)
  })

  it('at the largest sample, with nothing ordinary to fall back on, the sample is parked; judged finally, set aside', () => {
    const votes9 = at(1, null, null, null, null, 0.8, 0.8, 0.8, 0.8, 0.8)
    // 0.8 equals the best: a new best, and not ordinary either.
    const parked = judgeSample(votes9, DEFAULTS, POLICY, 0.8)
    assert.equal(parked.kind, 'park')
    const j = judgeSample(votes9, DEFAULTS, POLICY, 0.8, { final: true })
    assert.equal(j.kind, 'decide')
    assert.deepEqual(
      [j.decision.state, j.decision.cluster, j.decision.agreeing, j.decision.disagreeing],
      ['rejected', 'none', [], []],
    )
  })

  it('a parked sample is decided once the weights have moved: the same votes, the nulls distrusted', () => {
    const votes9: Vote[] = [
      ...at(0.1, null, null, null, null),
      ...at(0.95, 0.9, 0.9, 0.9, 0.9, 0.9).map((v, i) => ({ ...v, miner: `h${i}` })),
    ]
    const j = judgeSample(votes9, DEFAULTS, POLICY, 0.8)
    assert.equal(j.kind, 'decide')
    assert.equal(j.decision.score, 0.9)
  })

  it('a pool too small to draw more than n keeps the weighted k-of-n decision', () => {
    const small = { ...POLICY, maxSampleSize: 3, quorumWeight: 1 }
    const j = judgeSample(at(1, 0.9, 0.9, 0.4), DEFAULTS, small, 0.8)
    assert.equal(j.kind, 'decide')
    assert.equal(j.decision.score, 0.9)
  })

  it('never decides a new best or a rejection short of its supermajority before the largest sample, and never extends past it', () => {
    const weightArb = fc.constantFrom(0.1, 0.25, 0.5, 0.75, 1)
    const sampleArb = fc
      .array(
        fc.tuple(
          fc.oneof(fc.constant(null), fc.constantFrom(0, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true })),
          weightArb,
        ),
        {
          minLength: 3,
          maxLength: 9,
        },
      )
      .map((list) => list.map(([score, weight], i) => ({ miner: `m${i}`, score, weight })))
    fc.assert(
      fc.property(
        sampleArb,
        fc.oneof(fc.constant(null), fc.constantFrom(0, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true })),
        (vs, best) => {
          const j = judgeSample(vs, DEFAULTS, POLICY, best)
          if (j.kind === 'park') {
            assert.equal(vs.length, POLICY.maxSampleSize)
            return
          }
          if (j.kind === 'extend') {
            assert.ok(vs.length < POLICY.maxSampleSize)
            assert.equal(j.to, Math.min(POLICY.maxSampleSize, vs.length + POLICY.step))
            return
          }
          const d = j.decision
          const consequential = d.state === 'rejected' ? d.cluster !== 'none' : best === null || d.score >= best
          if (consequential && vs.length < POLICY.maxSampleSize) {
            assert.ok(d.agreeingWeight > POLICY.supermajority * d.totalWeight)
            assert.ok(d.agreeingWeight >= POLICY.quorumWeight * (1 - 1e-9))
          }
          // At the largest sample nothing short of a supermajority is crowned or rejected.
          if (consequential && vs.length >= POLICY.maxSampleSize) {
            assert.ok(d.agreeingWeight > POLICY.supermajority * d.totalWeight)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})

describe('samplePolicy and trustWeight', () => {
  const settings = {
    sampleSize: 3,
    maxSampleSize: 9,
    supermajority: 0.6667,
    quorumWeight: 3,
    strictSampleSize: 7,
    newcomerWeight: 0.5,
  }

  it('never draws more evaluators than the pool has, nor fewer than n', () => {
    assert.equal(samplePolicy(settings, 100).maxSampleSize, 9)
    assert.equal(samplePolicy(settings, 6).maxSampleSize, 6)
    assert.equal(samplePolicy(settings, 2).maxSampleSize, 3)
  })

  it('never asks for more quorum than a supermajority of newcomers in the largest sample gives', () => {
    assert.equal(samplePolicy(settings, 100).quorumWeight, 3)
    const small = samplePolicy(settings, 4)
    assert.ok(Math.abs(small.quorumWeight - 4 * 0.5 * 0.6667) < 1e-12)
    // Four unanimous newcomers decide a new best in a pool of five.
    assert.equal(judgeSample(at(0.5, 0.9, 0.9, 0.9, 0.9), DEFAULTS, small, 0.8).kind, 'decide')
  })

  it('starts a newcomer at one half and moves with its record, always inside (0, 1)', () => {
    assert.equal(trustWeight(0, 0, 4), 0.5)
    assert.ok(trustWeight(10, 0, 4) > trustWeight(9, 0, 4))
    assert.ok(trustWeight(0, 10, 4) < trustWeight(0, 9, 4))
    fc.assert(
      fc.property(fc.nat(1e6), fc.nat(1e6), fc.double({ min: 0.01, max: 1e3, noNaN: true }), (a, d, prior) => {
        const w = trustWeight(a, d, prior)
        assert.ok(w > 0 && w < 1)
      }),
    )
  })
})

describe('judgeSample: the strict sample', () => {
  it('keeps drawing until a new best or a rejection has the strict sample, even when unanimous', () => {
    const strict = { ...POLICY, strictSampleSize: 7 }
    const five = judgeSample(at(1, 0.9, 0.9, 0.9, 0.9, 0.9), DEFAULTS, strict, 0.8)
    assert.deepEqual([five.kind, five.kind === 'extend' && five.to], ['extend', 7])
    assert.equal(judgeSample(at(1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9), DEFAULTS, strict, 0.8).kind, 'decide')
    // An ordinary score is decided at n.
    assert.equal(judgeSample(at(1, 0.4, 0.4, 0.4), DEFAULTS, strict, 0.8).kind, 'decide')
  })
})
