// The outside check of an epoch artifact, on artifacts built here from the pool's own rules (payouts,
// cumulative credit, the claim tree): honest ones verify, chained from epoch to epoch; any one tampered
// field is caught and named first.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { cryptoWaitReady } from '@polkadot/util-crypto'
import { encodeHotkey } from '../../src/crypto/sr25519.ts'
import { buildClaimTree, initClaimTree, toHex32 } from '../../src/domain/claim-tree.ts'
import {
  ARTIFACT_NAME,
  ARTIFACT_VERSION,
  artifactText,
  checkEpochArtifact,
  creditState,
} from '../../src/domain/epoch-artifact.ts'
import type { EpochArtifact } from '../../src/schemas/claims.ts'
import { computePayouts, toMicroPoints } from '../../src/domain/payouts.ts'
import { unitsToJson } from '../../src/domain/units.ts'

await initClaimTree()
await cryptoWaitReady()

interface Miner {
  key: Uint8Array
  hotkey: string
  recipient: string | null
  points: number
}
interface Params {
  budget: bigint
  feeBps: number
  capBps: number
  minPayout: bigint
}

/** An honest artifact of `epoch`, as the pool closes it, from the credit before it. */
function honest(epoch: number, miners: Miner[], p: Params, before: Map<string, bigint>): EpochArtifact {
  const entries = miners
    .filter((m) => m.points > 0)
    .map((m) => ({ hotkey: m.hotkey, publicKey: m.key, microPoints: toMicroPoints(m.points) }))
  const r = computePayouts(entries, { budgetUnits: p.budget, feeBps: p.feeBps, minerCapBps: p.capBps })
  const credit = new Map(before)
  for (const q of r.payouts) credit.set(q.hotkey, (credit.get(q.hotkey) ?? 0n) + q.units)
  const byHotkey = new Map(miners.map((m) => [m.hotkey, m]))
  const claimable = [...credit].filter(([h, c]) => c > 0n && c >= p.minPayout && byHotkey.get(h)?.recipient !== null)
  const tree = buildClaimTree(
    BigInt(epoch),
    claimable.map(([h, c]) => ({
      hotkey: byHotkey.get(h)!.key,
      recipient: decode(byHotkey.get(h)!.recipient!),
      amountUnits: c,
    })),
  )
  const keyOf = new Map(miners.map((m) => [Buffer.from(m.key).toString('hex'), m]))
  const leaves = tree.leaves.map((l) => {
    const m = keyOf.get(Buffer.from(l.hotkey).toString('hex'))!
    return {
      index: l.index,
      hotkey: m.hotkey,
      recipient_coldkey: m.recipient!,
      amount_units: unitsToJson(l.amountUnits),
      leaf: toHex32(l.leaf),
    }
  })
  const inLeaves = new Set(leaves.map((l) => l.hotkey))
  return {
    artifact: ARTIFACT_NAME,
    version: ARTIFACT_VERSION,
    format: 'sotapool-claims-blake2b-v1',
    epoch,
    root: toHex32(tree.root),
    num_of_leaves: leaves.length,
    total_units: unitsToJson(tree.leaves.reduce((s, l) => s + l.amountUnits, 0n)),
    epoch_units: unitsToJson(r.distributedUnits),
    fee_units: unitsToJson(r.feeUnits),
    undistributed_units: unitsToJson(r.undistributedUnits),
    budget_units: unitsToJson(p.budget),
    window_start: epoch * 2,
    window_end: epoch * 2 + 1,
    block_start: epoch * 2 * 10,
    block_end: (epoch * 2 + 2) * 10 - 1,
    closed_at: '2026-01-01T00:00:00Z',
    params: {
      budget_units: String(p.budget),
      pool_fee_bps: p.feeBps,
      miner_cap_bps: p.capBps,
      min_payout_units: String(p.minPayout),
      window_blocks: 10,
      epoch_windows: 2,
    },
    payouts: r.payouts.map((q) => ({
      hotkey: q.hotkey,
      points: byHotkey.get(q.hotkey)!.points,
      micro_points: unitsToJson(q.microPoints),
      units: unitsToJson(q.units),
    })),
    credit_without_leaf: [...credit]
      .filter(([h, c]) => c > 0n && !inLeaves.has(h))
      .map(([hotkey, c]) => ({ hotkey, credit_units: unitsToJson(c) })),
    leaves,
  }
}

