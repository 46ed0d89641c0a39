import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { computeWindowPoints, improvement } from '../../src/domain/points.ts'
import type { EvaluationFact, EvolutionFact, MinerWindowPoints, PointsParams } from '../../src/domain/points.ts'

const DEFAULTS: PointsParams = {
  evaluatorWeight: 1,
  evolverWeight: 100,
  baseline: 'genealogy',
  repetitionScope: 'both',
  repetitionPenalty: 1,
  minRewardActivity: 1,
}

function evals(miner: string, agree: number, disagree: number, none = 0): EvaluationFact[] {
  return [
    ...Array.from({ length: agree }, (): EvaluationFact => ({ miner, outcome: 'agree' })),
    ...Array.from({ length: disagree }, (): EvaluationFact => ({ miner, outcome: 'disagree' })),
    ...Array.from({ length: none }, (): EvaluationFact => ({ miner, outcome: 'none' })),
  ]
}

function evo(
  miner: string,
  algorithmId: number,
  score: number | null,
  over: Partial<EvolutionFact> = {},
): EvolutionFact {
  return {
    miner,
    algorithmId,
    score,
    repeat: 'none',
    baselines: { sota: 0.5, genealogy: 0.25, local_evolver: 0.375 },
    ...over,
  }
}

function only(rows: MinerWindowPoints[]): MinerWindowPoints {
  assert.equal(rows.length, 1)
  return rows[0] as MinerWindowPoints
}

describe('improvement', () => {
  it('measures against the configured baseline', () => {
    const fact = evo('a', 1, 0.625)
    assert.equal(improvement(fact, { ...DEFAULTS, baseline: 'sota' }), 12.5)
    assert.equal(improvement(fact, { ...DEFAULTS, baseline: 'genealogy' }), 37.5)
    assert.equal(improvement(fact, { ...DEFAULTS, baseline: 'local_evolver' }), 25)
  })

  it('is 0 below the baseline, when rejected, and for repeats', () => {
    assert.equal(improvement(evo('a', 1, 0.125), DEFAULTS), 0)
    assert.equal(improvement(evo('a', 1, null), DEFAULTS), 0)
    assert.equal(improvement(evo('a', 1, 0.875, { repeat: 'own' }), DEFAULTS), 0)
    assert.equal(improvement(evo('a', 1, 0.875, { repeat: 'other' }), { ...DEFAULTS, repetitionScope: 'off' }), 0)
  })

  it('applies the evolver weight', () => {
    assert.equal(improvement(evo('a', 1, 0.75), { ...DEFAULTS, evolverWeight: 10 }), 5)
    assert.equal(improvement(evo('a', 1, 0.75), { ...DEFAULTS, evolverWeight: 0 }), 0)
  })
})

