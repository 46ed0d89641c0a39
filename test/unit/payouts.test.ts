import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { computePayouts, toMicroPoints } from '../../src/domain/payouts.ts'
import type { PayoutParams, PayoutResult, PointsEntry } from '../../src/domain/payouts.ts'

const U64_MAX = 2n ** 64n - 1n
const DEFAULTS: PayoutParams = { budgetUnits: 1_000_000_000n, feeBps: 500, minerCapBps: 500 }

/** A miner whose public key is 32 copies of `keyByte`, so key order is chosen independently of the name. */
function miner(hotkey: string, keyByte: number, microPoints: bigint): PointsEntry {
  return { hotkey, publicKey: new Uint8Array(32).fill(keyByte), microPoints }
}

function unitsOf(r: PayoutResult): Record<string, bigint> {
  return Object.fromEntries(r.payouts.map((p) => [p.hotkey, p.units]))
}

describe('computePayouts: table', () => {
  it('takes the fee off the budget with floor', () => {
    const r = computePayouts([miner('a', 1, 1n)], { ...DEFAULTS, minerCapBps: 0 })
    assert.equal(r.feeUnits, 50_000_000n)
    assert.equal(r.distributableUnits, 950_000_000n)
    assert.deepEqual(unitsOf(r), { a: 950_000_000n })
    const small = computePayouts([miner('a', 1, 1n)], { budgetUnits: 9_999n, feeBps: 1, minerCapBps: 0 })
    assert.equal(small.feeUnits, 0n)
    assert.equal(small.distributableUnits, 9_999n)
    const all = computePayouts([miner('a', 1, 1n)], { budgetUnits: 10_001n, feeBps: 10_000, minerCapBps: 0 })
    assert.equal(all.feeUnits, 10_001n)
    assert.deepEqual(unitsOf(all), { a: 0n })
    assert.equal(all.undistributedUnits, 0n)
  })

  it('redistributes capped excess over several rounds', () => {
    // Cap 200 of 1000. Round 1 caps a (500) and b (250); round 2 gives c 600×200/500 = 240 > 200, so c is
    // capped too; d, e, f then share 400 as 133⅓ each, and the one spare unit goes to the lowest key (f).
    const r = computePayouts(
      [
        miner('a', 9, 1000n),
        miner('b', 8, 500n),
        miner('c', 7, 200n),
        miner('d', 6, 100n),
        miner('e', 5, 100n),
        miner('f', 4, 100n),
      ],
      { budgetUnits: 1000n, feeBps: 0, minerCapBps: 2000 },
    )
    assert.equal(r.capUnits, 200n)
    assert.deepEqual(unitsOf(r), { a: 200n, b: 200n, c: 200n, d: 133n, e: 133n, f: 134n })
    assert.deepEqual(
      r.payouts
        .filter((p) => p.capped)
        .map((p) => p.hotkey)
        .sort(),
      ['a', 'b', 'c'],
    )
    assert.equal(r.distributedUnits, 1000n)
    assert.equal(r.undistributedUnits, 0n)
  })

  it('leaves the rest undistributed when everyone is capped', () => {
    const r = computePayouts([miner('a', 1, 5n), miner('b', 2, 1n), miner('c', 3, 1n)], {
      budgetUnits: 1000n,
      feeBps: 0,
      minerCapBps: 1000,
    })
    assert.deepEqual(unitsOf(r), { a: 100n, b: 100n, c: 100n })
    assert.ok(r.payouts.every((p) => p.capped))
    assert.equal(r.distributedUnits, 300n)
    assert.equal(r.undistributedUnits, 700n)
  })

  it('pays a single miner only the cap', () => {
    const r = computePayouts([miner('solo', 1, 42n)], DEFAULTS)
    assert.equal(r.capUnits, 50_000_000n)
    assert.deepEqual(r.payouts, [{ hotkey: 'solo', units: 50_000_000n, microPoints: 42n, capped: true }])
    assert.equal(r.distributedUnits, 50_000_000n)
    assert.equal(r.undistributedUnits, 900_000_000n)
  })

  it('applies no cap when minerCapBps is 0', () => {
    const r = computePayouts([miner('big', 1, 99n), miner('small', 2, 1n)], {
      budgetUnits: 1000n,
      feeBps: 0,
      minerCapBps: 0,
    })
    assert.equal(r.capUnits, null)
    assert.deepEqual(unitsOf(r), { big: 990n, small: 10n })
    assert.ok(r.payouts.every((p) => !p.capped))
  })

  it('breaks remainder ties by public key bytes, not by hotkey name or input order', () => {
    const r = computePayouts([miner('a', 3, 1n), miner('b', 1, 1n), miner('c', 2, 1n)], {
      budgetUnits: 101n,
      feeBps: 0,
      minerCapBps: 0,
    })
    assert.deepEqual(unitsOf(r), { a: 33n, b: 34n, c: 34n })
    assert.deepEqual(
      r.payouts.map((p) => p.hotkey),
      ['b', 'c', 'a'],
    )
  })

  it('hands spare units to the largest remainders first', () => {
    // 10 × 1/7 = 1.43 and 10 × 6/7 = 8.57: the spare unit goes to the larger remainder despite its key.
    const r = computePayouts([miner('low', 1, 1n), miner('high', 2, 6n)], {
      budgetUnits: 10n,
      feeBps: 0,
      minerCapBps: 0,
    })
    assert.deepEqual(unitsOf(r), { low: 1n, high: 9n })
  })

  it('never tops up a miner whose exact share is the cap', () => {
    // 1000 over 3000 micro-points: x's share is exactly 100 = cap, so x is not capped and has remainder 0;
    // the 3 spare units go to the nine 271-point miners (90⅓ each), never to x.
    const others = Array.from({ length: 9 }, (_, i) => miner(`m${i}`, 10 + i, 271n))
    const r = computePayouts([miner('x', 1, 300n), miner('y', 2, 261n), ...others], {
      budgetUnits: 1000n,
      feeBps: 0,
      minerCapBps: 1000,
    })
    const u = unitsOf(r)
    assert.equal(u.x, 100n)
    assert.equal(r.payouts.find((p) => p.hotkey === 'x')!.capped, false)
    assert.equal(u.y, 87n)
    assert.deepEqual(
      others.map((o) => u[o.hotkey]),
      [91n, 91n, 91n, 90n, 90n, 90n, 90n, 90n, 90n],
    )
    assert.equal(r.distributedUnits, 1000n)
  })

  it('no points: nothing paid, no fee, the whole budget undistributed; lists only miners with points', () => {
    for (const entries of [[], [miner('idle', 1, 0n)], [miner('idle', 1, 0n), miner('idle2', 2, 0n)]]) {
      const r = computePayouts(entries, DEFAULTS)
      assert.deepEqual(r.payouts, [])
      assert.equal(r.feeUnits, 0n)
      assert.equal(r.distributedUnits, 0n)
      assert.equal(r.undistributedUnits, 1_000_000_000n)
    }
    const r = computePayouts([miner('idle', 1, 0n), miner('dust', 2, 1n), miner('whale', 3, 10n ** 12n)], {
      budgetUnits: 1000n,
      feeBps: 0,
      minerCapBps: 0,
    })
    assert.deepEqual(
      r.payouts.map((p) => [p.hotkey, p.units]),
      [
        ['dust', 0n],
        ['whale', 1000n],
      ],
    )
  })

  it('is exact for budgets near 2^64 − 1', () => {
    const r = computePayouts([miner('a', 1, 1n), miner('b', 2, 1n), miner('c', 3, 5n)], {
      budgetUnits: U64_MAX,
      feeBps: 500,
      minerCapBps: 0,
    })
    assert.equal(r.feeUnits, 922337203685477580n)
    assert.equal(r.distributableUnits, 17524406870024074035n)
    // Remainders 1, 1, 5 (of 7): the one spare unit goes to c.
    assert.deepEqual(unitsOf(r), { a: 2503486695717724862n, b: 2503486695717724862n, c: 12517433478588624311n })
    assert.equal(r.distributedUnits, 17524406870024074035n)
    const wideCap = computePayouts([miner('a', 1, 1n), miner('b', 2, 3n)], {
      budgetUnits: U64_MAX,
      feeBps: 0,
      minerCapBps: 9999,
    })
    assert.deepEqual(unitsOf(wideCap), { a: 4611686018427387904n, b: 13835058055282163711n })
  })

  it('gives 0 to every earner when the cap rounds to 0 units', () => {
    const r = computePayouts([miner('a', 1, 1n), miner('b', 2, 2n)], { budgetUnits: 10n, feeBps: 0, minerCapBps: 1 })
    assert.equal(r.capUnits, 0n)
    assert.deepEqual(unitsOf(r), { a: 0n, b: 0n })
    assert.equal(r.undistributedUnits, 10n)
  })

  it('rejects bad parameters and entries', () => {
    const ok = [miner('a', 1, 1n)]
    for (const p of [
      { ...DEFAULTS, feeBps: 10_001 },
      { ...DEFAULTS, feeBps: -1 },
      { ...DEFAULTS, feeBps: 1.5 },
      { ...DEFAULTS, feeBps: NaN },
      { ...DEFAULTS, minerCapBps: 10_001 },
      { ...DEFAULTS, minerCapBps: -1 },
      { ...DEFAULTS, budgetUnits: -1n },
      { ...DEFAULTS, budgetUnits: U64_MAX + 1n },
    ])
      assert.throws(
        () => computePayouts(ok, p),
        RangeError,
        JSON.stringify(p, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
      )
    assert.throws(() => computePayouts([miner('a', 1, 1n), miner('a', 2, 1n)], DEFAULTS), /duplicate hotkey/)
    assert.throws(() => computePayouts([miner('a', 1, 1n), miner('b', 1, 1n)], DEFAULTS), /duplicate public key/)
    assert.throws(() => computePayouts([miner('a', 1, -1n)], DEFAULTS), /microPoints/)
    assert.throws(() => computePayouts([{ ...miner('a', 1, 1n), publicKey: new Uint8Array(31) }], DEFAULTS), /32 bytes/)
    assert.doesNotThrow(() => computePayouts(ok, { budgetUnits: U64_MAX, feeBps: 10_000, minerCapBps: 10_000 }))
  })
})

describe('toMicroPoints', () => {
  it('rounds half up from the decimal the number is written as', () => {
    const cases: Array<[number, bigint]> = [
      [0, 0n],
      [-0, 0n],
      [1, 1_000_000n],
      [0.0000005, 1n],
      [0.0000004999, 0n],
      [0.0000015, 2n],
      [0.0000025, 3n],
      [1.0000004999, 1_000_000n],
      [1.0000005, 1_000_001n],
      [123.456789, 123_456_789n],
      [0.1 + 0.2, 300_000n],
      [1.5e-7, 0n],
      [5e-7, 1n],
      [2.5e-6, 3n],
      [1e21, 10n ** 27n],
      [1.2345e25, 12_345n * 10n ** 27n],
      [Number.MAX_SAFE_INTEGER, 9_007_199_254_740_991_000_000n],
      [Number.MIN_VALUE, 0n],
    ]
    for (const [points, want] of cases) assert.equal(toMicroPoints(points), want, String(points))
  })

  it('rejects non-finite and negative points', () => {
    for (const bad of [NaN, Infinity, -Infinity, -1, -1e-300]) assert.throws(() => toMicroPoints(bad), RangeError)
  })

  it('maps k / 10^6 back to k, and (k + ½) / 10^6 up to k + 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 15 - 1 }), (k) => {
        assert.equal(toMicroPoints(k / 1e6), BigInt(k))
      }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 14 - 1 }), (k) => {
        assert.equal(toMicroPoints((2 * k + 1) / 2e6), BigInt(k) + 1n)
      }),
    )
  })
})

