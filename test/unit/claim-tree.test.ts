import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { blake2b } from '@noble/hashes/blake2.js'
import { decodeAddress } from '@polkadot/util-crypto'
import {
  CLAIM_TREE_FORMAT,
  EMPTY_ROOT,
  buildClaimTree,
  foldProof,
  fromHex32,
  hashLeaf,
  hashNode,
  initClaimTree,
  toHex32,
  verifyClaim,
} from '../../src/domain/claim-tree.ts'
import type { ClaimEntry } from '../../src/domain/claim-tree.ts'
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
const U64_MAX = 2n ** 64n - 1n

function entryOf(l: VectorLeaf): ClaimEntry {
  return {
    hotkey: decodeAddress(l.hotkey),
    recipient: decodeAddress(l.recipient_coldkey),
    amountUnits: BigInt(l.amount_units),
  }
}

describe('claim tree: shared vectors', () => {
  it('are in this format and cover the expected cases', () => {
    assert.equal(vectors.format, CLAIM_TREE_FORMAT)
    assert.deepEqual(
      vectors.cases.map((c) => c.name),
      ['empty', 'one', 'two', 'three', 'seven', 'hundred', 'edge-amounts'],
    )
  })

  for (const c of vectors.cases) {
    it(`reproduces case "${c.name}" (${c.num_of_leaves} leaves) from shuffled input`, () => {
      const epoch = BigInt(c.epoch)
      // Reversed input: the tree must order leaves by hotkey itself.
      const tree = buildClaimTree(epoch, c.leaves.map(entryOf).reverse())
      assert.equal(toHex32(tree.root), c.root)
      assert.equal(tree.leaves.length, c.num_of_leaves)
      for (const l of c.leaves) {
        const got = tree.leaves[l.index]!
        assert.equal(got.index, l.index)
        assert.deepEqual(got.hotkey, decodeAddress(l.hotkey))
        assert.deepEqual(got.recipient, decodeAddress(l.recipient_coldkey))
        assert.equal(got.amountUnits, BigInt(l.amount_units))
        assert.equal(toHex32(got.leaf), l.leaf)
        assert.equal(toHex32(hashLeaf(epoch, l.index, entryOf(l))), l.leaf)
        assert.deepEqual(tree.proof(l.index).map(toHex32), l.proof)
        const proof = l.proof.map(fromHex32)
        assert.equal(verifyClaim(epoch, l.index, entryOf(l), proof, fromHex32(c.root)), true)
        assert.equal(toHex32(foldProof(fromHex32(l.leaf), proof)), c.root)
      }
    })
  }
})