describe('computeWindowPoints: table', () => {
  it('gives evaluators max(0, agreements - disagreements) x weight', () => {
    const rows = computeWindowPoints([...evals('a', 5, 2), ...evals('b', 1, 1)], [], {
      ...DEFAULTS,
      evaluatorWeight: 1.5,
    })
    assert.deepEqual(rows, [
      {
        miner: 'a',
        agreements: 5,
        disagreements: 2,
        evaluations: 7,
        evolutions: 0,
        scoredEvolutions: 0,
        evaluatorPoints: 4.5,
        evolverPoints: 0,
        penalty: 0,
        inConsensus: true,
        active: true,
        points: 4.5,
      },
      {
        miner: 'b',
        agreements: 1,
        disagreements: 1,
        evaluations: 2,
        evolutions: 0,
        scoredEvolutions: 0,
        evaluatorPoints: 0,
        evolverPoints: 0,
        penalty: 0,
        inConsensus: true,
        active: true,
        points: 0,
      },
    ])
  })

  it('sums evolver points over scored evolutions for each baseline', () => {
    const facts = [evo('a', 2, 0.625), evo('a', 1, 0.5), evo('a', 3, null), evo('a', 4, 0.125)]
    const expected = { sota: 12.5, genealogy: 37.5 + 25, local_evolver: 25 + 12.5 } as const
    for (const baseline of ['sota', 'genealogy', 'local_evolver'] as const) {
      const row = only(computeWindowPoints([], facts, { ...DEFAULTS, baseline }))
      assert.equal(row.evolverPoints, expected[baseline], baseline)
      assert.equal(row.points, expected[baseline], baseline)
      assert.equal(row.evolutions, 4)
      assert.equal(row.scoredEvolutions, 3)
      assert.equal(row.inConsensus, true)
    }
  })

  it('sums improvements in algorithmId order, so float rounding never depends on input order', () => {
    const params = { ...DEFAULTS, evolverWeight: 1 }
    const zero = { sota: 0, genealogy: 0, local_evolver: 0 }
    const facts = [
      evo('a', 1, 0.1, { baselines: zero }),
      evo('a', 2, 0.2, { baselines: zero }),
      evo('a', 3, 0.3, { baselines: zero }),
    ]
    // 0.2 + 0.3 + 0.1 rounds to 0.6, while 0.1 + 0.2 + 0.3 rounds to 0.6000000000000001.
    for (const order of [
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 2],
    ]) {
      const row = only(
        computeWindowPoints(
          [],
          order.map((i) => facts[i] as EvolutionFact),
          params,
        ),
      )
      assert.equal(row.evolverPoints, 0.1 + 0.2 + 0.3, order.join())
    }
  })

  it('charges the repetition penalty by scope and repeat kind', () => {
    const cases: [PointsParams['repetitionScope'], EvolutionFact['repeat'], number][] = [
      ['miner', 'none', 0],
      ['miner', 'own', 1],
      ['miner', 'other', 0],
      ['global', 'none', 0],
      ['global', 'own', 1],
      ['global', 'other', 1],
      ['both', 'none', 0],
      ['both', 'own', 1],
      ['both', 'other', 1],
      ['off', 'none', 0],
      ['off', 'own', 0],
      ['off', 'other', 0],
    ]
    for (const [repetitionScope, repeat, charged] of cases) {
      const params = { ...DEFAULTS, repetitionScope, repetitionPenalty: 2.5 }
      const score = repeat === 'none' ? 0.5 : null
      const row = only(computeWindowPoints(evals('a', 4, 0), [evo('a', 1, score, { repeat })], params))
      const gain = repeat === 'none' ? 25 : 0
      assert.equal(row.penalty, charged * 2.5, `${repetitionScope}/${repeat}`)
      assert.equal(row.evolverPoints, gain, `${repetitionScope}/${repeat}`)
      assert.equal(row.points, 4 + gain - charged * 2.5, `${repetitionScope}/${repeat}`)
    }
  })

  it('gives a repeat no improvement even if it carries a score and the scope is off', () => {
    const row = only(
      computeWindowPoints([], [evo('a', 1, 0.9, { repeat: 'own' })], { ...DEFAULTS, repetitionScope: 'off' }),
    )
    assert.equal(row.evolverPoints, 0)
    assert.equal(row.penalty, 0)
    assert.equal(row.points, 0)
    assert.equal(row.active, true)
  })

  it('charges each penalised evolution once and never goes below zero', () => {
    const facts = [evo('a', 1, null, { repeat: 'own' }), evo('a', 2, null, { repeat: 'other' })]
    const row = only(computeWindowPoints(evals('a', 1, 0), facts, DEFAULTS))
    assert.equal(row.penalty, 2)
    assert.equal(row.points, 0)
    assert.ok(Object.is(row.points, 0))
  })

  it('gives nothing to a miner out of consensus, however large its improvement', () => {
    const row = only(computeWindowPoints(evals('a', 1, 2), [evo('a', 1, 1)], DEFAULTS))
    assert.equal(row.inConsensus, false)
    assert.equal(row.evolverPoints, 75)
    assert.equal(row.points, 0)
  })

  it('gives nothing to a miner below the minimum activity', () => {
    const params = { ...DEFAULTS, minRewardActivity: 3 }
    const below = only(computeWindowPoints(evals('a', 1, 0), [evo('a', 1, 1)], params))
    assert.equal(below.active, false)
    assert.equal(below.points, 0)
    const at = only(computeWindowPoints(evals('a', 2, 0), [evo('a', 1, 1)], params))
    assert.equal(at.active, true)
    assert.equal(at.points, 77)
  })

  it("counts 'none' evaluations as activity but as neither agreement nor disagreement", () => {
    const row = only(computeWindowPoints(evals('a', 0, 0, 2), [], { ...DEFAULTS, minRewardActivity: 2 }))
    assert.equal(row.agreements, 0)
    assert.equal(row.disagreements, 0)
    assert.equal(row.evaluations, 2)
    assert.equal(row.active, true)
    assert.equal(row.inConsensus, true)
    assert.equal(row.points, 0)
    const withEvolution = only(computeWindowPoints(evals('a', 0, 1, 3), [evo('a', 1, 0.5)], DEFAULTS))
    assert.equal(withEvolution.inConsensus, false)
    assert.equal(withEvolution.points, 0)
  })

  it('counts evolutions as activity and keeps evolvers without evaluations in consensus', () => {
    const row = only(computeWindowPoints([], [evo('a', 1, 0.5)], DEFAULTS))
    assert.equal(row.active, true)
    assert.equal(row.inConsensus, true)
    assert.equal(row.points, 25)
  })

  it('returns one row per miner, sorted by code unit', () => {
    const rows = computeWindowPoints(
      [...evals('b', 1, 0), ...evals('B', 1, 0)],
      [evo('a', 1, 0.5), evo('A', 2, null)],
      DEFAULTS,
    )
    assert.deepEqual(
      rows.map((r) => r.miner),
      ['A', 'B', 'a', 'b'],
    )
    assert.deepEqual(computeWindowPoints([], [], DEFAULTS), [])
  })

  it('throws on caller bugs', () => {
    assert.throws(() => computeWindowPoints([], [evo('a', 1, 0.5), evo('b', 1, 0.5)], DEFAULTS), /duplicate/)
    assert.throws(() => computeWindowPoints([], [evo('a', 1.5, 0.5)], DEFAULTS), /integer/)
    assert.throws(() => computeWindowPoints([], [evo('a', 1, 1.5)], DEFAULTS), /\[0, 1\]/)
    assert.throws(() => computeWindowPoints([], [evo('a', 1, Number.NaN)], DEFAULTS), /\[0, 1\]/)
    const badBaseline = evo('a', 1, 0.5, { baselines: { sota: Number.NaN, genealogy: 0, local_evolver: 0 } })
    assert.throws(() => computeWindowPoints([], [badBaseline], DEFAULTS), /baseline/)
    for (const key of ['evaluatorWeight', 'evolverWeight', 'repetitionPenalty', 'minRewardActivity'] as const) {
      assert.throws(() => computeWindowPoints([], [], { ...DEFAULTS, [key]: -1 }), new RegExp(key))
      assert.throws(
        () => computeWindowPoints([], [], { ...DEFAULTS, [key]: Number.POSITIVE_INFINITY }),
        new RegExp(key),
      )
    }
  })
})

