// The dashboard's in-browser claim verifier (src/dashboard/verify.js, plain JS with its own BLAKE2b) must
// agree byte for byte with the shared vectors and with independent implementations.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js'
import { cryptoWaitReady, decodeAddress, encodeAddress } from '@polkadot/util-crypto'
import { blake2b } from '../../src/dashboard/blake2b.js'
import {
  CLAIM_TREE_FORMAT,
  checkProofPackage,
  decodeSs58,
  foldProof,
  fromHex32,
  hashLeaf,
  toHex,
  unitsFromJson,
} from '../../src/dashboard/verify.js'
import { sharedTestdata } from '../support/shared-data.ts'

await cryptoWaitReady()

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
const vectors = sharedTestdata('merkle-vectors.json') as { format: string; cases: VectorCase[] }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const packageOf = (c: VectorCase, l: VectorLeaf): Record<string, unknown> => ({
  epoch: c.epoch,
  index: l.index,
  hotkey: l.hotkey,
  recipient_coldkey: l.recipient_coldkey,
  amount_units: l.amount_units,
  amount: l.amount_units,
  proof: l.proof,
  root: c.root,
  leaf: l.leaf,
  format: vectors.format,
})

describe('dashboard BLAKE2b', () => {
  it('matches RFC 7693 appendix A (BLAKE2b-512 of "abc")', () => {
    assert.equal(
      hex(blake2b(new TextEncoder().encode('abc'), 64)),
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    )
  })

  it('matches @noble/hashes for every length 0..400 (block boundaries included) at 32 and 64 bytes', () => {
    for (let n = 0; n <= 400; n++) {
      const input = new Uint8Array(randomBytes(n))
      for (const dkLen of [32, 64])
        assert.equal(hex(blake2b(input, dkLen)), hex(nobleBlake2b(input, { dkLen })), `length ${n}, digest ${dkLen}`)
    }
  })
})

describe('dashboard SS58 decoding', () => {
  it('gives the public key @polkadot/util-crypto gives, for every address of the vectors', () => {
    const addresses = vectors.cases.flatMap((c) => c.leaves.flatMap((l) => [l.hotkey, l.recipient_coldkey]))
    assert.ok(addresses.length > 10)
    for (const address of addresses) assert.equal(hex(decodeSs58(address)), hex(decodeAddress(address)), address)
  })

  it('refuses a wrong checksum, another prefix, a wrong length and non-base58 text', () => {
    const key = new Uint8Array(randomBytes(32))
    const good = encodeAddress(key, 42)
    assert.equal(hex(decodeSs58(good)), hex(key))
    const last = good.at(-1) === 'a' ? 'b' : 'a'
    assert.throws(() => decodeSs58(good.slice(0, -1) + last), /checksum|bytes/)
    assert.throws(() => decodeSs58(encodeAddress(key, 0)), /prefix is 0/)
    assert.throws(() => decodeSs58(good.slice(0, 20)), /expected 35/)
    assert.throws(() => decodeSs58(good.replace(/.$/, '0')), /not a base58 character/)
  })
})

describe('dashboard claim verifier against merkle-vectors.json', () => {
  it('covers every case of the vectors, the empty one included', () => {
    assert.equal(vectors.format, CLAIM_TREE_FORMAT)
    assert.ok(vectors.cases.length >= 4)
    const empty = vectors.cases.filter((c) => c.leaves.length === 0)
    for (const c of empty)
      assert.equal(c.root, `0x${'00'.repeat(32)}`, `${c.name}: a tree without leaves has the zero root`)
  })

  for (const c of vectors.cases) {
    it(`case "${c.name}": every leaf hash and every folded root match exactly`, () => {
      assert.equal(c.leaves.length, c.num_of_leaves)
      for (const l of c.leaves) {
        const leaf = hashLeaf(
          c.epoch,
          l.index,
          decodeSs58(l.hotkey),
          decodeSs58(l.recipient_coldkey),
          unitsFromJson(l.amount_units),
        )
        assert.equal(toHex(leaf), l.leaf, `${c.name} leaf ${l.index}`)
        assert.equal(toHex(foldProof(leaf, l.proof.map(fromHex32))), c.root, `${c.name} root from leaf ${l.index}`)
        const check = checkProofPackage(packageOf(c, l))
        assert.deepEqual(check, { ok: true, leaf: l.leaf, root: c.root, problems: [] })
        assert.equal(checkProofPackage(packageOf(c, l), c.root).ok, true)
      }
    })
  }

  const multi = vectors.cases.find((c) => c.leaves.length >= 3)!
  const leaf = multi.leaves[1]!

  it('refuses a package with any field tampered', () => {
    const other = multi.leaves[2]!
    const tampered: Array<[string, Record<string, unknown>]> = [
      [
        'amount',
        {
          amount_units: (BigInt(leaf.amount_units) + 1n).toString(),
          amount: (BigInt(leaf.amount_units) + 1n).toString(),
        },
      ],
      ['index', { index: leaf.index + 1 }],
      ['epoch', { epoch: multi.epoch + 1 }],
      ['hotkey', { hotkey: other.hotkey }],
      ['recipient', { recipient_coldkey: other.recipient_coldkey }],
      ['proof', { proof: [...leaf.proof].reverse().map((p, i) => (i === 0 ? other.leaf : p)) }],
      ['root', { root: other.leaf }],
    ]
    for (const [what, change] of tampered) {
      const check = checkProofPackage({ ...packageOf(multi, leaf), ...change })
      assert.equal(check.ok, false, `tampered ${what} must not verify`)
      assert.ok(check.problems.length > 0)
    }
  })

  it("checks against the root the epoch publishes when given, not only the package's own", () => {
    const check = checkProofPackage(packageOf(multi, leaf), multi.leaves[0]!.leaf)
    assert.equal(check.ok, false)
    assert.match(check.problems.join('\n'), /folds to .* not to the root/)
  })

  it('accepts an amount as a number or a decimal string, and refuses amounts outside u64', () => {
    assert.equal(unitsFromJson(1_000_000_000), 1_000_000_000n)
    assert.equal(unitsFromJson('18446744073709551615'), 18446744073709551615n)
    for (const bad of ['18446744073709551616', -1, 1.5, '0x10', '', null, Number.MAX_SAFE_INTEGER + 2]) {
      assert.throws(() => unitsFromJson(bad), /not an unsigned 64-bit integer/, String(bad))
    }
    const small = { ...packageOf(multi, leaf) }
    const check = checkProofPackage({ ...small, amount_units: 5, amount: 5 })
    assert.equal(check.ok, false, 'the vector amount is not 5')
    assert.match(check.problems.join('\n'), /folds to/)
  })

  it('reports malformed packages without throwing', () => {
    for (const pkg of [
      undefined,
      null,
      {},
      { ...packageOf(multi, leaf), proof: 'x' },
      { ...packageOf(multi, leaf), hotkey: 'nope' },
      { ...packageOf(multi, leaf), format: 'v0' },
    ]) {
      const check = checkProofPackage(pkg)
      assert.equal(check.ok, false)
      assert.ok(check.problems.length > 0)
    }
  })
})
