// Proof packages of closed epochs served from the in-process cache: the same bytes as the store's answer
// (odd-sized trees, amounts above 2^53), ETag and 304, Cache-Control per URL kind, eviction under a small
// PROOF_CACHE_MB, PROOF_CACHE_MB=0, 404s that leave the cache alone, and the /metrics counters.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { encodeHotkey } from '../../src/crypto/sr25519.ts'
import { cryptoWaitReady } from '@polkadot/util-crypto'
import { buildClaimTree, initClaimTree, toHex32 } from '../../src/domain/claim-tree.ts'
import { startTestPool, type TestPool } from '../support/pool.ts'
import { twoBytePrefixSpelling } from '../support/ss58.ts'

await initClaimTree()
await cryptoWaitReady()

interface Leaf {
  hotkey: Uint8Array
  recipient: Uint8Array
  amountUnits: bigint
}
interface EpochData {
  id: number
  leaves: Leaf[]
  hotkeys: string[]
}

/** Leaves of one epoch; some amounts above 2^53 (answered as decimal strings) and some recipients shared. */
function epochData(id: number, n: number): EpochData {
  const shared = randomBytes(32)
  const leaves = Array.from({ length: n }, (_, i) => ({
    hotkey: new Uint8Array(randomBytes(32)),
    recipient: i % 3 === 0 ? shared : new Uint8Array(randomBytes(32)),
    amountUnits: i % 8 === 1 ? 2n ** 53n + BigInt(i) : BigInt(1 + i * 1000),
  }))
  return { id, leaves, hotkeys: [] }
}

/** Stores the epoch as an epoch close would (the row and its leaves with their proofs); fills `hotkeys` by index. */
async function storeEpoch(t: TestPool, data: EpochData): Promise<void> {
  const tree = buildClaimTree(BigInt(data.id), data.leaves)
  const rows = tree.leaves.map((l) => ({
    epoch_id: BigInt(data.id),
    leaf_index: BigInt(l.index),
    hotkey: encodeHotkey(l.hotkey),
    recipient_coldkey: encodeHotkey(l.recipient),
    amount_units: l.amountUnits,
    leaf: toHex32(l.leaf),
    proof: JSON.stringify(tree.proof(l.index).map(toHex32)),
  }))
  const total = rows.reduce((s, r) => s + r.amount_units, 0n)
  await t.pool.database.transaction(async (trx) => {
    await trx
      .insertInto('epochs')
      .values({
        epoch_id: BigInt(data.id),
        root: toHex32(tree.root),
        num_of_leaves: BigInt(rows.length),
        total_units: total,
        epoch_units: total,
        fee_units: 0n,
        undistributed_units: 0n,
        budget_units: total,
        window_start: BigInt(data.id),
        window_end: BigInt(data.id),
        block_start: 0n,
        block_end: 359n,
        closed_at: 0n,
        params: '{}',
      })
      .execute()
    for (let i = 0; i < rows.length; i += 500)
      await trx
        .insertInto('epoch_leaves')
        .values(rows.slice(i, i + 500))
        .execute()
  })
  data.hotkeys = rows.map((r) => r.hotkey)
}

const get = async (t: TestPool, url: string, headers: Record<string, string> = {}) =>
  await t.app.inject({ method: 'GET', url, headers })

async function metric(t: TestPool, name: string, labels = ''): Promise<number> {
  const text = (await get(t, '/metrics')).body
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}
const lookups = async (t: TestPool, result: string): Promise<number> =>
  await metric(t, 'sotapool_proof_cache_lookups_total', `{result="${result}"}`)

// Sizes whose trees carry an odd node up at one level or more (a leaf next to it has a shorter proof).
const SIZES = [1, 2, 3, 5, 6, 7, 11, 100]