describe('claim tree: table', () => {
  const key = (b: number) => new Uint8Array(32).fill(b)
  const entry = (h: number, amount = 1n): ClaimEntry => ({ hotkey: key(h), recipient: key(0xee), amountUnits: amount })

  it('has the empty root and no leaves when there are no entries', () => {
    const tree = buildClaimTree(9n, [])
    assert.deepEqual(tree.root, EMPTY_ROOT)
    assert.equal(toHex32(tree.root), `0x${'0'.repeat(64)}`)
    assert.deepEqual(tree.leaves, [])
    assert.throws(() => tree.proof(0), RangeError)
  })

  it('carries the odd last node up, so its proof is shorter', () => {
    const tree = buildClaimTree(1n, [entry(1), entry(2), entry(3)])
    assert.equal(tree.proof(0).length, 2)
    assert.equal(tree.proof(2).length, 1)
    assert.deepEqual(tree.root, hashNode(hashNode(tree.leaves[0]!.leaf, tree.leaves[1]!.leaf), tree.leaves[2]!.leaf))
  })

  it('hashes a node the same whichever child comes first', () => {
    const a = key(1)
    const b = key(2)
    assert.deepEqual(hashNode(a, b), hashNode(b, a))
    assert.notDeepEqual(hashNode(a, b), hashNode(a, a))
  })

  it('rejects duplicate hotkeys, wrong key lengths and values outside u64', () => {
    assert.throws(
      () => buildClaimTree(1n, [entry(1), entry(2), { ...entry(1), recipient: key(5) }]),
      /duplicate hotkey/,
    )
    assert.throws(() => buildClaimTree(1n, [{ ...entry(1), hotkey: new Uint8Array(31) }]), /hotkey must be a 32-byte/)
    assert.throws(
      () => buildClaimTree(1n, [{ ...entry(1), recipient: new Uint8Array(33) }]),
      /recipient must be a 32-byte/,
    )
    assert.throws(() => buildClaimTree(1n, [entry(1, -1n)]), /amountUnits/)
    assert.throws(() => buildClaimTree(1n, [entry(1, U64_MAX + 1n)]), /amountUnits/)
    assert.throws(() => buildClaimTree(-1n, [entry(1)]), /epoch/)
    assert.throws(() => buildClaimTree(U64_MAX + 1n, [entry(1)]), /epoch/)
    assert.doesNotThrow(() => buildClaimTree(U64_MAX, [entry(1, U64_MAX)]))
  })

  it('rejects malformed arguments to the throwing primitives', () => {
    assert.throws(() => hashLeaf(1n, -1, entry(1)), /index/)
    assert.throws(() => hashLeaf(1n, 2 ** 32, entry(1)), /index/)
    assert.throws(() => hashLeaf(1n, 0.5, entry(1)), /index/)
    assert.throws(() => hashNode(key(1), new Uint8Array(31)), /32 bytes/)
    assert.throws(() => foldProof(new Uint8Array(31), []), /32 bytes/)
    const tree = buildClaimTree(1n, [entry(1), entry(2)])
    assert.throws(() => tree.proof(2), RangeError)
    assert.throws(() => tree.proof(-1), RangeError)
    assert.throws(() => tree.proof(0.5), RangeError)
  })

  it('answers false instead of throwing for malformed claims', () => {
    const tree = buildClaimTree(1n, [entry(1), entry(2)])
    const leaf = tree.leaves[0]!
    const proof = tree.proof(0)
    assert.equal(verifyClaim(1n, 0, leaf, proof, tree.root), true)
    assert.equal(verifyClaim(1n, 0, leaf, [proof[0]!.subarray(1)], tree.root), false)
    assert.equal(verifyClaim(1n, 0, leaf, proof, tree.root.subarray(1)), false)
    assert.equal(verifyClaim(1n, 0, { ...leaf, amountUnits: -1n }, proof, tree.root), false)
    assert.equal(verifyClaim(1n, 0, { ...leaf, hotkey: new Uint8Array(0) }, proof, tree.root), false)
    assert.equal(verifyClaim(-1n, 0, leaf, proof, tree.root), false)
    assert.equal(verifyClaim(1n, -1, leaf, proof, tree.root), false)
    assert.equal(verifyClaim(1n, 0, leaf, proof, EMPTY_ROOT), false)
  })

  it('hands out copies: mutating a returned proof, leaf or root does not change the tree', () => {
    const tree = buildClaimTree(1n, [entry(1), entry(2), entry(3)])
    const root = toHex32(tree.root)
    const sibling = toHex32(tree.proof(1)[0]!)
    tree.proof(0)[0]!.fill(0)
    tree.leaves[0]!.leaf.fill(0)
    assert.equal(toHex32(tree.proof(1)[0]!), sibling)
    assert.equal(toHex32(foldProof(tree.leaves[0]!.leaf, tree.proof(0))), root)
    assert.notEqual(buildClaimTree(1n, []).root, EMPTY_ROOT)
  })
})

