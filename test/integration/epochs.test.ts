// Closing epochs (SPEC §8): when, how often, what is paid, who gets a leaf, and that verify/export let
// anyone check the result. Points are written straight into window_points so every number is exact.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeAddress } from '@polkadot/util-crypto'
import {
  buildClaimTree,
  CLAIM_TREE_FORMAT,
  fromHex32,
  initClaimTree,
  verifyClaim,
} from '../../src/domain/claim-tree.ts'
import { up as balanceEpochs } from '../../src/db/migrations/004-balanced-epochs.ts'
import { type TestPool, withTestPool as withPool } from '../support/pool.ts'
import { TestMiner } from '../support/miner.ts'
import { testDialect } from '../support/database.ts'
import {
  addPoints,
  closeThrough,
  craftMiner,
  earnByEvaluating,
  keyStartingWith,
  randomAddress,
  setRecipientRow,
  WINDOW_MS,
} from '../support/epochs.ts'
import { startSharedPools, type PoolNode } from '../support/shared-pool.ts'

await initClaimTree()

const ZERO_ROOT = `0x${'00'.repeat(32)}`
// Tests on PostgreSQL mostly wait on the server, so two run side by side; on SQLite they are CPU-bound.
const CONCURRENCY = testDialect() === 'postgres' ? 2 : 1

const get = async (t: TestPool, url: string): Promise<{ status: number; body: any }> => {
  const r = await t.app.inject({ method: 'GET', url })
  return { status: r.statusCode, body: r.json() }
}

/** Units paid to each hotkey in an epoch, as stored. */
async function payouts(t: TestPool, epoch: number): Promise<Map<string, bigint>> {
  const rows = await t.pool.database.db
    .selectFrom('epoch_payouts')
    .select(['hotkey', 'units'])
    .where('epoch_id', '=', BigInt(epoch))
    .execute()
  return new Map(rows.map((r) => [r.hotkey, BigInt(r.units)]))
}

/** The epoch's leaves as the claim app serves them (proof packages), keyed by hotkey. */
async function leaves(t: TestPool, epoch: number): Promise<Map<string, any>> {
  const artifact = await t.pool.epochs.export(epoch)
  return new Map(artifact.leaves.map((l) => [l.hotkey, l]))
}