describe('proof cache', () => {
  let cached: TestPool
  let uncached: TestPool
  const epochs = SIZES.map((n, i) => epochData(i + 1, n))

  before(async () => {
    cached = await startTestPool({})
    uncached = await startTestPool({ PROOF_CACHE_MB: '0' })
    for (const data of epochs) {
      await storeEpoch(cached, data)
      const hotkeys = data.hotkeys
      await storeEpoch(uncached, data)
      assert.deepEqual(data.hotkeys, hotkeys)
    }
  })
  after(async () => {
    await cached?.close()
    await uncached?.close()
  })

  it('answers every leaf with the bytes and content type of the uncached answer, on all four proof URLs', async () => {
    const last = epochs[epochs.length - 1]!
    let shorter = 0
    for (const data of epochs) {
      for (const [index, hotkey] of data.hotkeys.entries()) {
        if (data.hotkeys.length > 20 && index % 9 !== 0 && index !== data.hotkeys.length - 1) continue
        const urls = [`/claims/epoch/${data.id}/proof/${hotkey}`, `/claims/epoch/${data.id}/claim/${hotkey}`]
        if (data === last) urls.push(`/claims/epoch/proof/${hotkey}`, `/claims/epoch/claim/${hotkey}`)
        for (const url of urls) {
          const [a, b] = [await get(cached, url), await get(uncached, url)]
          assert.equal(a.statusCode, 200, url)
          assert.equal(a.body, b.body, `${url}: cached bytes differ from the store's`)
          assert.equal(a.headers['content-type'], b.headers['content-type'])
          assert.equal(a.headers['content-length'], b.headers['content-length'])
        }
        const pkg = JSON.parse((await get(cached, urls[0]!)).body) as { proof: string[]; amount_units: unknown }
        if (pkg.proof.length < Math.ceil(Math.log2(data.hotkeys.length))) shorter++
      }
    }
    assert.ok(shorter > 0, 'the sizes include leaves with a shorter proof')
    assert.ok((await lookups(cached, 'hit')) > 0)
    assert.equal(await lookups(cached, 'bypass'), 0)
    assert.ok((await metric(cached, 'sotapool_proof_cache_bytes')) > 0)
  })

  it('serves amounts above 2^53 as decimal strings, as the store does', async () => {
    const data = epochs[epochs.length - 1]!
    const kinds = new Set<string>()
    for (const hotkey of data.hotkeys) {
      const url = `/claims/epoch/${data.id}/proof/${hotkey}`
      const text = (await get(cached, url)).body
      const body = JSON.parse(text) as { amount_units: unknown; amount: unknown }
      assert.equal(body.amount_units, body.amount)
      kinds.add(typeof body.amount_units)
      if (typeof body.amount_units === 'string') assert.equal(text, (await get(uncached, url)).body)
    }
    assert.deepEqual([...kinds].sort(), ['number', 'string'])
  })

  it('sends a stable strong ETag, the same as the uncached answer, and 304 with no body on If-None-Match', async () => {
    const data = epochs[4]!
    const url = `/claims/epoch/${data.id}/proof/${data.hotkeys[2]!}`
    const first = await get(cached, url)
    const etag = first.headers.etag as string
    assert.match(etag, /^"[0-9a-f]{32}"$/)
    assert.equal((await get(cached, url)).headers.etag, etag)
    assert.equal((await get(uncached, url)).headers.etag, etag)
    assert.notEqual((await get(cached, `/claims/epoch/${data.id}/proof/${data.hotkeys[3]!}`)).headers.etag, etag)
    for (const pool of [cached, uncached]) {
      for (const match of [etag, `W/${etag}`, `"other", ${etag}`]) {
        const again = await get(pool, url, { 'if-none-match': match })
        assert.equal(again.statusCode, 304, match)
        assert.equal(again.body, '')
        assert.equal(again.headers.etag, etag)
      }
      assert.equal((await get(pool, url, { 'if-none-match': '"other"' })).statusCode, 200)
    }
  })

  it('marks epoch URLs immutable and default-epoch URLs no-cache', async () => {
    const data = epochs[epochs.length - 1]!
    const hotkey = data.hotkeys[0]!
    for (const pool of [cached, uncached]) {
      for (const verb of ['proof', 'claim']) {
        const explicit = await get(pool, `/claims/epoch/${data.id}/${verb}/${hotkey}`)
        assert.equal(explicit.headers['cache-control'], 'public, max-age=31536000, immutable')
        const byDefault = await get(pool, `/claims/epoch/${verb}/${hotkey}`)
        assert.equal(byDefault.headers['cache-control'], 'no-cache')
        assert.equal(byDefault.headers.etag, explicit.headers.etag)
        assert.equal(
          (await get(pool, `/claims/epoch/${verb}/${hotkey}`, { 'if-none-match': explicit.headers.etag as string }))
            .statusCode,
          304,
        )
      }
    }
  })

  it('documents the 304 and the caching headers of the four proof routes', async () => {
    const doc = (await get(cached, '/openapi.json')).json() as {
      paths: Record<string, { get: { description: string; responses: Record<string, unknown> } }>
    }
    for (const verb of ['proof', 'claim']) {
      const explicit = doc.paths[`/claims/epoch/{epoch_id}/${verb}/{hotkey}`]!.get
      const byDefault = doc.paths[`/claims/epoch/${verb}/{hotkey}`]!.get
      for (const op of [explicit, byDefault])
        assert.ok(op.responses['200'] && op.responses['304'] && /ETag/.test(op.description))
      assert.match(explicit.description, /immutable/)
      assert.match(byDefault.description, /no-cache/)
    }
  })

  it('answers a hotkey with no leaf from the store (same 404) and keeps serving the epoch from memory', async () => {
    const data = epochs[5]!
    const stranger = encodeHotkey(randomBytes(32))
    const noLeafBefore = await lookups(cached, 'no_leaf')
    for (let i = 0; i < 2; i++) {
      const [a, b] = [
        await get(cached, `/claims/epoch/${data.id}/proof/${stranger}`),
        await get(uncached, `/claims/epoch/${data.id}/proof/${stranger}`),
      ]
      assert.equal(a.statusCode, 404)
      assert.equal(a.body, b.body)
    }
    assert.equal(await lookups(cached, 'no_leaf'), noLeafBefore + 2)
    const hits = await lookups(cached, 'hit')
    const url = `/claims/epoch/${data.id}/proof/${data.hotkeys[0]!}`
    assert.equal((await get(cached, url)).body, (await get(uncached, url)).body)
    assert.equal(await lookups(cached, 'hit'), hits + 1)
  })

  it('still refuses another spelling of a cached hotkey', async () => {
    const data = epochs[2]!
    await get(cached, `/claims/epoch/${data.id}/proof/${data.hotkeys[0]!}`)
    const other = twoBytePrefixSpelling(data.hotkeys[0]!)
    const [a, b] = [
      await get(cached, `/claims/epoch/${data.id}/proof/${other}`),
      await get(uncached, `/claims/epoch/${data.id}/proof/${other}`),
    ]
    assert.equal(a.statusCode, 422)
    assert.equal(a.body, b.body)
  })

  it('with PROOF_CACHE_MB=0 asks the store every time', async () => {
    const before = await lookups(uncached, 'bypass')
    const data = epochs[1]!
    await get(uncached, `/claims/epoch/${data.id}/proof/${data.hotkeys[0]!}`)
    await get(uncached, `/claims/epoch/${data.id}/proof/${data.hotkeys[0]!}`)
    assert.equal(await lookups(uncached, 'bypass'), before + 2)
    assert.equal(await lookups(uncached, 'hit'), 0)
    assert.equal(await metric(uncached, 'sotapool_proof_cache_bytes'), 0)
    assert.deepEqual(uncached.pool.claims.proofCache.epochs(), [])
  })
})

