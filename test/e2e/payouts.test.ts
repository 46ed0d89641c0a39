// End to end: simulated miners lease, evaluate and evolve through several windows and epochs
// (EPOCH_WINDOWS=2); the background closer closes windows and epochs; every miner with a recipient gets a
// proof that verifies offline and claims exactly what it has not claimed yet; a miner that sets its
// recipient late is paid everything it earned; transfers add up to the leaves claimed.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { FastifyBaseLogger } from 'fastify'
import { initClaimTree } from '../../src/domain/claim-tree.ts'
import { checkProofPackage } from '../../src/domain/proof-package.ts'
import { BackgroundJobs } from '../../src/jobs/background-jobs.ts'
import { startTestPool } from '../support/pool.ts'
import { TestMiner } from '../support/miner.ts'
import { randomAddress, WINDOW_MS } from '../support/epochs.ts'

/** The linear SGD seed as the pool serves it (seed files are already in the miners' serializer's form). */
const LINEAR_SEED = readFileSync(new URL('../../seeds/cifar10_binary/linear_sgd.dsl', import.meta.url), 'utf8')

await initClaimTree()

const EPOCHS = 3
const EPOCH_WINDOWS = 2
const MINERS = 6
const LATE = MINERS - 1 // sets its recipient only after epoch 1 has closed
const SKIPPER = 1 // does not claim epoch 1, so its epoch-2 claim catches up

/** A valid variant of the linear SGD seed, distinct per k (its learning rate). */
function evolvedProgram(k: number): string {
  return [
    '# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16',
    '# setup:',
    `s2 = ${(k + 1) / 100_000}`,
    'v1 = 0',
    '# predict:',
    's0 = dot(v1, v0)',
    '# learn:',
    's3 = s1 - s0',
    's4 = s3 * s2',
    'v2 = v0 * s4',
    'v1 = v1 + v2',
    '',
  ].join('\n')
}

/** Every honest miner reports the same score for an algorithm, so consensus forms. */
const scoreOf = (id: number): number => 0.3 + (id % 7) * 0.05

const silentLog = { info() {}, error() {}, warn() {}, debug() {} } as unknown as FastifyBaseLogger

