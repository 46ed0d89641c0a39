// checkProofPackage (what `sotapool verify-proof` runs): a package built from the independent merkle
// vectors verifies; every field a tamperer could change is reported; the root can be given out of band.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { encodeAddress } from '@polkadot/util-crypto'
import { CLAIM_TREE_FORMAT, initClaimTree } from '../../src/domain/claim-tree.ts'
import { checkProofPackage } from '../../src/domain/proof-package.ts'
import { sharedTestdata } from '../support/shared-data.ts'

await initClaimTree()

interface VectorLeaf {
  index: number
  hotkey: string
  recipient_coldkey: string
  amount_units: string
  leaf: string
  proof: string[]
}
interface VectorCase {
  name: string
  epoch: number
  root: string
  num_of_leaves: number
  leaves: VectorLeaf[]
}
interface Vectors {
  format: string
  cases: VectorCase[]
}

const vectors = sharedTestdata('merkle-vectors.json') as Vectors
const byName = (name: string): VectorCase => {
  const c = vectors.cases.find((v) => v.name === name)
  assert.ok(c, `vector case ${name}`)
  return c
}

/** A proof package exactly as the claim app serves it (§9), built from a vector leaf. */
function packageOf(c: VectorCase, i: number): Record<string, unknown> {
  const l = c.leaves[i]!
  const amount = BigInt(l.amount_units) <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(l.amount_units) : l.amount_units
  return {
    epoch: c.epoch,
    index: l.index,
    hotkey: l.hotkey,
    recipient_coldkey: l.recipient_coldkey,
    amount_units: amount,
    amount,
    proof: [...l.proof],
    root: c.root,
    leaf: l.leaf,
    format: CLAIM_TREE_FORMAT,
  }
}

const otherAddress = encodeAddress(new Uint8Array(32).fill(7), 42)
const flipLastHex = (h: string): string => h.slice(0, -1) + (h.endsWith('0') ? '1' : '0')