describe('claim tree: hex', () => {
  it('round-trips and lowercases', () => {
    const s = `0x${'aB'.repeat(32)}`
    assert.equal(toHex32(fromHex32(s)), s.toLowerCase())
    assert.deepEqual(fromHex32(`0x${'0f'.repeat(32)}`), new Uint8Array(32).fill(15))
  })

  it('rejects anything but 0x and 64 hex digits', () => {
    const bad = [
      '',
      '0x',
      `0x${'a'.repeat(63)}`,
      `0x${'a'.repeat(65)}`,
      'a'.repeat(64),
      `00${'a'.repeat(64)}`,
      `0X${'a'.repeat(64)}`,
      `0x${'g'.repeat(64)}`,
      ` 0x${'a'.repeat(64)}`,
      `0x${'a'.repeat(64)}\n`,
      `0x${'a'.repeat(62)} a`,
    ]
    for (const s of bad) assert.throws(() => fromHex32(s), TypeError, JSON.stringify(s))
    assert.throws(() => fromHex32(42 as unknown as string), TypeError)
    assert.throws(() => toHex32(new Uint8Array(31)), TypeError)
  })

  it('round-trips any 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        const s = toHex32(b)
        assert.match(s, /^0x[0-9a-f]{64}$/)
        assert.deepEqual(fromHex32(s), b)
      }),
    )
  })
})

// An independent re-derivation of the root (noble's BLAKE2b, recursive, string-sorted) to check the builder.
function referenceRoot(epoch: bigint, entries: readonly ClaimEntry[]): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  const sorted = [...entries].sort((a, b) => (hex(a.hotkey) < hex(b.hotkey) ? -1 : 1))
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(v)
    return b
  }
  const u32 = (v: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v)
    return b
  }
  let level: Uint8Array[] = sorted.map((e, i) =>
    blake2b(Buffer.concat([Buffer.from([0]), u64(epoch), u32(i), e.hotkey, e.recipient, u64(e.amountUnits)]), {
      dkLen: 32,
    }),
  )
  if (level.length === 0) return `0x${'00'.repeat(32)}`
  while (level.length > 1) {
    const up: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!
      const b = level[i + 1]
      if (b === undefined) {
        up.push(a)
        continue
      }
      const [lo, hi] = hex(a) <= hex(b) ? [a, b] : [b, a]
      up.push(blake2b(Buffer.concat([Buffer.from([1]), lo, hi]), { dkLen: 32 }))
    }
    level = up
  }
  return `0x${hex(level[0]!)}`
}

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: U64_MAX }), fc.constantFrom(0n, 1n, U64_MAX, 2n ** 53n + 1n))
const entryArb: fc.Arbitrary<ClaimEntry> = fc.record({ hotkey: key32, recipient: key32, amountUnits: u64 })
const entriesArb = (minLength: number) =>
  fc.uniqueArray(entryArb, { minLength, maxLength: 60, selector: (e) => Buffer.from(e.hotkey).toString('hex') })

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice()
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7)
  return c
}