describe('proof cache under a small budget', () => {
  let cached: TestPool
  let uncached: TestPool
  // At 1 MiB, one of these 2,500-leaf epochs fits (about 0.8 MB each) and the 4,000-leaf one never does.
  const epochs = [epochData(1, 2500), epochData(2, 2501), epochData(3, 2499), epochData(4, 4000)]

  before(async () => {
    cached = await startTestPool({ PROOF_CACHE_MB: '1' })
    uncached = await startTestPool({ PROOF_CACHE_MB: '0' })
    for (const data of epochs) {
      await storeEpoch(cached, data)
      await storeEpoch(uncached, data)
    }
  })
  after(async () => {
    await cached?.close()
    await uncached?.close()
  })

  const same = async (data: EpochData, index: number): Promise<void> => {
    const url = `/claims/epoch/${data.id}/proof/${data.hotkeys[index]!}`
    const a = await get(cached, url)
    assert.equal(a.statusCode, 200)
    assert.equal(a.body, (await get(uncached, url)).body, url)
  }

  it('evicts the least recently used epoch, stays within the budget and still answers correctly', async () => {
    const cache = cached.pool.claims.proofCache
    const [e1, e2, e3, big] = epochs as [EpochData, EpochData, EpochData, EpochData]
    await same(e1, 0)
    assert.deepEqual(cache.epochs(), [1])
    await same(e2, 2500)
    assert.deepEqual(cache.epochs(), [2], 'epoch 1 was evicted to make room')
    assert.ok(cache.bytes <= 1024 * 1024)
    assert.equal(await metric(cached, 'sotapool_proof_cache_bytes'), cache.bytes)
    await same(e1, 1234)
    await same(e3, 7)
    assert.deepEqual(cache.epochs(), [3])
    const misses = await lookups(cached, 'miss')
    await same(e3, 8)
    assert.equal(await lookups(cached, 'miss'), misses)

    const bypass = await lookups(cached, 'bypass')
    for (const index of [0, 3999]) await same(big, index)
    assert.equal(
      await lookups(cached, 'bypass'),
      bypass + 2,
      'an epoch bigger than the budget is served from the store',
    )
    assert.deepEqual(cache.epochs(), [3], 'and evicts nothing')
  })

  it('shares one load among concurrent first requests', async () => {
    const cache = cached.pool.claims.proofCache
    const spied = cache as unknown as { read: (...args: unknown[]) => Promise<unknown> }
    const read = spied.read
    let loads = 0
    spied.read = async function (this: unknown, ...args: unknown[]) {
      loads++
      return await read.apply(this, args)
    }
    const data = epochs[0]!
    const answers = await Promise.all(
      data.hotkeys.slice(0, 20).map(async (h) => await get(cached, `/claims/epoch/${data.id}/proof/${h}`)),
    )
    assert.ok(answers.every((a) => a.statusCode === 200))
    assert.equal(loads, 1)
    assert.deepEqual(cache.epochs(), [1])
    for (const index of [0, 19]) await same(data, index)
  })
})