describe('when an epoch closes', { concurrency: CONCURRENCY }, () => {
  it('only after its last window has ended plus EPOCH_CLOSE_DELAY_BLOCKS', async () => {
    await withPool({ EPOCH_WINDOWS: '2', EPOCH_CLOSE_DELAY_BLOCKS: '10' }, async (t) => {
      const m = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, m.hotkey, 5)
      const at = async (block: number): Promise<number[]> => {
        t.clock.advance(1_700_000_000_000 + block * 12_000 - t.clock.now())
        return await t.pool.epochs.closeReady()
      }
      assert.deepEqual(await at(0), [])
      assert.deepEqual(await at(360), [], 'window 1 of epoch 0 is still running')
      assert.deepEqual(await at(719), [], 'last block of the epoch')
      assert.deepEqual(await at(720), [], 'epoch over, but the close delay has not passed')
      assert.deepEqual(await at(729), [])
      await assert.rejects(t.pool.epochs.close(0), /cannot close yet/)
      assert.deepEqual((await get(t, '/claims/epochs')).body, { epochs: [], default_epoch: null })
      assert.deepEqual(await at(730), [0])
      const meta = await get(t, '/claims/epoch/0')
      assert.equal(meta.status, 200)
      assert.equal(meta.body.window_start, 0)
      assert.equal(meta.body.window_end, 1)
      assert.equal(meta.body.block_start, 0)
      assert.equal(meta.body.block_end, 719)
      assert.equal(
        meta.body.closed_at,
        new Date(1_700_000_000_000 + 730 * 12_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      )
      assert.equal(meta.body.num_of_leaves, 1)
      // Epoch 1 is not ready until block 1440 + 10.
      assert.deepEqual(await at(1449), [])
      assert.deepEqual(await at(1450), [1])
    })
  })

  it('closes every ready epoch not closed yet, oldest first', async () => {
    await withPool({}, async (t) => {
      t.clock.advance(3 * WINDOW_MS)
      assert.deepEqual(await t.pool.epochs.closeReady(), [0, 1, 2])
      assert.deepEqual((await get(t, '/claims/epochs')).body.epochs, [2, 1, 0])
    })
  })

  it('an epoch cannot be closed before the one preceding it (its leaves need the earlier credit)', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const m = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, m.hotkey, 1)
      await addPoints(t.pool, 1, m.hotkey, 1)
      t.clock.advance(2 * WINDOW_MS)
      await assert.rejects(t.pool.epochs.close(1), /close the earlier epochs first/)
      assert.equal(await t.pool.epochs.close(0), true)
      assert.equal(await t.pool.epochs.close(1), true)
      assert.equal((await leaves(t, 1)).get(m.hotkey).amount_units, 2000)
      assert.equal((await t.pool.epochs.verify(1)).ok, true)
    })
  })

  it('exactly once: a second closeReady or close changes nothing', async () => {
    await withPool({}, async (t) => {
      const a = await craftMiner(t.pool, { recipient: await randomAddress() })
      const b = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, a.hotkey, 2)
      await addPoints(t.pool, 0, b.hotkey, 1)
      assert.deepEqual(await closeThrough(t, 0), [0])
      const before = await t.pool.epochs.export(0)
      assert.deepEqual(await t.pool.epochs.closeReady(), [])
      assert.equal(await t.pool.epochs.close(0), false)
      const epochs = await t.pool.database.db.selectFrom('epochs').select('epoch_id').execute()
      assert.equal(epochs.length, 1)
      assert.deepEqual(await t.pool.epochs.export(0), before)
      assert.equal((await payouts(t, 0)).size, 2)
    })
  })

  it('exactly once across two processes sharing the database; payouts are not doubled', async () => {
    const shared = await startSharedPools(2)
    try {
      const [n1, n2] = shared.nodes as [PoolNode, PoolNode]
      const a = await craftMiner(shared.main, { recipient: await randomAddress() })
      const b = await craftMiner(shared.main, { recipient: await randomAddress() })
      const rounds = 4
      for (let e = 0; e < rounds; e++) {
        await addPoints(shared.main, e, a.hotkey, 3)
        await addPoints(shared.main, e, b.hotkey, 1)
      }
      shared.clock.advance(rounds * WINDOW_MS)
      // Both processes race, by direct calls and through their background closers.
      const results = await Promise.all([
        n1.closeEpochs(),
        n2.closeEpochs(),
        n1.runCloser().then(() => []),
        n2.runCloser().then(() => []),
      ])
      const reported = results.flat().sort()
      assert.ok(
        reported.length <= rounds && new Set(reported).size === reported.length,
        `no epoch reported closed twice: ${reported.join(',')}`,
      )
      const db = shared.db
      assert.equal((await db.selectFrom('epochs').select('epoch_id').execute()).length, rounds)
      assert.equal((await db.selectFrom('epoch_payouts').select('hotkey').execute()).length, 2 * rounds)
      // Default budget: both capped at 5% (50 000 000) each epoch; cumulative = rounds × that, not more.
      const last = await shared.main.epochs.export(rounds - 1)
      assert.deepEqual(
        last.leaves.map((l) => l.amount_units),
        [rounds * 50_000_000, rounds * 50_000_000],
      )
      for (let e = 0; e < rounds; e++) assert.equal((await shared.main.epochs.verify(e)).ok, true)
      // The other process serves the same proofs.
      const proof = await n2.app.inject({ method: 'GET', url: `/claims/epoch/${rounds - 1}/proof/${a.hotkey}` })
      assert.equal(proof.statusCode, 200)
      assert.equal(proof.json().amount_units, rounds * 50_000_000)
    } finally {
      await shared.close()
    }
  })
})