const MINERS = ['a', 'b', 'c', 'd']
const unitArb = fc.oneof(
  fc.integer({ min: 0, max: 8 }).map((i) => i / 8),
  fc.double({ min: 0, max: 1, noNaN: true }),
)

const evaluationArb: fc.Arbitrary<EvaluationFact> = fc.record({
  miner: fc.constantFrom(...MINERS),
  outcome: fc.constantFrom('agree', 'disagree', 'none'),
})

const evolutionsArb: fc.Arbitrary<EvolutionFact[]> = fc
  .array(
    fc.record({
      miner: fc.constantFrom(...MINERS),
      score: fc.option(unitArb, { nil: null }),
      repeat: fc.constantFrom('none', 'own', 'other'),
      baselines: fc.record({ sota: unitArb, genealogy: unitArb, local_evolver: unitArb }),
    }),
    { maxLength: 12 },
  )
  .chain((facts) =>
    fc
      .uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: facts.length, maxLength: facts.length })
      .map((ids) => facts.map((f, i): EvolutionFact => ({ ...f, algorithmId: ids[i] as number }))),
  )

const paramsArb: fc.Arbitrary<PointsParams> = fc.record({
  evaluatorWeight: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 10, noNaN: true })),
  evolverWeight: fc.oneof(fc.constant(100), fc.double({ min: 0, max: 1000, noNaN: true })),
  baseline: fc.constantFrom('sota', 'genealogy', 'local_evolver'),
  repetitionScope: fc.constantFrom('miner', 'global', 'both', 'off'),
  repetitionPenalty: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 50, noNaN: true })),
  minRewardActivity: fc.integer({ min: 0, max: 4 }),
})

