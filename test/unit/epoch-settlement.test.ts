import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  cumulativeCredit,
  reachesMinPayout,
  settleEpoch,
  type Settlement,
  type SettlementInput,
} from '../../src/domain/epoch-settlement.ts'
import type { PointsEntry } from '../../src/domain/payouts.ts'
import { STORED_UNITS_MAX } from '../../src/domain/units.ts'

// The largest budget whose leaves stay storable with the credit in below (at most 25 × 10^15).
const BIG_BUDGET = 9n * 10n ** 18n

/** A miner whose public key is 32 copies of `keyByte`. */
function miner(hotkey: string, keyByte: number, microPoints: bigint): PointsEntry {
  return { hotkey, publicKey: new Uint8Array(32).fill(keyByte), microPoints }
}

const BASE: SettlementInput = {
  points: [],
  creditIn: new Map(),
  recipients: new Map(),
  budgetUnits: 1000n,
  feeBps: 0,
  minerCapBps: 0,
  minPayoutUnits: 0n,
}

function leavesOf(s: Settlement): Record<string, bigint> {
  return Object.fromEntries(s.leaves.map((l) => [l.hotkey, l.amountUnits]))
}

const sum = (values: Iterable<bigint>): bigint => [...values].reduce((a, b) => a + b, 0n)

describe('reachesMinPayout', () => {
  it('needs credit above 0 and at least the minimum', () => {
    assert.equal(reachesMinPayout(0n, 0n), false)
    assert.equal(reachesMinPayout(1n, 0n), true)
    assert.equal(reachesMinPayout(99n, 100n), false)
    assert.equal(reachesMinPayout(100n, 100n), true)
    assert.equal(reachesMinPayout(101n, 100n), true)
  })
})

describe('cumulativeCredit', () => {
  it('adds the payouts to the credit in, keeping hotkeys paid nothing this epoch', () => {
    const credit = cumulativeCredit(
      new Map([
        ['a', 5n],
        ['b', 7n],
      ]),
      [
        { hotkey: 'b', units: 3n },
        { hotkey: 'c', units: 0n },
      ],
    )
    assert.deepEqual(
      credit,
      new Map([
        ['a', 5n],
        ['b', 10n],
        ['c', 0n],
      ]),
    )
  })
})