describe('payouts', { concurrency: CONCURRENCY }, () => {
  it('default fee and cap: 5% fee, each miner capped at 5% of the budget, the rest undistributed', async () => {
    await withPool({}, async (t) => {
      const ms = await Promise.all(
        [6, 3, 1].map(async () => await craftMiner(t.pool, { recipient: await randomAddress() })),
      )
      await Promise.all(
        ms.map(async (m, i) => {
          await addPoints(t.pool, 0, m.hotkey, [6, 3, 1][i]!)
        }),
      )
      await closeThrough(t, 0)
      const meta = (await get(t, '/claims/epoch/0')).body
      assert.equal(meta.fee_units, 50_000_000)
      assert.equal(meta.epoch_units, 150_000_000)
      assert.equal(meta.undistributed_units, 800_000_000)
      assert.equal(meta.total_units, 150_000_000)
      const paid = await payouts(t, 0)
      for (const m of ms) assert.equal(paid.get(m.hotkey), 50_000_000n)
    })
  })

  it('the cap repeats until stable and the excess goes to the uncapped in proportion', async () => {
    // Budget 1e9, fee 5% → 950 000 000 distributable; cap 40% = 400 000 000. A (6 of 10 points) is capped,
    // then B (3 of the remaining 4) is capped too, and C takes everything left: 150 000 000.
    await withPool({ MINER_CAP_BPS: '4000' }, async (t) => {
      const [a, b, c] = await Promise.all(
        [0, 1, 2].map(async () => await craftMiner(t.pool, { recipient: await randomAddress() })),
      )
      await addPoints(t.pool, 0, a!.hotkey, 6)
      await addPoints(t.pool, 0, b!.hotkey, 3)
      await addPoints(t.pool, 0, c!.hotkey, 1)
      await closeThrough(t, 0)
      const paid = await payouts(t, 0)
      assert.equal(paid.get(a!.hotkey), 400_000_000n)
      assert.equal(paid.get(b!.hotkey), 400_000_000n)
      assert.equal(paid.get(c!.hotkey), 150_000_000n)
      const meta = (await get(t, '/claims/epoch/0')).body
      assert.equal(meta.epoch_units, 950_000_000)
      assert.equal(meta.undistributed_units, 0)
    })
  })

  it('fee is floored; leftover units go by largest remainder', async () => {
    // 1001 × 333 / 10000 = 33.33 → fee 33, distributable 968; shares 322.67 and 645.33 → 323 and 645.
    await withPool({ EPOCH_BUDGET_UNITS: '1001', POOL_FEE_BPS: '333', MINER_CAP_BPS: '0' }, async (t) => {
      const a = await craftMiner(t.pool, { recipient: await randomAddress() })
      const b = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, a.hotkey, 1)
      await addPoints(t.pool, 0, b.hotkey, 2)
      await closeThrough(t, 0)
      const paid = await payouts(t, 0)
      assert.equal(paid.get(a.hotkey), 323n)
      assert.equal(paid.get(b.hotkey), 645n)
      const meta = (await get(t, '/claims/epoch/0')).body
      assert.equal(meta.fee_units, 33)
      assert.equal(meta.epoch_units, 968)
      assert.equal(meta.undistributed_units, 0)
    })
  })

  it('equal remainders: the unit goes to the smallest public key; leaves are indexed by public key', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '100', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const hi = await craftMiner(t.pool, { publicKey: keyStartingWith(0x30), recipient: await randomAddress() })
      const lo = await craftMiner(t.pool, { publicKey: keyStartingWith(0x10), recipient: await randomAddress() })
      const mid = await craftMiner(t.pool, { publicKey: keyStartingWith(0x20), recipient: await randomAddress() })
      for (const m of [hi, lo, mid]) await addPoints(t.pool, 0, m.hotkey, 1.5)
      await closeThrough(t, 0)
      const paid = await payouts(t, 0)
      assert.equal(paid.get(lo.hotkey), 34n)
      assert.equal(paid.get(mid.hotkey), 33n)
      assert.equal(paid.get(hi.hotkey), 33n)
      const leafs = await leaves(t, 0)
      assert.deepEqual(
        [lo, mid, hi].map((m) => leafs.get(m.hotkey).index),
        [0, 1, 2],
      )
    })
  })

  it('the sum of payouts equals what was distributed, and budget = fee + distributed + undistributed', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '987654321987', POOL_FEE_BPS: '123', MINER_CAP_BPS: '700' }, async (t) => {
      const points = [
        0.1,
        0.2,
        0.3,
        1 / 3,
        2 / 3,
        7,
        11.5,
        13.25,
        0.000001,
        0.0000005,
        42,
        3,
        3,
        3,
        9.999999,
        1e-9,
        5,
        17,
        1,
        2,
        0.5,
        8,
      ]
      for (const p of points) {
        const m = await craftMiner(t.pool, { recipient: await randomAddress() })
        await addPoints(t.pool, 0, m.hotkey, p)
      }
      await closeThrough(t, 0)
      const meta = (await get(t, '/claims/epoch/0')).body
      const paid = [...(await payouts(t, 0)).values()]
      const sum = paid.reduce((s, u) => s + u, 0n)
      assert.equal(BigInt(meta.epoch_units), sum)
      assert.equal(BigInt(meta.fee_units), (987654321987n * 123n) / 10000n)
      assert.equal(BigInt(meta.fee_units) + sum + BigInt(meta.undistributed_units), 987654321987n)
      const cap = (987654321987n * 700n) / 10000n
      assert.ok(paid.every((u) => u <= cap))
      // 1e-9 points round to 0 micro-points: no payout row, no leaf.
      assert.equal(paid.length, points.length - 1)
      assert.equal(meta.num_of_leaves, points.length - 1)
      assert.equal(BigInt(meta.total_units), sum)
      assert.equal((await t.pool.epochs.verify(0)).ok, true)
    })
  })

  it('no points: the epoch closes with nothing paid and is listed but not claimable', async () => {
    await withPool({}, async (t) => {
      const idle = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, idle.hotkey, 0)
      assert.deepEqual(await closeThrough(t, 0), [0])
      const meta = (await get(t, '/claims/epoch/0')).body
      assert.equal(meta.root, ZERO_ROOT)
      assert.equal(meta.num_of_leaves, 0)
      assert.equal(meta.epoch_units, 0)
      assert.equal(meta.total_units, 0)
      assert.equal(meta.fee_units, 0)
      assert.equal(meta.undistributed_units, 1_000_000_000, 'the whole budget stays undistributed')
      assert.equal(meta.status, 'empty')
      assert.equal((await payouts(t, 0)).size, 0)
      assert.deepEqual((await get(t, '/claims/epochs')).body, { epochs: [0], default_epoch: null })
      assert.equal((await t.pool.epochs.verify(0)).ok, true)
    })
  })

  it('points that pay 0 units still take the fee, and the epoch balances', async () => {
    // A cap of 1 bp of 10 units is 0 units: the earners are all capped at 0, the fee is taken.
    await withPool({ EPOCH_BUDGET_UNITS: '10', POOL_FEE_BPS: '1000', MINER_CAP_BPS: '1' }, async (t) => {
      for (const p of [1, 2])
        await addPoints(t.pool, 0, (await craftMiner(t.pool, { recipient: await randomAddress() })).hotkey, p)
      await closeThrough(t, 0)
      const meta = (await get(t, '/claims/epoch/0')).body
      assert.deepEqual([meta.epoch_units, meta.fee_units, meta.undistributed_units], [0, 1, 9])
      assert.equal((await payouts(t, 0)).size, 2)
      assert.equal((await t.pool.epochs.verify(0)).ok, true)
    })
  })

  it('epochs stored unbalanced by earlier versions are corrected by a migration; payouts unchanged, verify matches', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '10', POOL_FEE_BPS: '1000', MINER_CAP_BPS: '1' }, async (t) => {
      await closeThrough(t, 0) // nobody had points
      for (const p of [1, 2])
        await addPoints(t.pool, 1, (await craftMiner(t.pool, { recipient: await randomAddress() })).hotkey, p)
      await closeThrough(t, 1) // points, but 0 units paid
      const db = t.pool.database.db
      const before = await db.selectFrom('epoch_payouts').selectAll().orderBy('epoch_id').orderBy('hotkey').execute()
      // What earlier versions stored whenever nothing was paid: fee 0 and undistributed 0.
      await db.updateTable('epochs').set({ fee_units: 0n, undistributed_units: 0n }).execute()
      for (const e of [0, 1])
        assert.equal((await t.pool.epochs.verify(e)).ok, false, `epoch ${e} unbalanced before the migration`)
      await balanceEpochs(db, t.pool.database.dialect) // the migration, run again over the old values
      const rows = await db
        .selectFrom('epochs')
        .select(['epoch_id', 'epoch_units', 'fee_units', 'undistributed_units'])
        .orderBy('epoch_id')
        .execute()
      assert.deepEqual(
        rows.map((r) => [
          Number(r.epoch_id),
          BigInt(r.epoch_units),
          BigInt(r.fee_units),
          BigInt(r.undistributed_units),
        ]),
        [
          [0, 0n, 0n, 10n],
          [1, 0n, 1n, 9n],
        ],
      )
      assert.deepEqual(
        await db.selectFrom('epoch_payouts').selectAll().orderBy('epoch_id').orderBy('hotkey').execute(),
        before,
      )
      for (const e of [0, 1]) assert.deepEqual((await t.pool.epochs.verify(e)).mismatches, [])
    })
  })
})