// Reference cap rounds written the obvious way (re-test every uncapped miner each round), to check the
// sorted-prefix scan in computePayouts.
function referenceCapped(entries: readonly PointsEntry[], params: PayoutParams): Set<string> {
  const budget = params.budgetUnits
  const distributable = budget - (budget * BigInt(params.feeBps)) / 10_000n
  const capped = new Set<string>()
  if (params.minerCapBps === 0) return capped
  const cap = (budget * BigInt(params.minerCapBps)) / 10_000n
  for (;;) {
    const uncapped = entries.filter((e) => e.microPoints > 0n && !capped.has(e.hotkey))
    const total = uncapped.reduce((s, e) => s + e.microPoints, 0n)
    const remaining = distributable - BigInt(capped.size) * cap
    const fresh = uncapped.filter((e) => remaining * e.microPoints > cap * total)
    if (fresh.length === 0) return capped
    for (const e of fresh) capped.add(e.hotkey)
  }
}

const microPointsArb = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 1n, max: 1_000n }),
  fc.bigInt({ min: 1n, max: 10n ** 15n }),
  fc.bigInt({ min: 1n, max: 10n ** 30n }),
)
const entriesArb = fc
  .uniqueArray(fc.record({ publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }), microPoints: microPointsArb }), {
    maxLength: 40,
    selector: (e) => e.publicKey.join(','),
  })
  .map((es) => es.map((e, i): PointsEntry => ({ hotkey: `hk${i}`, ...e })))
const bpsArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 10_000 }))
const paramsArb: fc.Arbitrary<PayoutParams> = fc.record({
  budgetUnits: fc.oneof(
    fc.bigInt({ min: 0n, max: 10_000n }),
    fc.bigInt({ min: 0n, max: U64_MAX }),
    fc.constant(U64_MAX),
  ),
  feeBps: bpsArb,
  minerCapBps: bpsArb,
})

// Epochs of every shape the issue of balance touches: no entries, only zeros, one miner, everyone capped
// (many miners, a small cap), odd budgets, and the fee at both ends of its range.
const epochShapeArb: fc.Arbitrary<{ entries: PointsEntry[]; params: PayoutParams }> = fc.record({
  entries: fc.oneof(
    fc.constant<PointsEntry[]>([]),
    entriesArb.map((es) => es.map((e): PointsEntry => ({ ...e, microPoints: 0n }))),
    entriesArb.filter((es) => es.length > 0).map((es) => [es[0]!]),
    entriesArb,
  ),
  params: fc.record({
    budgetUnits: fc.oneof(
      fc.bigInt({ min: 0n, max: 10_000n }).map((b) => b | 1n),
      fc.bigInt({ min: 0n, max: U64_MAX }),
      fc.constant(U64_MAX),
    ),
    feeBps: fc.oneof(fc.constant(0), fc.constant(10_000), bpsArb),
    minerCapBps: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), bpsArb),
  }),
})

