/**
 * The seed set and gossip a process reuses across leases (services/seed-cache.ts), against a real store:
 * what is served from memory, what a decision drops at once, and what waits for SEED_CACHE_MS.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ParentLists } from '../../src/services/algorithms.ts'
import { SeedCache, type DecidedAlgorithm } from '../../src/services/seed-cache.ts'
import { seedIds, startTestPool, type TestPool } from '../support/pool.ts'

const TASK = 'cifar10_binary'

async function withPool(fn: (t: TestPool, seeds: number[]) => Promise<void>): Promise<void> {
  const t = await startTestPool()
  try {
    await fn(t, await seedIds(t, TASK))
  } finally {
    await t.close()
  }
}

/** Writes a decision to the database the way another process would: the cache is not told. */
async function decideInStore(t: TestPool, id: number, score: number | null): Promise<DecidedAlgorithm> {
  const state = score === null ? 'rejected' : 'scored'
  await t.pool.database.db
    .updateTable('algorithms')
    .set({ state, consensus_score: score, decided_at: BigInt(t.clock.now()), decided_window: 0n })
    .where('id', '=', BigInt(id))
    .execute()
  return { id: BigInt(id), state, score }
}

class Clock {
  ms = 0
  readonly now = (): number => this.ms
}

const ids = (reads: { seeds: ReadonlyArray<{ id: bigint }> }): number[] => reads.seeds.map((s) => Number(s.id))

describe('seed cache', () => {
  it('serves a read again for SEED_CACHE_MS, then reads the store again', async () => {
    await withPool(async (t, seeds) => {
      const clock = new Clock()
      const cache = new SeedCache(1000, new ParentLists(), clock.now)
      const db = t.pool.database.db
      const first = await cache.get(db, TASK, 3, 5)
      assert.deepEqual(ids(first), seeds.slice(0, 3))
      assert.deepEqual(
        first.seedRecords.map((r) => r.id),
        seeds.slice(0, 3),
      )
      await decideInStore(t, seeds[0]!, null) // decided elsewhere: this process was not told
      clock.ms = 999
      assert.deepEqual(ids(await cache.get(db, TASK, 3, 5)), seeds.slice(0, 3))
      clock.ms = 1000
      assert.deepEqual(ids(await cache.get(db, TASK, 3, 5)), seeds.slice(1, 4))
    })
  })

  it('keeps each (task type, seed batch size, gossip limit) apart', async () => {
    await withPool(async (t, seeds) => {
      const cache = new SeedCache(1000, undefined, new Clock().now)
      const db = t.pool.database.db
      assert.deepEqual(ids(await cache.get(db, TASK, 2, 0)), seeds.slice(0, 2))
      assert.deepEqual(ids(await cache.get(db, TASK, 4, 0)), seeds.slice(0, 4))
      assert.deepEqual(ids(await cache.get(db, TASK, 2, 0)), seeds.slice(0, 2))
    })
  })

  it('drops a set at once when a seed in it is decided', async () => {
    await withPool(async (t, seeds) => {
      const cache = new SeedCache(60_000, undefined, new Clock().now)
      const db = t.pool.database.db
      await cache.get(db, TASK, 3, 5)
      cache.decided([await decideInStore(t, seeds[1]!, null)])
      assert.deepEqual(ids(await cache.get(db, TASK, 3, 5)), [seeds[0]!, seeds[2]!, seeds[3]!])
    })
  })

  it('drops a set when a scored algorithm enters it, keeps it when one scores below its lowest', async () => {
    await withPool(async (t, seeds) => {
      const cache = new SeedCache(60_000, undefined, new Clock().now)
      const db = t.pool.database.db
      for (const [i, score] of [0.9, 0.8, 0.7].entries()) await decideInStore(t, seeds[i]!, score)
      const first = await cache.get(db, TASK, 3, 5)
      assert.deepEqual(ids(first), seeds.slice(0, 3))
      assert.deepEqual(first.gossip, seeds.slice(0, 3))
      // Below the set's lowest score: the set stands, and gossip (which may lag) is still the one read.
      cache.decided([await decideInStore(t, seeds[3]!, 0.6)])
      const kept = await cache.get(db, TASK, 3, 5)
      assert.deepEqual(ids(kept), seeds.slice(0, 3))
      assert.deepEqual(kept.gossip, seeds.slice(0, 3))
      // Above it: read again, with the gossip as it is now.
      cache.decided([await decideInStore(t, seeds[4]!, 0.75)])
      const entered = await cache.get(db, TASK, 3, 5)
      assert.deepEqual(ids(entered), [seeds[0]!, seeds[1]!, seeds[4]!])
      assert.deepEqual(entered.gossip, [seeds[0]!, seeds[1]!, seeds[4]!, seeds[2]!, seeds[3]!])
    })
  })

  it('drops a set still filled with built-in seeds whenever anything is scored', async () => {
    await withPool(async (t, seeds) => {
      const cache = new SeedCache(60_000, undefined, new Clock().now)
      const db = t.pool.database.db
      await cache.get(db, TASK, 3, 0)
      cache.decided([await decideInStore(t, seeds[5]!, 0.01)])
      assert.deepEqual(ids(await cache.get(db, TASK, 3, 0)), [seeds[5]!, seeds[0]!, seeds[1]!])
    })
  })

  it('does not keep a read that a decision changing it overlapped', async () => {
    await withPool(async (t, seeds) => {
      const cache = new SeedCache(60_000, undefined, new Clock().now)
      const db = t.pool.database.db
      const reading = cache.get(db, TASK, 3, 0)
      cache.decided([{ id: BigInt(seeds[0]!), state: 'rejected', score: null }])
      assert.deepEqual(ids(await reading), seeds.slice(0, 3))
      await decideInStore(t, seeds[2]!, null)
      assert.deepEqual(ids(await cache.get(db, TASK, 3, 0)), [seeds[0]!, seeds[1]!, seeds[3]!])
    })
  })

  it('reads the store for every lease when SEED_CACHE_MS is 0', async () => {
    await withPool(async (t, seeds) => {
      const cache = new SeedCache(0, undefined, new Clock().now)
      const db = t.pool.database.db
      await cache.get(db, TASK, 3, 0)
      await decideInStore(t, seeds[0]!, null)
      assert.deepEqual(ids(await cache.get(db, TASK, 3, 0)), seeds.slice(1, 4))
    })
  })
})