describe('proof package check', () => {
  it('the vectors name the format the pool writes', () => {
    assert.equal(vectors.format, CLAIM_TREE_FORMAT)
  })

  it('every leaf of every non-empty vector case verifies as a package', () => {
    let checked = 0
    for (const c of vectors.cases) {
      c.leaves.forEach((l, i) => {
        const result = checkProofPackage(packageOf(c, i))
        assert.deepEqual(result.problems, [], `${c.name} leaf ${i}`)
        assert.equal(result.ok, true)
        assert.equal(result.leaf, l.leaf)
        assert.equal(result.root, c.root)
        checked++
      })
    }
    assert.ok(checked > 100)
  })

  it('a package survives a JSON round trip (amounts above 2^53 as decimal strings)', () => {
    const c = byName('three')
    const pkg = packageOf(c, 0)
    assert.equal(typeof pkg.amount_units, 'string')
    assert.ok(BigInt(pkg.amount_units as string) > BigInt(Number.MAX_SAFE_INTEGER))
    assert.equal(checkProofPackage(JSON.parse(JSON.stringify(pkg))).ok, true)
  })

  it('accepts a small amount as a JSON number or as a decimal string', () => {
    // A single-leaf tree with a small amount would need a hash of our own; reuse the vector and compare
    // number vs string of the same value instead.
    const pkg = packageOf(byName('edge-amounts'), 0)
    const asString = { ...pkg, amount_units: String(pkg.amount_units), amount: String(pkg.amount) }
    assert.equal(checkProofPackage(pkg).ok, true)
    assert.equal(checkProofPackage(asString).ok, true)
  })

  const tamperings: Array<[string, (p: Record<string, unknown>) => void, RegExp]> = [
    [
      'epoch',
      (p) => {
        p.epoch = (p.epoch as number) + 1
      },
      /folds to/,
    ],
    [
      'index',
      (p) => {
        p.index = (p.index as number) + 1
      },
      /folds to/,
    ],
    [
      'hotkey',
      (p) => {
        p.hotkey = otherAddress
      },
      /folds to/,
    ],
    [
      'recipient_coldkey',
      (p) => {
        p.recipient_coldkey = otherAddress
      },
      /folds to/,
    ],
    [
      'amount_units',
      (p) => {
        p.amount_units = (BigInt(p.amount_units as string) - 1n).toString()
      },
      /folds to/,
    ],
    [
      'a proof element',
      (p) => {
        ;(p.proof as string[])[0] = flipLastHex((p.proof as string[])[0]!)
      },
      /folds to/,
    ],
    [
      'a dropped proof element',
      (p) => {
        ;(p.proof as string[]).pop()
      },
      /folds to/,
    ],
    [
      'an extra proof element',
      (p) => {
        ;(p.proof as string[]).push(`0x${'ab'.repeat(32)}`)
      },
      /folds to/,
    ],
    [
      'root',
      (p) => {
        p.root = flipLastHex(p.root as string)
      },
      /folds to/,
    ],
    [
      'leaf',
      (p) => {
        p.leaf = flipLastHex(p.leaf as string)
      },
      /leaf in the package/,
    ],
    [
      'amount (differs from amount_units)',
      (p) => {
        p.amount = (BigInt(p.amount as string) + 1n).toString()
      },
      /amount/,
    ],
  ]
  for (const [field, tamper, message] of tamperings) {
    it(`reports a tampered ${field}`, () => {
      const pkg = packageOf(byName('three'), 0)
      pkg.proof = [...(pkg.proof as string[])]
      tamper(pkg)
      const result = checkProofPackage(pkg)
      assert.equal(result.ok, false)
      assert.ok(
        result.problems.some((p) => message.test(p)),
        `problems: ${JSON.stringify(result.problems)}`,
      )
    })
  }

  it('reports malformed fields by name instead of throwing', () => {
    const base = packageOf(byName('two'), 1)
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, epoch: -1 }, /epoch/],
      [{ ...base, epoch: '3' }, /epoch/],
      [{ ...base, index: 1.5 }, /index/],
      [{ ...base, index: 2 ** 32 }, /index/],
      [{ ...base, hotkey: 'not-an-address' }, /hotkey/],
      [{ ...base, recipient_coldkey: undefined }, /recipient_coldkey/],
      [{ ...base, amount_units: -5 }, /amount_units/],
      [{ ...base, amount_units: '18446744073709551616' }, /amount_units/],
      [{ ...base, proof: 'nope' }, /proof/],
      [{ ...base, proof: ['0x1234'] }, /proof/],
      [{ ...base, root: 'zz' }, /root/],
    ]
    for (const [pkg, message] of cases) {
      const result = checkProofPackage(pkg)
      assert.equal(result.ok, false)
      assert.ok(
        result.problems.some((p) => message.test(p)),
        `${JSON.stringify(result.problems)} should match ${message}`,
      )
    }
    for (const junk of [null, undefined, 42, 'text', []]) assert.equal(checkProofPackage(junk).ok, false)
  })

  it('a wrong or missing format is reported even when the proof folds', () => {
    for (const format of ['sotapool-claims-keccak-v1', undefined, 1]) {
      const result = checkProofPackage({ ...packageOf(byName('two'), 0), format })
      assert.equal(result.ok, false)
      assert.ok(result.problems.some((p) => /format/.test(p)))
      assert.ok(!result.problems.some((p) => /folds to/.test(p)), 'the proof itself still folds')
    }
  })

  describe('expected root given out of band', () => {
    const c = byName('seven')
    it('the right root verifies (either hex case)', () => {
      assert.equal(checkProofPackage(packageOf(c, 3), c.root).ok, true)
      assert.equal(checkProofPackage(packageOf(c, 3), `0x${c.root.slice(2).toUpperCase()}`).ok, true)
    })
    it('another root fails even though the package is self-consistent', () => {
      const other = byName('three').root
      const result = checkProofPackage(packageOf(c, 3), other)
      assert.equal(result.ok, false)
      assert.ok(result.problems.some((p) => p.includes(other)))
    })
    it('a package that names a forged root is caught', () => {
      // A forger rebuilds the package around a root of their own; the independent root exposes it.
      const forged = { ...packageOf(c, 3), root: byName('three').root }
      assert.equal(checkProofPackage(forged).ok, false)
      const result = checkProofPackage(forged, c.root)
      assert.equal(result.ok, false)
      assert.ok(result.problems.some((p) => /names root/.test(p)))
    })
    it('a malformed expected root is reported', () => {
      const result = checkProofPackage(packageOf(c, 3), 'not-a-root')
      assert.equal(result.ok, false)
      assert.ok(result.problems.some((p) => /root/.test(p)))
    })
  })
})