describe('cumulative amounts and recipients', { concurrency: CONCURRENCY }, () => {
  it('leaves carry the cumulative credit; a hotkey without new points keeps its leaf', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const a = await craftMiner(t.pool, { recipient: await randomAddress() })
      const b = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, a.hotkey, 3)
      await addPoints(t.pool, 0, b.hotkey, 1)
      await addPoints(t.pool, 1, a.hotkey, 1)
      await closeThrough(t, 1)
      const e0 = await leaves(t, 0)
      const e1 = await leaves(t, 1)
      assert.equal(e0.get(a.hotkey).amount_units, 750)
      assert.equal(e0.get(b.hotkey).amount_units, 250)
      assert.equal(e1.get(a.hotkey).amount_units, 1750)
      assert.equal(e1.get(b.hotkey).amount_units, 250)
      const meta1 = (await get(t, '/claims/epoch/1')).body
      assert.equal(meta1.epoch_units, 1000)
      assert.equal(meta1.total_units, 2000)
    })
  })

  it('a hotkey without a recipient is left out but keeps its credit, and is paid in full once it sets one', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const [late] = await TestMiner.many(t.app, 1, 'late')
      assert.equal((await late!.send('POST', '/api/v1/miners/register', {})).statusCode, 200)
      const other = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, late!.hotkey, 1)
      await addPoints(t.pool, 0, other.hotkey, 1)
      await closeThrough(t, 0)
      assert.equal((await get(t, `/claims/epoch/0/proof/${late!.hotkey}`)).status, 404)
      assert.equal((await get(t, '/claims/epoch/0')).body.num_of_leaves, 1)
      let stats = (await late!.send('GET', '/api/v1/miners/stats')).json()
      assert.equal(stats.credited_units, 500, 'credit is kept without a recipient')

      // Epoch 1: still no recipient, more credit.
      await addPoints(t.pool, 1, late!.hotkey, 1)
      await addPoints(t.pool, 1, other.hotkey, 3)
      await closeThrough(t, 1)
      assert.equal((await get(t, `/claims/epoch/1/proof/${late!.hotkey}`)).status, 404)

      // Sets a recipient during epoch 2 and earns nothing in it: the next leaf has everything earned.
      const recipient = await randomAddress()
      assert.equal((await late!.setRecipient(recipient)).statusCode, 200)
      await addPoints(t.pool, 2, other.hotkey, 1)
      await closeThrough(t, 2)
      const pkg = await get(t, `/claims/epoch/2/proof/${late!.hotkey}`)
      assert.equal(pkg.status, 200)
      assert.equal(pkg.body.amount_units, 750)
      assert.equal(pkg.body.recipient_coldkey, recipient)
      stats = (await late!.send('GET', '/api/v1/miners/stats')).json()
      assert.equal(stats.credited_units, 750)
      assert.equal((await t.pool.epochs.verify(2)).ok, true)
    })
  })

  it('a recipient change after a close leaves the closed epoch alone and applies to the next', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1, 'switch')
      const first = await randomAddress()
      const second = await randomAddress()
      assert.equal((await miner!.setRecipient(first)).statusCode, 200)
      await addPoints(t.pool, 0, miner!.hotkey, 1)
      await closeThrough(t, 0)
      const before = (await get(t, `/claims/epoch/0/proof/${miner!.hotkey}`)).body
      assert.equal(before.recipient_coldkey, first)

      t.clock.advance(1000)
      assert.equal((await miner!.setRecipient(second)).statusCode, 200)
      const after = (await get(t, `/claims/epoch/0/proof/${miner!.hotkey}`)).body
      assert.deepEqual(after, before)
      assert.equal((await t.pool.epochs.verify(0)).ok, true, 'verify uses the recipients the leaves recorded')

      await closeThrough(t, 1)
      const next = (await get(t, `/claims/epoch/1/proof/${miner!.hotkey}`)).body
      assert.equal(next.recipient_coldkey, second)
      assert.equal(next.amount_units, 1000)
      assert.equal((await t.pool.epochs.verify(0)).ok, true)
      assert.equal((await t.pool.epochs.verify(1)).ok, true)
    })
  })

  it('a recipient cleared before the close means no leaf, and the credit waits', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const m = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, m.hotkey, 1)
      await setRecipientRow(t.pool, m.hotkey, null)
      await closeThrough(t, 0)
      assert.equal((await t.pool.epochs.export(0)).num_of_leaves, 0)
      await setRecipientRow(t.pool, m.hotkey, await randomAddress())
      await closeThrough(t, 1)
      assert.equal((await leaves(t, 1)).get(m.hotkey).amount_units, 1000)
    })
  })

  it('MIN_PAYOUT_UNITS leaves out small credits until they grow to it', async () => {
    await withPool(
      { EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0', MIN_PAYOUT_UNITS: '300' },
      async (t) => {
        const big = await craftMiner(t.pool, { recipient: await randomAddress() })
        const small = await craftMiner(t.pool, { recipient: await randomAddress() })
        for (const w of [0, 1, 2]) {
          await addPoints(t.pool, w, big.hotkey, 9)
          await addPoints(t.pool, w, small.hotkey, 1)
        }
        await closeThrough(t, 2)
        assert.equal((await leaves(t, 0)).has(small.hotkey), false, '100 < 300')
        assert.equal((await leaves(t, 1)).has(small.hotkey), false, '200 < 300')
        assert.equal((await leaves(t, 2)).get(small.hotkey)?.amount_units, 300, '300 reaches the minimum')
        assert.equal((await leaves(t, 0)).get(big.hotkey)?.amount_units, 900)
        assert.equal((await get(t, `/claims/epoch/1/proof/${small.hotkey}`)).status, 404)
        for (const e of [0, 1, 2]) assert.equal((await t.pool.epochs.verify(e)).ok, true)
      },
    )
  })
})