describe('payouts end to end', () => {
  it('miners work through epochs, the closer closes them, and claims pay exactly what was earned', async () => {
    // Plain 3-of-n samples (adaptive n off): with one lease per miner per window, larger samples would
    // push decisions windows later, and this test is about what is paid for them.
    const t = await startTestPool({
      EPOCH_WINDOWS: String(EPOCH_WINDOWS),
      MINER_CAP_BPS: '0',
      CONSENSUS_MAX_SAMPLE_SIZE: '3',
    })
    try {
      const closer = new BackgroundJobs(t.pool, silentLog)
      const miners = await TestMiner.many(t.app, MINERS, 'e2e')
      const recipients = await Promise.all(miners.map(async () => await randomAddress()))
      for (const [i, m] of miners.entries()) {
        if (i !== LATE) assert.equal((await m.setRecipient(recipients[i]!)).statusCode, 200)
      }

      const get = async (url: string): Promise<{ status: number; body: any }> => {
        const r = await t.app.inject({ method: 'GET', url })
        return { status: r.statusCode, body: r.json() }
      }
      const claimed = new Map<string, bigint>() // what the test has seen transferred per hotkey
      const lastClaimedLeaf = new Map<string, bigint>()
      let transferredTotal = 0n
      let k = 0
      let window = 0

      for (let epoch = 0; epoch < EPOCHS; epoch++) {
        for (let w = 0; w < EPOCH_WINDOWS; w++, window++) {
          // Each window every miner leases (in a rotating order, so each gets fresh work), scores what it
          // is asked to evaluate, and evolves one new program from the linear seed.
          const order = miners.map((_, i) => miners[(i + window) % MINERS]!)
          const leases = []
          for (const m of order) {
            const r = await m.lease()
            assert.equal(r.statusCode, 200, r.body)
            leases.push({ m, lease: r.json() })
          }
          for (const { m, lease } of leases) {
            const parent =
              lease.seed_algorithms.find((a: any) => a.algorithm_dsl === LINEAR_SEED) ?? lease.seed_algorithms[0]
            const r = await m.submitLease(lease.lease_id, {
              evaluations: lease.evaluate_algorithms.map((a: any) => ({ algorithm_id: a.id, score: scoreOf(a.id) })),
              evolutions: [{ parent_algorithm_ids: [parent.id], algorithm_dsl: evolvedProgram(k++) }],
            })
            assert.equal(r.statusCode, 200, r.body)
          }
          t.clock.advance(WINDOW_MS)
          await closer.runOnce()
          const closedWindows = await t.pool.database.db.selectFrom('window_closes').select('window_number').execute()
          assert.equal(closedWindows.length, window + 1, 'the closer closed the window that just ended')
        }

        // The epoch's last window has ended: the closer has closed the epoch, once.
        const epochs = (await get('/claims/epochs')).body
        assert.equal(epochs.epochs[0], epoch, `epoch ${epoch} closed by the background job`)
        assert.equal(epochs.epochs.length, epoch + 1)
        assert.equal(epochs.default_epoch, epoch)
        assert.equal((await t.pool.epochs.verify(epoch)).ok, true)
        const meta = (await get(`/claims/epoch/${epoch}`)).body
        assert.equal(meta.window_start, epoch * EPOCH_WINDOWS)
        assert.equal(meta.window_end, epoch * EPOCH_WINDOWS + EPOCH_WINDOWS - 1)
        assert.ok(meta.epoch_units > 0, `miners earned in epoch ${epoch}`)

        // Cumulative credit per hotkey through this epoch, from the pool's own accounts (stats).
        const credit = new Map<string, bigint>()
        for (const m of miners) {
          const stats = (await m.send('GET', '/api/v1/miners/stats')).json()
          credit.set(m.hotkey, BigInt(stats.credited_units))
        }
        let leafTotal = 0n
        for (const [i, m] of miners.entries()) {
          const hasRecipient = i !== LATE || epoch >= 2
          const proof = await get(`/claims/epoch/${epoch}/proof/${m.hotkey}`)
          if (!hasRecipient) {
            assert.equal(proof.status, 404, 'no recipient, no leaf')
            assert.ok(credit.get(m.hotkey)! > 0n, 'but the credit is kept')
            continue
          }
          assert.equal(proof.status, 200, `${i} has a leaf in epoch ${epoch}`)
          const pkg = proof.body
          const check = checkProofPackage(pkg, meta.root)
          assert.deepEqual(
            check.problems,
            [],
            `proof of miner ${i} in epoch ${epoch} verifies against the published root`,
          )
          assert.equal(pkg.recipient_coldkey, recipients[i])
          const amount = BigInt(pkg.amount_units)
          assert.equal(amount, credit.get(m.hotkey), 'the leaf carries the whole cumulative credit')
          leafTotal += amount

          if (i === SKIPPER && epoch === 1) continue
          const before = claimed.get(m.hotkey) ?? 0n
          const body = {
            index: pkg.index,
            hotkey: pkg.hotkey,
            recipient_coldkey: pkg.recipient_coldkey,
            amount_units: pkg.amount_units,
            proof: pkg.proof,
          }
          const r = await t.app.inject({ method: 'POST', url: `/claims/epoch/${epoch}/claim`, payload: body })
          if (amount === before) {
            assert.equal(r.statusCode, 409, 'nothing new to claim')
          } else {
            assert.equal(r.statusCode, 200, r.body)
            assert.equal(BigInt(r.json().transferred_units), amount - before, 'a claim transfers only what is new')
            transferredTotal += amount - before
            claimed.set(m.hotkey, amount)
            lastClaimedLeaf.set(m.hotkey, amount)
          }
          const again = await t.app.inject({ method: 'POST', url: `/claims/epoch/${epoch}/claim`, payload: body })
          assert.equal(again.statusCode, 409, 'a second claim is refused')
        }
        assert.equal(BigInt(meta.total_units), leafTotal)

        if (epoch === 1) {
          // The late miner sets its recipient now, during epoch 2.
          assert.equal((await miners[LATE]!.setRecipient(recipients[LATE]!)).statusCode, 200)
        }
      }

      // The late miner's first leaf held everything it earned in all three epochs, not only epoch 2.
      const late = miners[LATE]!
      const payouts = await t.pool.database.db
        .selectFrom('epoch_payouts')
        .select(['epoch_id', 'units'])
        .where('hotkey', '=', late.hotkey)
        .execute()
      const earnedBeforeRecipient = payouts.filter((p) => p.epoch_id < 2n).reduce((s, p) => s + BigInt(p.units), 0n)
      assert.ok(earnedBeforeRecipient > 0n, 'the late miner earned before it had a recipient')
      assert.equal(
        claimed.get(late.hotkey),
        payouts.reduce((s, p) => s + BigInt(p.units), 0n),
      )

      // The skipper caught up in epoch 2: it holds its full cumulative credit like everyone else.
      const finalCredit = (await miners[SKIPPER]!.send('GET', '/api/v1/miners/stats')).json()
      assert.equal(BigInt(finalCredit.claimed_units), BigInt(finalCredit.credited_units))
      assert.equal(finalCredit.claimable_units, 0)

      // Everything transferred, over every ledger, equals the leaves claimed last per hotkey.
      let ledgerTotal = 0n
      for (let e = 0; e < EPOCHS; e++) ledgerTotal += BigInt((await get(`/claims/ledger/${e}`)).body.claimed_units)
      const leavesClaimed = [...lastClaimedLeaf.values()].reduce((s, a) => s + a, 0n)
      assert.equal(ledgerTotal, transferredTotal)
      assert.equal(ledgerTotal, leavesClaimed)
      const hotkeyClaims = await t.pool.database.db.selectFrom('hotkey_claims').select('claimed_units').execute()
      assert.equal(
        hotkeyClaims.reduce((s, r) => s + BigInt(r.claimed_units), 0n),
        leavesClaimed,
      )
      // Nothing earned is lost: every unit paid out was claimed by the end.
      const allPaid = (await t.pool.database.db.selectFrom('epoch_payouts').select('units').execute()).reduce(
        (s, p) => s + BigInt(p.units),
        0n,
      )
      assert.equal(leavesClaimed, allPaid)
    } finally {
      await t.close()
    }
  })
})