const shuffled = <T>(xs: readonly T[]): fc.Arbitrary<T[]> =>
  fc.shuffledSubarray([...xs], { minLength: xs.length, maxLength: xs.length })

describe('computeWindowPoints: properties', () => {
  it('is invariant under permutation of both inputs', () => {
    fc.assert(
      fc.property(
        fc.array(evaluationArb, { maxLength: 20 }),
        evolutionsArb,
        paramsArb,
        (evaluations, evolutions, params) => {
          const expected = computeWindowPoints(evaluations, evolutions, params)
          fc.assert(
            fc.property(shuffled(evaluations), shuffled(evolutions), (e, v) => {
              assert.deepStrictEqual(computeWindowPoints(e, v, params), expected)
            }),
            { numRuns: 5 },
          )
        },
      ),
      { numRuns: 500 },
    )
  })

  it('yields finite, non-negative points, zero unless in consensus and active', () => {
    fc.assert(
      fc.property(
        fc.array(evaluationArb, { maxLength: 20 }),
        evolutionsArb,
        paramsArb,
        (evaluations, evolutions, params) => {
          for (const row of computeWindowPoints(evaluations, evolutions, params)) {
            assert.ok(Number.isFinite(row.points) && row.points >= 0 && !Object.is(row.points, -0), JSON.stringify(row))
            if (!row.inConsensus || !row.active) assert.equal(row.points, 0)
            assert.equal(row.inConsensus, row.agreements >= row.disagreements)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  it("never lowers a miner's points when a scored evolution's score rises", () => {
    fc.assert(
      fc.property(
        fc.array(evaluationArb, { maxLength: 20 }),
        evolutionsArb.filter((facts) => facts.some((f) => f.score !== null)),
        paramsArb,
        fc.nat(),
        unitArb,
        (evaluations, evolutions, params, pick, raised) => {
          const scored = evolutions.filter((f) => f.score !== null)
          const target = scored[pick % scored.length] as EvolutionFact
          const higher = Math.max(target.score as number, raised)
          const bumped = evolutions.map((f) => (f === target ? { ...f, score: higher } : f))
          const pointsOf = (facts: EvolutionFact[]): number =>
            (computeWindowPoints(evaluations, facts, params).find((r) => r.miner === target.miner) as MinerWindowPoints)
              .points
          assert.ok(pointsOf(bumped) >= pointsOf(evolutions))
        },
      ),
      { numRuns: 1000 },
    )
  })
})

it('grouped evaluation counts give the same points as one fact per evaluation', () => {
  const params = {
    evaluatorWeight: 1,
    evolverWeight: 100,
    baseline: 'genealogy' as const,
    repetitionScope: 'both' as const,
    repetitionPenalty: 1,
    minRewardActivity: 1,
  }
  const single = computeWindowPoints(
    [
      ...Array.from({ length: 5 }, () => ({ miner: 'a', outcome: 'agree' as const })),
      ...Array.from({ length: 2 }, () => ({ miner: 'a', outcome: 'disagree' as const })),
      { miner: 'b', outcome: 'none' as const },
    ],
    [],
    params,
  )
  const grouped = computeWindowPoints(
    [
      { miner: 'a', outcome: 'agree', count: 5 },
      { miner: 'a', outcome: 'disagree', count: 2 },
      { miner: 'b', outcome: 'none', count: 1 },
    ],
    [],
    params,
  )
  assert.deepEqual(grouped, single)
  assert.equal(grouped.find((r) => r.miner === 'a')?.points, 3)
})