describe('claim tree: properties', () => {
  it('matches an independent re-derivation, and every leaf proves against the root', () => {
    fc.assert(
      fc.property(u64, entriesArb(0), (epoch, entries) => {
        const tree = buildClaimTree(epoch, entries)
        assert.equal(toHex32(tree.root), referenceRoot(epoch, entries))
        for (const l of tree.leaves) {
          assert.ok(verifyClaim(epoch, l.index, l, tree.proof(l.index), tree.root))
          assert.ok(tree.proof(l.index).length <= Math.ceil(Math.log2(Math.max(tree.leaves.length, 1))))
        }
      }),
      { numRuns: 150 },
    )
  })

  it('never lets the input order change the root', () => {
    const arb = entriesArb(0).chain((es) =>
      fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length })),
    )
    fc.assert(
      fc.property(u64, arb, (epoch, [entries, shuffled]) => {
        assert.deepEqual(buildClaimTree(epoch, shuffled).root, buildClaimTree(epoch, entries).root)
      }),
      { numRuns: 150 },
    )
  })

  it('refuses a claim with any field, proof element or proof length tampered', () => {
    const tamper = fc.constantFrom('epoch', 'index', 'hotkey', 'recipient', 'amount', 'element', 'drop', 'add', 'root')
    fc.assert(
      fc.property(u64, entriesArb(1), fc.nat(), tamper, fc.nat(), key32, (epoch, entries, pick, what, bit, extra) => {
        const tree = buildClaimTree(epoch, entries)
        const i = pick % tree.leaves.length
        const leaf = tree.leaves[i]!
        const proof = tree.proof(i)
        let claim = { epoch, index: i, entry: leaf as ClaimEntry, proof, root: tree.root }
        switch (what) {
          case 'epoch':
            claim = { ...claim, epoch: epoch ^ (1n << BigInt(bit % 64)) }
            break
          case 'index':
            claim = { ...claim, index: (i ^ (1 << (bit % 32))) >>> 0 }
            break
          case 'hotkey':
            claim = { ...claim, entry: { ...leaf, hotkey: flipBit(leaf.hotkey, bit) } }
            break
          case 'recipient':
            claim = { ...claim, entry: { ...leaf, recipient: flipBit(leaf.recipient, bit) } }
            break
          case 'amount':
            claim = { ...claim, entry: { ...leaf, amountUnits: leaf.amountUnits ^ (1n << BigInt(bit % 64)) } }
            break
          case 'element':
            if (proof.length === 0) return
            claim = { ...claim, proof: proof.map((p, k) => (k === bit % proof.length ? flipBit(p, bit) : p)) }
            break
          case 'drop':
            if (proof.length === 0) return
            claim = { ...claim, proof: proof.filter((_, k) => k !== bit % proof.length) }
            break
          case 'add': {
            const at = bit % (proof.length + 1)
            claim = { ...claim, proof: [...proof.slice(0, at), extra, ...proof.slice(at)] }
            break
          }
          case 'root':
            claim = { ...claim, root: flipBit(tree.root, bit) }
            break
        }
        assert.equal(verifyClaim(claim.epoch, claim.index, claim.entry, claim.proof, claim.root), false)
      }),
      { numRuns: 600 },
    )
  })

  // The builder orders hotkeys by their leading bytes first and compares in full only where those tie:
  // keys sharing 8 to 31 leading bytes (mixed with unrelated keys) must still land in byte order.
  const sharedPrefixEntriesArb = fc.uint8Array({ minLength: 8, maxLength: 31 }).chain((prefix) => {
    const tail = fc.uint8Array({ minLength: 32 - prefix.length, maxLength: 32 - prefix.length })
    const hotkey = fc.oneof(
      tail.map((t) => Uint8Array.from([...prefix, ...t])),
      key32,
    )
    return fc.uniqueArray(fc.record({ hotkey, recipient: key32, amountUnits: u64 }), {
      minLength: 1,
      maxLength: 60,
      selector: (e) => Buffer.from(e.hotkey).toString('hex'),
    })
  })

  it('orders hotkeys that share long prefixes, and finds a repeat among them', () => {
    fc.assert(
      fc.property(u64, sharedPrefixEntriesArb, fc.nat(), (epoch, entries, pick) => {
        const tree = buildClaimTree(epoch, entries)
        assert.equal(toHex32(tree.root), referenceRoot(epoch, entries))
        const dup = { ...entries[pick % entries.length]!, recipient: new Uint8Array(32) }
        assert.throws(() => buildClaimTree(epoch, [...entries, dup]), /duplicate hotkey/)
      }),
      { numRuns: 200 },
    )
  })

  it('rejects any entry set with a repeated hotkey', () => {
    fc.assert(
      fc.property(entriesArb(1), fc.nat(), key32, u64, (entries, pick, recipient, amountUnits) => {
        const dup = { hotkey: entries[pick % entries.length]!.hotkey.slice(), recipient, amountUnits }
        assert.throws(() => buildClaimTree(1n, [...entries, dup]), /duplicate hotkey/)
      }),
      { numRuns: 100 },
    )
  })
})