describe('verify and export', { concurrency: CONCURRENCY }, () => {
  async function twoEpochs(t: TestPool): Promise<void> {
    const ms = await Promise.all(
      [0, 1, 2].map(async () => await craftMiner(t.pool, { recipient: await randomAddress() })),
    )
    for (const [i, m] of ms.entries()) {
      await addPoints(t.pool, 0, m.hotkey, i + 1)
      await addPoints(t.pool, 1, m.hotkey, 3 - i)
    }
    await closeThrough(t, 1)
  }

  it('verify recomputes a closed epoch and matches', async () => {
    await withPool({ MINER_CAP_BPS: '0' }, async (t) => {
      await twoEpochs(t)
      for (const e of [0, 1]) {
        const v = await t.pool.epochs.verify(e)
        assert.deepEqual(v.mismatches, [])
        assert.equal(v.ok, true)
        assert.equal(v.root, v.recomputedRoot)
        assert.equal(v.root, (await get(t, `/claims/epoch/${e}`)).body.root)
      }
      await assert.rejects(t.pool.epochs.verify(7), /not closed/)
    })
  })

  it('verify detects a tampered leaf amount or root', async () => {
    await withPool({ MINER_CAP_BPS: '0' }, async (t) => {
      await twoEpochs(t)
      const db = t.pool.database.db
      await db
        .updateTable('epoch_leaves')
        .set((eb) => ({ amount_units: eb('amount_units', '+', 1n) }))
        .where('epoch_id', '=', 1n)
        .where('leaf_index', '=', 1n)
        .execute()
      let v = await t.pool.epochs.verify(1)
      assert.equal(v.ok, false)
      assert.ok(
        v.mismatches.some((m) => m.startsWith('leaf 1 amount')),
        JSON.stringify(v.mismatches),
      )
      assert.equal((await t.pool.epochs.verify(0)).ok, true, 'the other epoch is untouched')

      await db
        .updateTable('epochs')
        .set({ root: `0x${'ab'.repeat(32)}` })
        .where('epoch_id', '=', 0n)
        .execute()
      v = await t.pool.epochs.verify(0)
      assert.equal(v.ok, false)
      assert.equal(v.root, `0x${'ab'.repeat(32)}`)
      assert.notEqual(v.recomputedRoot, v.root)
      assert.ok(v.mismatches.some((m) => m.startsWith('root')))
    })
  })

  it('verify detects tampered published totals (epoch, fee, undistributed units)', async () => {
    await withPool({ MINER_CAP_BPS: '0' }, async (t) => {
      await twoEpochs(t)
      const db = t.pool.database.db
      for (const column of ['epoch_units', 'fee_units', 'undistributed_units'] as const) {
        const row = await db.selectFrom('epochs').select(column).where('epoch_id', '=', 1n).executeTakeFirstOrThrow()
        const original = BigInt(row[column])
        await db
          .updateTable('epochs')
          .set({ [column]: original + 7n })
          .where('epoch_id', '=', 1n)
          .execute()
        const v = await t.pool.epochs.verify(1)
        assert.equal(v.ok, false, column)
        assert.deepEqual(v.mismatches, [`${column}: stored ${original + 7n}, recomputed ${original}`])
        await db
          .updateTable('epochs')
          .set({ [column]: original })
          .where('epoch_id', '=', 1n)
          .execute()
      }
      assert.equal((await t.pool.epochs.verify(1)).ok, true)
    })
  })

  it('verify detects a tampered payout (and the cumulative leaves after it)', async () => {
    await withPool({ MINER_CAP_BPS: '0' }, async (t) => {
      await twoEpochs(t)
      const db = t.pool.database.db
      const victim = (
        await db.selectFrom('epoch_payouts').select('hotkey').where('epoch_id', '=', 0n).executeTakeFirstOrThrow()
      ).hotkey
      await db
        .updateTable('epoch_payouts')
        .set((eb) => ({ units: eb('units', '+', 5n) }))
        .where('epoch_id', '=', 0n)
        .where('hotkey', '=', victim)
        .execute()
      const v0 = await t.pool.epochs.verify(0)
      assert.equal(v0.ok, false)
      assert.ok(v0.mismatches.some((m) => m.startsWith(`payout of ${victim}`)))
      assert.equal((await t.pool.epochs.verify(1)).ok, false, 'epoch 1 leaves were built on the stored credit')
    })
  })

  it('export writes the §8.5 artifact and its leaves alone re-derive the root', async () => {
    await withPool({ MINER_CAP_BPS: '0' }, async (t) => {
      await twoEpochs(t)
      const artifact = JSON.parse(JSON.stringify(await t.pool.epochs.export(1)))
      for (const field of [
        'artifact',
        'version',
        'format',
        'epoch',
        'root',
        'num_of_leaves',
        'total_units',
        'epoch_units',
        'fee_units',
        'undistributed_units',
        'budget_units',
        'window_start',
        'window_end',
        'block_start',
        'block_end',
        'closed_at',
        'params',
        'payouts',
        'credit_without_leaf',
        'leaves',
      ]) {
        assert.ok(field in artifact, `artifact has ${field}`)
      }
      assert.equal(artifact.format, CLAIM_TREE_FORMAT)
      assert.equal(artifact.epoch, 1)
      assert.equal(artifact.num_of_leaves, 3)
      assert.equal(artifact.window_start, 1)
      assert.equal(artifact.window_end, 1)
      assert.equal(artifact.block_start, 360)
      assert.equal(artifact.block_end, 719)
      assert.match(artifact.closed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      assert.equal(artifact.fee_units, 50_000_000)
      assert.equal(artifact.epoch_units, 950_000_000)
      assert.equal(artifact.total_units, 1_900_000_000)
      assert.deepEqual(artifact.params, {
        budget_units: '1000000000',
        pool_fee_bps: 500,
        miner_cap_bps: 0,
        min_payout_units: '0',
        window_blocks: 360,
        epoch_windows: 1,
      })
      assert.equal(
        artifact.leaves.reduce((s: bigint, l: any) => s + BigInt(l.amount_units), 0n),
        BigInt(artifact.total_units),
      )

      // Independent re-derivation: only the artifact's leaves, the public tree builder, and SS58 decoding.
      const entries = artifact.leaves.map((l: any) => ({
        hotkey: decodeAddress(l.hotkey),
        recipient: decodeAddress(l.recipient_coldkey),
        amountUnits: BigInt(l.amount_units),
      }))
      const tree = buildClaimTree(BigInt(artifact.epoch), entries)
      assert.equal(`0x${Buffer.from(tree.root).toString('hex')}`, artifact.root)
      for (const l of artifact.leaves) {
        assert.equal(`0x${Buffer.from(tree.leaves[l.index]!.leaf).toString('hex')}`, l.leaf)
        // Proofs are not in the artifact; the proof route serves each one, against the same root.
        const pkg = (await get(t, `/claims/epoch/1/proof/${l.hotkey}`)).body
        assert.equal(
          verifyClaim(1n, l.index, entries[l.index], pkg.proof.map(fromHex32), fromHex32(artifact.root)),
          true,
        )
      }
      await assert.rejects(t.pool.epochs.export(9), /not closed/)
    })
  })

  it('amounts above 2^53 are decimal strings in JSON and stay exact', async () => {
    await withPool({ EPOCH_BUDGET_UNITS: '9000000000000000000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }, async (t) => {
      const a = await craftMiner(t.pool, { recipient: await randomAddress() })
      const b = await craftMiner(t.pool, { recipient: await randomAddress() })
      const c = await craftMiner(t.pool, { recipient: await randomAddress() })
      await addPoints(t.pool, 0, a.hotkey, 2)
      await addPoints(t.pool, 0, b.hotkey, 1)
      await addPoints(t.pool, 0, c.hotkey, 0.000001) // 1 micro-point of 3 000 001: a small, exact number
      await closeThrough(t, 0)
      const text = JSON.stringify(await t.pool.epochs.export(0))
      const artifact = JSON.parse(text)
      assert.equal(artifact.total_units, '9000000000000000000')
      assert.equal(artifact.epoch_units, '9000000000000000000')
      const amounts = new Map(artifact.leaves.map((l: any) => [l.hotkey, l.amount_units]))
      // 9e18 × 2 / 3000001 etc.; the small share is a number, the large ones strings.
      const micro = [2_000_000n, 1_000_000n, 1n]
      const exact = micro.map((m) => (9_000_000_000_000_000_000n * m) / 3_000_001n)
      assert.equal(typeof amounts.get(a.hotkey), 'string')
      assert.equal(typeof amounts.get(b.hotkey), 'string')
      assert.equal(typeof amounts.get(c.hotkey), 'number')
      const got = [a, b, c].map((m) => BigInt(amounts.get(m.hotkey) as string | number))
      got.forEach((g, i) => {
        assert.ok(g === exact[i] || g === exact[i]! + 1n, `${g} ≈ ${exact[i]}`)
      })
      assert.equal(
        got.reduce((s, g) => s + g, 0n),
        9_000_000_000_000_000_000n,
      )
      const pkg = await t.app.inject({ method: 'GET', url: `/claims/epoch/0/proof/${a.hotkey}` })
      assert.match(pkg.body, new RegExp(`"amount_units":"${got[0]}"`))
      assert.equal((await get(t, '/claims/epoch/0')).body.total_units, '9000000000000000000')
      assert.equal((await t.pool.epochs.verify(0)).ok, true)
    })
  })
})

describe('points earned through real leases', { concurrency: CONCURRENCY }, () => {
  it('three agreeing miners are paid and get leaves', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3, 'real')
      for (const m of miners) assert.equal((await m.setRecipient(await randomAddress())).statusCode, 200)
      await earnByEvaluating(miners)
      await closeThrough(t, 0)
      const meta = (await get(t, '/claims/epoch/0')).body
      assert.equal(meta.num_of_leaves, 3)
      for (const m of miners) {
        const pkg = await get(t, `/claims/epoch/0/proof/${m.hotkey}`)
        assert.equal(pkg.status, 200)
        assert.equal(pkg.body.amount_units, 50_000_000)
      }
    })
  })
})