describe('settleEpoch: table', () => {
  it('pays in proportion and gives each miner with a recipient a leaf', () => {
    const s = settleEpoch({
      ...BASE,
      points: [miner('a', 1, 1n), miner('b', 2, 3n)],
      recipients: new Map([
        ['a', 'ra'],
        ['b', 'rb'],
      ]),
    })
    assert.deepEqual(leavesOf(s), { a: 250n, b: 750n })
    assert.deepEqual(
      s.leaves.map((l) => l.recipient),
      ['ra', 'rb'],
    )
    assert.equal(s.carried.size, 0)
  })

  it('carries the credit of a miner without a recipient, and puts the whole of it in a leaf once there is one', () => {
    const first = settleEpoch({ ...BASE, points: [miner('a', 1, 1n)] })
    assert.deepEqual(first.leaves, [])
    assert.deepEqual(first.carried, new Map([['a', 1000n]]))
    const second = settleEpoch({
      ...BASE,
      points: [miner('a', 1, 1n)],
      creditIn: first.credit,
      recipients: new Map([['a', 'ra']]),
    })
    assert.deepEqual(leavesOf(second), { a: 2000n })
    assert.equal(second.carried.size, 0)
  })

  it('carries credit below the minimum payout and pays it once the cumulative credit reaches it', () => {
    const input = { ...BASE, budgetUnits: 40n, minPayoutUnits: 100n, recipients: new Map([['a', 'ra']]) }
    let credit = new Map<string, bigint>()
    const seen: Array<[number, number]> = []
    for (let epoch = 0; epoch < 3; epoch++) {
      const s = settleEpoch({ ...input, points: [miner('a', 1, 1n)], creditIn: credit })
      seen.push([s.leaves.length, s.carried.size])
      credit = s.credit
    }
    // 40, 80: below 100, carried; 120: a leaf.
    assert.deepEqual(seen, [
      [0, 1],
      [0, 1],
      [1, 0],
    ])
    assert.deepEqual(credit, new Map([['a', 120n]]))
  })

  it('gives a leaf at exactly the minimum, not one unit below it', () => {
    const at = settleEpoch({ ...BASE, budgetUnits: 100n, minPayoutUnits: 100n, points: [miner('a', 1, 1n)] })
    assert.deepEqual(at.carried, new Map([['a', 100n]]), 'no recipient: carried')
    const recipients = new Map([['a', 'ra']])
    assert.deepEqual(
      leavesOf(
        settleEpoch({ ...BASE, budgetUnits: 100n, minPayoutUnits: 100n, points: [miner('a', 1, 1n)], recipients }),
      ),
      { a: 100n },
    )
    const below = settleEpoch({
      ...BASE,
      budgetUnits: 99n,
      minPayoutUnits: 100n,
      points: [miner('a', 1, 1n)],
      recipients,
    })
    assert.deepEqual(below.leaves, [])
    assert.deepEqual(below.carried, new Map([['a', 99n]]))
  })

  it('takes no fee when no one has points, and still gives earlier credit its leaf', () => {
    const s = settleEpoch({
      ...BASE,
      feeBps: 500,
      points: [miner('a', 1, 0n)],
      creditIn: new Map([['b', 70n]]),
      recipients: new Map([['b', 'rb']]),
    })
    assert.equal(s.payouts.feeUnits, 0n)
    assert.equal(s.payouts.undistributedUnits, 1000n)
    assert.deepEqual(s.payouts.payouts, [])
    assert.deepEqual(leavesOf(s), { b: 70n })
  })

  it('takes the fee off the budget when someone has points', () => {
    const s = settleEpoch({ ...BASE, feeBps: 500, points: [miner('a', 1, 1n)], recipients: new Map([['a', 'ra']]) })
    assert.equal(s.payouts.feeUnits, 50n)
    assert.deepEqual(leavesOf(s), { a: 950n })
  })

  it('caps each miner at its share of the budget; what no one may take stays undistributed', () => {
    const s = settleEpoch({
      ...BASE,
      minerCapBps: 2500,
      points: [miner('a', 1, 10n), miner('b', 2, 1n)],
      creditIn: new Map([['a', 1_000n]]),
    })
    assert.equal(s.payouts.capUnits, 250n)
    assert.deepEqual(
      s.payouts.payouts.map((p) => [p.hotkey, p.units]),
      [
        ['a', 250n],
        ['b', 250n],
      ],
    )
    assert.equal(s.payouts.undistributedUnits, 500n)
    // The cap is on this epoch's payout, not on the cumulative credit.
    assert.deepEqual(s.carried.get('a'), 1_250n)
  })

  it('leaves out hotkeys with no credit, and lists miners with points whose share rounds to 0', () => {
    const s = settleEpoch({
      ...BASE,
      budgetUnits: 1n,
      points: [miner('a', 1, 1n), miner('b', 2, 1n)],
      creditIn: new Map([['z', 0n]]),
      recipients: new Map([
        ['a', 'ra'],
        ['b', 'rb'],
        ['z', 'rz'],
      ]),
    })
    assert.deepEqual(
      s.payouts.payouts.map((p) => [p.hotkey, p.units]),
      [
        ['a', 1n],
        ['b', 0n],
      ],
    )
    assert.deepEqual(leavesOf(s), { a: 1n })
    assert.equal(s.carried.size, 0)
  })

  it('lists leaves by hotkey', () => {
    const s = settleEpoch({
      ...BASE,
      points: [miner('c', 1, 1n), miner('a', 2, 1n), miner('b', 3, 1n)],
      recipients: new Map([
        ['c', 'rc'],
        ['b', 'rb'],
        ['a', 'ra'],
      ]),
    })
    assert.deepEqual(
      s.leaves.map((l) => l.hotkey),
      ['a', 'b', 'c'],
    )
  })

  it('refuses a leaf above the storable maximum and invalid credit or minimum', () => {
    assert.throws(
      () =>
        settleEpoch({
          ...BASE,
          creditIn: new Map([['a', STORED_UNITS_MAX]]),
          points: [miner('a', 1, 1n)],
          recipients: new Map([['a', 'ra']]),
        }),
      /cumulative credit of a exceeds the storable maximum/,
    )
    assert.throws(() => settleEpoch({ ...BASE, creditIn: new Map([['a', -1n]]) }), /credit in of a/)
    assert.throws(() => settleEpoch({ ...BASE, minPayoutUnits: -1n }), /minPayoutUnits/)
    assert.throws(() => settleEpoch({ ...BASE, feeBps: 10_001 }), /feeBps/)
  })
})

