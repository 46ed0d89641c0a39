// Concurrent claims (SPEC §9, §11): a leaf transfers once however many requests race for it, also across
// two API processes sharing one database.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { initClaimTree } from '../../src/domain/claim-tree.ts'
import { addPoints, closeThrough, craftMiner, randomAddress, type CraftedMiner } from '../support/epochs.ts'
import { startSharedPools, type SharedPools } from '../support/shared-pool.ts'

await initClaimTree()

interface Setup {
  shared: SharedPools
  miners: CraftedMiner[]
  app: (i: number) => FastifyInstance
}

/** `count` miners with recipients and equal points in each of `epochs` windows (one window per epoch), all closed. */
async function setup(count: number, epochs: number): Promise<Setup> {
  const shared = await startSharedPools(2, { EPOCH_BUDGET_UNITS: '1000000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' })
  const pool = shared.main
  const miners: CraftedMiner[] = []
  for (let i = 0; i < count; i++) miners.push(await craftMiner(pool, { recipient: await randomAddress() }))
  for (let w = 0; w < epochs; w++) for (const [i, m] of miners.entries()) await addPoints(pool, w, m.hotkey, i + 1)
  await closeThrough({ pool, clock: shared.clock }, epochs - 1)
  return { shared, miners, app: (i) => shared.nodes[i % shared.nodes.length]!.app }
}

async function proofOf(app: FastifyInstance, epoch: number, hotkey: string): Promise<any> {
  const r = await app.inject({ method: 'GET', url: `/claims/epoch/${epoch}/proof/${hotkey}` })
  assert.equal(r.statusCode, 200)
  return r.json()
}

const claim = async (app: FastifyInstance, epoch: number, pkg: any) =>
  await app.inject({
    method: 'POST',
    url: `/claims/epoch/${epoch}/claim`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      index: pkg.index,
      hotkey: pkg.hotkey,
      recipient_coldkey: pkg.recipient_coldkey,
      amount_units: pkg.amount_units,
      proof: pkg.proof,
    }),
  })

describe('concurrent claims (2 processes)', () => {
  it('20 identical claims at once: exactly one 200, nineteen 409, one transfer', async () => {
    const { shared, miners, app } = await setup(3, 1)
    try {
      const m = miners[2]!
      const pkg = await proofOf(app(0), 0, m.hotkey)
      const replies = await Promise.all(Array.from({ length: 20 }, async (_, i) => await claim(app(i), 0, pkg)))
      const statuses = replies.map((r) => r.statusCode)
      assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','))
      assert.equal(statuses.filter((s) => s === 409).length, 19, statuses.join(','))
      for (const r of replies.filter((x) => x.statusCode === 409))
        assert.equal(r.json().code, 'POOL_ERR_ALREADY_CLAIMED')
      const won = replies.find((r) => r.statusCode === 200)!.json()
      assert.equal(won.transferred_units, pkg.amount_units)

      const db = shared.db
      const hotkeyClaims = await db.selectFrom('hotkey_claims').selectAll().execute()
      assert.deepEqual(
        hotkeyClaims.map((r) => [r.hotkey, BigInt(r.claimed_units)]),
        [[m.hotkey, BigInt(pkg.amount_units)]],
      )
      assert.equal((await db.selectFrom('claims').selectAll().execute()).length, 1)
      for (const { app: a } of shared.nodes) {
        const ledger = (await a.inject({ method: 'GET', url: '/claims/ledger/0' })).json()
        assert.equal(ledger.claims.length, 1)
        assert.equal(ledger.claimed_units, pkg.amount_units)
      }
    } finally {
      await shared.close()
    }
  })

  it('racing claims of two epochs of one hotkey transfer its newest cumulative amount once in total', async () => {
    const { shared, miners, app } = await setup(2, 2)
    try {
      const m = miners[0]!
      const older = await proofOf(app(0), 0, m.hotkey)
      const newer = await proofOf(app(1), 1, m.hotkey)
      assert.ok(newer.amount_units > older.amount_units)
      const replies = await Promise.all(
        Array.from(
          { length: 20 },
          async (_, i) => await (i % 2 === 0 ? claim(app(i), 0, older) : claim(app(i >> 1), 1, newer)),
        ),
      )
      assert.ok(
        replies.every((r) => r.statusCode === 200 || r.statusCode === 409),
        replies.map((r) => r.statusCode).join(','),
      )
      const transferred = replies
        .filter((r) => r.statusCode === 200)
        .reduce((s, r) => s + BigInt(r.json().transferred_units), 0n)
      assert.equal(transferred, BigInt(newer.amount_units))
      const row = await shared.db
        .selectFrom('hotkey_claims')
        .selectAll()
        .where('hotkey', '=', m.hotkey)
        .executeTakeFirstOrThrow()
      assert.equal(BigInt(row.claimed_units), BigInt(newer.amount_units))
    } finally {
      await shared.close()
    }
  })

  it('claims of different hotkeys at once all succeed', async () => {
    const { shared, miners, app } = await setup(12, 1)
    try {
      const pkgs = await Promise.all(miners.map(async (m) => await proofOf(app(0), 0, m.hotkey)))
      const replies = await Promise.all(pkgs.flatMap((pkg, i) => [claim(app(i), 0, pkg), claim(app(i + 1), 0, pkg)]))
      const ok = replies.filter((r) => r.statusCode === 200)
      assert.equal(ok.length, miners.length, replies.map((r) => r.statusCode).join(','))
      assert.equal(replies.filter((r) => r.statusCode === 409).length, miners.length)
      const ledger = (await app(1).inject({ method: 'GET', url: '/claims/ledger/0' })).json()
      assert.equal(ledger.claims.length, miners.length)
      assert.equal(ledger.claimed_units, 1_000_000)
    } finally {
      await shared.close()
    }
  })
})