describe('computePayouts: properties', () => {
  it('every epoch balances: fee + paid + undistributed = budget; no fee without points', () => {
    let seen = { empty: 0, zeros: 0, allCapped: 0, fullFee: 0 }
    fc.assert(
      fc.property(epochShapeArb, ({ entries, params }) => {
        const r = computePayouts(entries, params)
        const paid = r.payouts.reduce((s, p) => s + p.units, 0n)
        assert.equal(r.feeUnits + paid + r.undistributedUnits, params.budgetUnits)
        assert.ok(r.feeUnits >= 0n && r.undistributedUnits >= 0n)
        const earners = entries.filter((e) => e.microPoints > 0n).length
        if (earners === 0) {
          assert.equal(r.feeUnits, 0n)
          assert.equal(paid, 0n)
          assert.equal(r.undistributedUnits, params.budgetUnits)
        } else {
          assert.equal(r.feeUnits, (params.budgetUnits * BigInt(params.feeBps)) / 10_000n)
        }
        seen = {
          empty: seen.empty + (entries.length === 0 ? 1 : 0),
          zeros: seen.zeros + (entries.length > 0 && earners === 0 ? 1 : 0),
          allCapped: seen.allCapped + (earners > 1 && r.payouts.every((p) => p.capped) ? 1 : 0),
          fullFee: seen.fullFee + (earners > 0 && params.feeBps === 10_000 ? 1 : 0),
        }
      }),
      { numRuns: 2000 },
    )
    // The shapes that once broke the balance were all generated.
    for (const [shape, count] of Object.entries(seen)) assert.ok(count > 0, `no ${shape} epoch generated`)
  })

  it('pays out exactly what it reports as distributed, never above the cap', () => {
    fc.assert(
      fc.property(entriesArb, paramsArb, (entries, params) => {
        const r = computePayouts(entries, params)
        const sum = r.payouts.reduce((s, p) => s + p.units, 0n)
        assert.equal(sum, r.distributedUnits)
        assert.equal(r.distributedUnits, r.distributableUnits - r.undistributedUnits)
        assert.equal(r.distributableUnits + r.feeUnits, params.budgetUnits)
        assert.ok(r.undistributedUnits >= 0n)
        if (r.capUnits !== null) for (const p of r.payouts) assert.ok(p.units <= r.capUnits)
        if (r.undistributedUnits > 0n) assert.ok(r.payouts.every((p) => p.capped))
        assert.deepEqual(
          r.payouts.map((p) => p.hotkey),
          entries
            .filter((e) => e.microPoints > 0n)
            .sort((a, b) => Buffer.compare(a.publicKey, b.publicKey))
            .map((e) => e.hotkey),
        )
      }),
      { numRuns: 500 },
    )
  })

  it('caps the same miners as the plain round-by-round loop, and pays uncapped miners floor or ceil of their share', () => {
    fc.assert(
      fc.property(entriesArb, paramsArb, (entries, params) => {
        const r = computePayouts(entries, params)
        assert.deepEqual(
          new Set(r.payouts.filter((p) => p.capped).map((p) => p.hotkey)),
          referenceCapped(entries, params),
        )
        const uncapped = r.payouts.filter((p) => !p.capped)
        const total = uncapped.reduce((s, p) => s + p.microPoints, 0n)
        const remaining = r.distributableUnits - BigInt(r.payouts.length - uncapped.length) * (r.capUnits ?? 0n)
        for (const p of uncapped) {
          const floor = (remaining * p.microPoints) / total
          assert.ok(p.units === floor || p.units === floor + 1n)
        }
        for (const p of r.payouts) if (p.capped) assert.equal(p.units, r.capUnits)
      }),
      { numRuns: 500 },
    )
  })

  it('never gives a miner fewer units for more points', () => {
    fc.assert(
      fc.property(
        entriesArb.filter((es) => es.length > 0),
        paramsArb,
        fc.nat(),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        (entries, params, pick, extra) => {
          const j = pick % entries.length
          const more = entries.map((e, i) => (i === j ? { ...e, microPoints: e.microPoints + extra } : e))
          const before =
            computePayouts(entries, params).payouts.find((p) => p.hotkey === entries[j]!.hotkey)?.units ?? 0n
          const after = computePayouts(more, params).payouts.find((p) => p.hotkey === entries[j]!.hotkey)!.units
          assert.ok(after >= before, `${after} < ${before}`)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('never depends on the order of the entries', () => {
    const arb = entriesArb.chain((es) =>
      fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length })),
    )
    fc.assert(
      fc.property(arb, paramsArb, ([entries, shuffled], params) => {
        assert.deepEqual(computePayouts(shuffled, params), computePayouts(entries, params))
      }),
      { numRuns: 300 },
    )
  })
})