// Hotkeys from a small pool, so points, credit in and recipients overlap often.
const hotkeyArb = fc.integer({ min: 0, max: 29 }).map((i) => `hk${String(i).padStart(2, '0')}`)
/** Points of up to 25 distinct miners, each with the micro-points `microPointsArb` draws. */
const pointsOf = (microPointsArb: fc.Arbitrary<bigint>): fc.Arbitrary<PointsEntry[]> =>
  fc
    .uniqueArray(fc.record({ hotkey: hotkeyArb, microPoints: microPointsArb }), {
      maxLength: 25,
      selector: (e) => e.hotkey,
    })
    .map((es) => es.map((e): PointsEntry => miner(e.hotkey, Number(e.hotkey.slice(2)) + 1, e.microPoints)))
const pointsArb = pointsOf(
  fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 10n ** 18n })),
)
/** Points where no one earned anything: no miners at all, or up to 25 with zero micro-points each. */
const noPointsArb = pointsOf(fc.constant(0n))
const creditInArb = fc
  .uniqueArray(fc.tuple(hotkeyArb, fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 15n }))), {
    maxLength: 25,
    selector: ([h]) => h,
  })
  .map((pairs) => new Map(pairs))
const recipientsArb = fc
  .uniqueArray(hotkeyArb, { maxLength: 30 })
  .map((hotkeys) => new Map(hotkeys.map((h) => [h, `r-${h}`])))
const bpsArb = fc.oneof(
  fc.constant(0),
  fc.constant(10_000),
  fc.integer({ min: 1, max: 3000 }),
  fc.integer({ min: 0, max: 10_000 }),
)
/** A settlement input over the given points, with any credit in, recipients, budget, fee, cap and minimum. */
const settlementOf = (points: fc.Arbitrary<PointsEntry[]>): fc.Arbitrary<SettlementInput> =>
  fc.record({
    points,
    creditIn: creditInArb,
    recipients: recipientsArb,
    budgetUnits: fc.oneof(
      fc.bigInt({ min: 0n, max: 10_000n }),
      fc.bigInt({ min: 0n, max: 10n ** 18n }),
      fc.constant(BIG_BUDGET),
    ),
    feeBps: bpsArb,
    minerCapBps: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), bpsArb),
    minPayoutUnits: fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: 1n, max: 2_000n }),
      fc.bigInt({ min: 0n, max: 10n ** 16n }),
    ),
  })
const inputArb = settlementOf(pointsArb)

