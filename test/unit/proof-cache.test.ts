// The pure parts of the proof cache: least-recently-used eviction by bytes, and proofs read from the tree
// levels rebuilt from leaf hashes, which must equal the tree's own proofs for every size.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  buildClaimTree,
  initClaimTree,
  proofOffsets,
  toHex32,
  upperLevels,
  type ClaimEntry,
} from '../../src/domain/claim-tree.ts'
import { ByteLru, proofJson } from '../../src/services/proof-cache.ts'

await initClaimTree()

describe('ByteLru', () => {
  it('evicts least recently used entries until the total fits, and refuses what exceeds the whole budget', () => {
    const lru = new ByteLru<string, number>(100)
    assert.equal(lru.set('a', 1, 40), true)
    assert.equal(lru.set('b', 2, 40), true)
    assert.equal(lru.get('a'), 1) // a is now the most recent
    assert.equal(lru.set('c', 3, 40), true) // b goes, a stays
    assert.deepEqual(lru.keys(), ['a', 'c'])
    assert.equal(lru.bytes, 80)
    assert.equal(lru.set('huge', 4, 101), false)
    assert.deepEqual(lru.keys(), ['a', 'c'], 'a refused entry evicts nothing')
    assert.equal(lru.set('a', 5, 100), true) // replacing counts the new size only, and evicts c
    assert.deepEqual(lru.keys(), ['a'])
    assert.equal(lru.bytes, 100)
    assert.equal(new ByteLru<string, number>(0).set('x', 1, 1), false)
  })

  it('matches a model LRU for any sequence of gets and sets', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        key: fc.integer({ min: 0, max: 7 }),
        bytes: fc.integer({ min: 0, max: 70 }),
      }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 7 }) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), fc.array(op, { maxLength: 60 }), (budget, ops) => {
        const lru = new ByteLru<number, number>(budget)
        let model: Array<{ key: number; value: number; bytes: number }> = [] // least recent first
        ops.forEach((o, step) => {
          if (o.kind === 'get') {
            const at = model.findIndex((e) => e.key === o.key)
            const expected = at < 0 ? undefined : model[at]!.value
            if (at >= 0) model.push(...model.splice(at, 1))
            assert.equal(lru.get(o.key), expected)
            return
          }
          const stored = lru.set(o.key, step, o.bytes)
          assert.equal(stored, o.bytes <= budget)
          if (!stored) return
          model = model.filter((e) => e.key !== o.key)
          while (model.length > 0 && model.reduce((s, e) => s + e.bytes, 0) + o.bytes > budget) model.shift()
          model.push({ key: o.key, value: step, bytes: o.bytes })
        })
        assert.deepEqual(
          lru.keys(),
          model.map((e) => e.key),
        )
        assert.equal(
          lru.bytes,
          model.reduce((s, e) => s + e.bytes, 0),
        )
        assert.ok(lru.bytes <= budget)
      }),
      { numRuns: 300 },
    )
  })
})

describe('proofs from rebuilt levels', () => {
  const entries = (n: number, seed: number): ClaimEntry[] =>
    Array.from({ length: n }, (_, i) => {
      const hotkey = new Uint8Array(32)
      const recipient = new Uint8Array(32)
      new DataView(hotkey.buffer).setUint32(0, Math.imul(i + 1, 2654435761) ^ seed)
      new DataView(hotkey.buffer).setUint32(4, i)
      recipient[0] = i & 0xff
      return { hotkey, recipient, amountUnits: BigInt(i * 7 + seed) }
    })

  it('equal buildClaimTree(...).proof(i), as bytes and as the JSON the cache writes, and the root, for trees of 0 to 300 leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
        const tree = buildClaimTree(BigInt(seed), entries(n, seed))
        const leafLevel = new Uint8Array(n * 32)
        tree.leaves.forEach((l) => {
          leafLevel.set(l.leaf, l.index * 32)
        })
        const levels = [leafLevel, ...upperLevels(leafLevel)]
        if (n > 0) assert.deepEqual(levels[levels.length - 1], tree.root)
        const hexLevels = levels.map((l) => Buffer.from(l).toString('hex'))
        for (let i = 0; i < n; i++) {
          const proof = proofOffsets(levels, i).map(({ level, at }) => levels[level]!.slice(at, at + 32))
          assert.deepEqual(proof, tree.proof(i), `leaf ${i} of ${n}`)
          assert.equal(
            `[${proofJson(hexLevels, i)}]`,
            JSON.stringify(tree.proof(i).map(toHex32)),
            `leaf ${i} of ${n} as JSON`,
          )
        }
      }),
      { numRuns: 60 },
    )
  })

  it('give a leaf next to a carried odd node a shorter proof', () => {
    const tree = buildClaimTree(1n, entries(5, 3))
    const leafLevel = new Uint8Array(5 * 32)
    tree.leaves.forEach((l) => {
      leafLevel.set(l.leaf, l.index * 32)
    })
    const levels = [leafLevel, ...upperLevels(leafLevel)]
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => proofOffsets(levels, i).length),
      [3, 3, 3, 3, 1],
    )
    const hexLevels = levels.map((l) => Buffer.from(l).toString('hex'))
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => JSON.parse(`[${proofJson(hexLevels, i)}]`).length),
      [3, 3, 3, 3, 1],
    )
  })

  it('refuse a leaf level that is not whole 32-byte hashes', () => {
    assert.throws(() => upperLevels(new Uint8Array(33)), TypeError)
  })
})