const decode = (address: string): Uint8Array => {
  const m = ADDRESSES.get(address)
  if (m === undefined) throw new Error('unknown test address')
  return m
}
const ADDRESSES = new Map<string, Uint8Array>()
function address(key: Uint8Array): string {
  const a = encodeHotkey(key)
  ADDRESSES.set(a, key)
  return a
}

const minersArb = fc
  .uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
    minLength: 1,
    maxLength: 12,
    selector: (k) => k.join(','),
  })
  .chain((keys) =>
    fc.tuple(
      fc.constant(keys),
      fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: keys.length, maxLength: keys.length }),
      fc.array(fc.boolean(), { minLength: keys.length, maxLength: keys.length }),
      fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0.000001, max: 1000, noNaN: true })), {
        minLength: 2 * keys.length,
        maxLength: 2 * keys.length,
      }),
    ),
  )
  .map(([keys, recipients, hasRecipient, points]) => {
    const base = keys.map((key, i) => ({
      key,
      hotkey: address(key),
      recipient: hasRecipient[i] === true ? address(recipients[i]!) : null,
    }))
    return [
      base.map((m, i) => ({ ...m, points: points[i]! })),
      base.map((m, i) => ({ ...m, points: points[keys.length + i]! })),
    ]
  })
const paramsArb: fc.Arbitrary<Params> = fc.record({
  budget: fc.oneof(
    fc.bigInt({ min: 0n, max: 10_000n }),
    fc.constant(1_000_000_000n),
    fc.bigInt({ min: 0n, max: 2n ** 62n }),
  ),
  feeBps: fc.oneof(fc.constant(0), fc.constant(10_000), fc.integer({ min: 0, max: 10_000 })),
  capBps: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10_000 })),
  minPayout: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1000n })),
})

/** Two consecutive honest epochs (0 and 1) of the same miners. */
function twoEpochs(miners: Miner[][], p: Params): [EpochArtifact, EpochArtifact] {
  const e0 = honest(0, miners[0]!, p, new Map())
  return [e0, honest(1, miners[1]!, p, creditState(e0).credit)]
}