describe('settleEpoch: properties', () => {
  it('conserves every unit: leaves + carried + fee + undistributed = budget + credit in', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const s = settleEpoch(input)
        const out =
          sum(s.leaves.map((l) => l.amountUnits)) +
          sum(s.carried.values()) +
          s.payouts.feeUnits +
          s.payouts.undistributedUnits
        assert.equal(out, input.budgetUnits + sum(input.creditIn.values()))
      }),
      { numRuns: 1000 },
    )
  })

  it('takes no fee and pays nothing when no one has points', () => {
    fc.assert(
      fc.property(settlementOf(noPointsArb), (input) => {
        const s = settleEpoch(input)
        assert.equal(s.payouts.feeUnits, 0n)
        assert.equal(s.payouts.distributedUnits, 0n)
        assert.equal(s.payouts.undistributedUnits, input.budgetUnits)
        assert.ok(s.payouts.payouts.every((p) => p.units === 0n))
        assert.deepEqual(s.credit, cumulativeCredit(input.creditIn, s.payouts.payouts))
      }),
      { numRuns: 500 },
    )
  })

  it('pays no one above the cap in an epoch', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const s = settleEpoch(input)
        const cap = input.minerCapBps === 0 ? null : (input.budgetUnits * BigInt(input.minerCapBps)) / 10_000n
        assert.equal(s.payouts.capUnits, cap)
        if (cap !== null)
          for (const p of s.payouts.payouts) assert.ok(p.units <= cap, `${p.hotkey}: ${p.units} > ${cap}`)
      }),
      { numRuns: 500 },
    )
  })

  it('gives a leaf only to credit reaching the minimum with a recipient; all other credit is carried', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const s = settleEpoch(input)
        for (const l of s.leaves) {
          assert.ok(l.amountUnits > 0n && l.amountUnits >= input.minPayoutUnits)
          assert.equal(l.recipient, input.recipients.get(l.hotkey))
          assert.equal(l.amountUnits, s.credit.get(l.hotkey))
          assert.ok(!s.carried.has(l.hotkey))
        }
        for (const [hotkey, credit] of s.credit) {
          const leaf = s.leaves.some((l) => l.hotkey === hotkey)
          if (credit === 0n) assert.ok(!leaf && !s.carried.has(hotkey))
          else if (leaf) continue
          else {
            assert.equal(s.carried.get(hotkey), credit)
            assert.ok(!input.recipients.has(hotkey) || credit < input.minPayoutUnits)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('never lowers anyone’s credit, and adds exactly this epoch’s payout', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const s = settleEpoch(input)
        const paid = new Map(s.payouts.payouts.map((p) => [p.hotkey, p.units]))
        for (const hotkey of new Set([...input.creditIn.keys(), ...paid.keys()]))
          assert.equal(s.credit.get(hotkey), (input.creditIn.get(hotkey) ?? 0n) + (paid.get(hotkey) ?? 0n))
      }),
      { numRuns: 500 },
    )
  })

  it('never depends on the order of points, credit or recipients', () => {
    const arb = inputArb.chain((input) =>
      fc.tuple(
        fc.constant(input),
        fc.shuffledSubarray(input.points as PointsEntry[], {
          minLength: input.points.length,
          maxLength: input.points.length,
        }),
        fc.shuffledSubarray([...input.creditIn], { minLength: input.creditIn.size, maxLength: input.creditIn.size }),
        fc.shuffledSubarray([...input.recipients], {
          minLength: input.recipients.size,
          maxLength: input.recipients.size,
        }),
      ),
    )
    fc.assert(
      fc.property(arb, ([input, points, credit, recipients]) => {
        const a = settleEpoch(input)
        const b = settleEpoch({ ...input, points, creditIn: new Map(credit), recipients: new Map(recipients) })
        assert.deepEqual(b, a)
      }),
      { numRuns: 300 },
    )
  })

  it('chains: the credit one epoch leaves is exactly its leaves and carried credit', () => {
    fc.assert(
      fc.property(inputArb, pointsArb, (input, nextPoints) => {
        const first = settleEpoch(input)
        const stated = new Map([
          ...first.leaves.map((l): [string, bigint] => [l.hotkey, l.amountUnits]),
          ...first.carried,
        ])
        const positive = new Map([...first.credit].filter(([, c]) => c > 0n))
        assert.deepEqual(stated, positive)
        // A smaller second budget, so two epochs' credit stays storable.
        const second = settleEpoch({
          ...input,
          budgetUnits: input.budgetUnits % 10n ** 17n,
          points: nextPoints,
          creditIn: first.credit,
        })
        for (const [hotkey, credit] of first.credit) assert.ok(second.credit.get(hotkey)! >= credit)
      }),
      { numRuns: 300 },
    )
  })
})