describe('checkEpochArtifact', () => {
  it('passes honest epochs, chained: the second checked against the credit the first states', () => {
    fc.assert(
      fc.property(minersArb, paramsArb, (miners, p) => {
        const [e0, e1] = twoEpochs(miners, p)
        const c0 = checkEpochArtifact(e0, null)
        assert.deepEqual(c0.problems, [])
        assert.deepEqual(checkEpochArtifact(e1, c0.state).problems, [])
        assert.ok(c0.ok)
      }),
      { numRuns: 60 },
    )
  })

  it('names the first mismatch of any one tampered amount, recipient, leaf order or input', () => {
    const kinds = ['amount', 'recipient', 'order', 'points', 'fee', 'root'] as const
    fc.assert(
      fc.property(minersArb, paramsArb, fc.constantFrom(...kinds), fc.nat(), (miners, p, kind, pick) => {
        const [e0, e1] = twoEpochs(miners, p)
        const before = creditState(e0)
        const x = structuredClone(e1)
        const i = pick % Math.max(1, x.leaves.length)
        let expected: RegExp
        if (kind === 'amount') {
          fc.pre(x.leaves.length > 0)
          x.leaves[i]!.amount_units = unitsToJson(BigInt(x.leaves[i]!.amount_units) + 1n)
          expected = new RegExp(`^leaf ${i} \\(hotkey ${x.leaves[i]!.hotkey}\\): cumulative amount`)
        } else if (kind === 'recipient') {
          fc.pre(x.leaves.length > 0)
          x.leaves[i]!.recipient_coldkey = address(new Uint8Array(32).fill(7))
          expected = new RegExp(
            `^leaf ${i} \\(hotkey ${x.leaves[i]!.hotkey}\\): the leaf hash 0x[0-9a-f]{64} does not match its fields \\(index ${i}, recipient ${x.leaves[i]!.recipient_coldkey}`,
          )
        } else if (kind === 'order') {
          fc.pre(x.leaves.length > 1)
          const j = i === 0 ? 1 : i - 1
          ;[x.leaves[i], x.leaves[j]] = [x.leaves[j]!, x.leaves[i]!]
          expected = /^leaf order: /
        } else if (kind === 'points') {
          // Points and micro-points changed together: only recomputing the payouts can tell.
          fc.pre(x.payouts.length > 0)
          const q = x.payouts[pick % x.payouts.length]!
          q.points = q.points + 1
          q.micro_points = unitsToJson(toMicroPoints(q.points))
          const again = computePayouts(
            x.payouts.map((o) => ({
              hotkey: o.hotkey,
              publicKey: decode(o.hotkey),
              microPoints: BigInt(o.micro_points),
            })),
            { budgetUnits: p.budget, feeBps: p.feeBps, minerCapBps: p.capBps },
          )
          fc.pre(again.payouts.some((o, k) => o.units !== BigInt(e1.payouts[k]!.units)))
          expected = /^payout of \S+: the artifact says \d+ units, the payout rules give \d+/
        } else if (kind === 'fee') {
          fc.pre(x.payouts.length > 0 && p.budget >= 10_000n)
          x.params.pool_fee_bps = p.feeBps === 10_000 ? 9_999 : p.feeBps + 1
          expected = /^payout of \S+: the artifact says|^fee_units: the artifact says/
        } else {
          x.root = toHex32(new Uint8Array(32).fill(9))
          expected = new RegExp(
            `^root: the ${x.leaves.length} leaves fold to 0x[0-9a-f]{64}, the artifact names 0x0909`,
          )
        }
        const r = checkEpochArtifact(x, before)
        assert.equal(r.ok, false, `${kind} went unnoticed`)
        assert.match(r.problems[0]!, expected)
        if (kind === 'points' || kind === 'fee') {
          // The credit built on a wrong payout is not reported again, leaf by leaf.
          const followUps = r.problems.filter((m) => m.startsWith('leaf ') || m.startsWith('credit of '))
          assert.deepEqual(followUps, [])
        }
      }),
      { numRuns: 300 },
    )
  })

  it('names a leaf whose credit does not reach the minimum payout, and a payout above the cap', () => {
    const miners = Array.from({ length: 3 }, (_, i) => ({
      key: new Uint8Array(32).fill(i + 1),
      hotkey: address(new Uint8Array(32).fill(i + 1)),
      recipient: address(new Uint8Array(32).fill(i + 50)),
      points: i + 1,
    }))
    const a = honest(0, miners, { budget: 600n, feeBps: 0, capBps: 0, minPayout: 0n }, new Map())
    assert.deepEqual(checkEpochArtifact(a, null).problems, [])
    const below = structuredClone(a)
    below.params.min_payout_units = '150'
    assert.deepEqual(checkEpochArtifact(below, null).problems, [
      `leaf 0 (hotkey ${miners[0]!.hotkey}): amount 100 is below min_payout_units 150`,
    ])
    const capped = structuredClone(a)
    capped.params.miner_cap_bps = 4000
    // The cap redistributes: the capped miner's 60 units go to the other two.
    const problems = checkEpochArtifact(capped, null).problems
    assert.ok(
      problems.includes(
        `payout of ${miners[2]!.hotkey}: the artifact says 300 units, the payout rules give 240 (from the listed points and params); 300 exceeds the cap of 240`,
      ),
      problems.join('\n'),
    )
    assert.deepEqual(
      problems.filter((m) => m.startsWith('leaf ') || m.startsWith('credit of ')),
      [],
    )
  })

  it('checks windows and blocks against the tempo stated and the epoch before, also after a tempo change', () => {
    const p: Params = { budget: 1_000n, feeBps: 0, capBps: 0, minPayout: 0n }
    const miners = [
      { key: new Uint8Array(32).fill(1), hotkey: address(new Uint8Array(32).fill(1)), recipient: null, points: 1 },
    ]
    const e0 = honest(0, miners, p, new Map())
    // Epoch 1 under a new tempo: 3 windows of 5 blocks, from where epoch 0 (windows 0–1, blocks 0–19) ended.
    const e1 = honest(1, miners, p, creditState(e0).credit)
    Object.assign(e1, { window_start: 2, window_end: 4, block_start: 20, block_end: 34 })
    Object.assign(e1.params, { window_blocks: 5, epoch_windows: 3 })
    const c0 = checkEpochArtifact(e0, null)
    assert.deepEqual(c0.problems, [])
    assert.deepEqual(checkEpochArtifact(e1, c0.state).problems, [])

    const shifted = structuredClone(e1)
    Object.assign(shifted, { block_start: 25, block_end: 39 })
    assert.deepEqual(checkEpochArtifact(shifted, c0.state).problems, [
      'block_start: the artifact says 25, the block after block_end 19 of epoch 0 gives 20',
    ])
    const late = structuredClone(e0)
    Object.assign(late, { window_start: 1, window_end: 2 })
    assert.deepEqual(checkEpochArtifact(late, null).problems, [
      "window_start: the artifact says 1, epoch 0 × epoch_windows 2 (the pool's first closed epoch, in its first tempo period) gives 0",
    ])
  })

  it('reports unreadable artifacts instead of throwing', () => {
    for (const [bad, message] of [
      [null, 'unreadable artifact: the artifact is not a JSON object'],
      [{ artifact: 'other' }, 'unreadable artifact: artifact is "other", expected sotapool-epoch-artifact'],
      [
        { artifact: ARTIFACT_NAME, version: 1, format: 'sotapool-claims-blake2b-v1', epoch: -1 },
        'unreadable artifact: epoch must be a non-negative integer, got -1',
      ],
    ] as const) {
      const r = checkEpochArtifact(bad, null)
      assert.equal(r.ok, false)
      assert.deepEqual(r.problems, [message])
    }
  })

  it('writes the artifact as JSON with one list element per line', async () => {
    const p: Params = { budget: 1_000_000n, feeBps: 100, capBps: 0, minPayout: 0n }
    const miners = Array.from({ length: 3 }, (_, i) => ({
      key: new Uint8Array(32).fill(i + 1),
      hotkey: address(new Uint8Array(32).fill(i + 1)),
      recipient: address(new Uint8Array(32).fill(i + 50)),
      points: i + 1,
    }))
    const a = honest(0, miners, p, new Map())
    const { artifact: _a, version: _v, format: _f, payouts, credit_without_leaf: credit, leaves, ...header } = a
    async function* each<T>(xs: T[]): AsyncGenerator<T> {
      for (const x of xs) yield x
    }
    let text = ''
    for await (const piece of artifactText(header, {
      payouts: each(payouts),
      creditWithoutLeaf: each(credit),
      leaves: each(leaves),
    }))
      text += piece
    assert.deepEqual(JSON.parse(text), a)
    const lines = text.split('\n')
    assert.equal(lines.filter((l) => l.startsWith('{"index"')).length, 3, text)
    assert.ok(lines.includes('"credit_without_leaf":[],'), text)
    assert.deepEqual(checkEpochArtifact(JSON.parse(text), null).problems, [])
  })
})
