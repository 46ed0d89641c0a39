/**
 * The quick, in-suite version of the scale-out run (test/load/scale-out.ts): two API "processes" (two
 * pool contexts and apps on one store, see test/support/shared-pool.ts) serve ~20 signed miners doing
 * parallel lease/submit rounds, racing leases and double submits across both apps while both close
 * windows. Then epochs close and `checkInvariants` (test/load/support.ts, the same checks the load
 * scripts run) must pass: one active assignment per miner, every acknowledged submit stored completely
 * and once, evaluation counts, windows and epochs closed once, payouts summing to the budget, and every
 * closed epoch re-verified. One epoch closes with no activity, and balances like the others. Runs on SQLite
 * and PostgreSQL.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createPoolContext } from '../../src/services/context.ts'
import { mutate, trueScore } from '../../src/simulation/miner.ts'
import { checkInvariants, namedKey, type Acknowledgement } from '../load/support.ts'
import { startSharedPools } from '../support/shared-pool.ts'
import { TestMiner, type LeaseBody, type SubmitBody } from '../support/miner.ts'

const MINERS = 20
const ROUNDS = 6
const ROUND_MS = 4_000
// 1 s blocks, 10-block windows, 2-window epochs: 6 rounds of 4 s span windows 0..2.
const ENV = {
  BLOCK_TIME_S: '1',
  WINDOW_BLOCKS: '10',
  EPOCH_WINDOWS: '2',
  LEASE_TTL_S: '10',
  RATE_LIMIT_IP_PER_MINUTE: '0',
  // The draw stays on (its queries race like the rest) but widens at the pace of these short windows.
  ASSIGNMENT_WIDEN_S: '1',
}

/** A deterministic pseudo-random sequence (mulberry32), so a failure replays the same way. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

describe('invariants under parallel load on two API processes', () => {
  it('hold after racing leases, double submits and concurrent window closes; epochs verify', async () => {
    const s = await startSharedPools(2, ENV)
    try {
      const random = seeded(42)
      const via = await Promise.all(s.nodes.map(async (node) => await TestMiner.many(node.app, MINERS, 'inv')))
      const miner = (i: number, app: number): TestMiner => via[app % 2]![i]!
      const recipients = await Promise.all(
        Array.from({ length: MINERS }, async (_, i) => (await namedKey(`inv-recipient${i}`)).address),
      )
      const set = await Promise.all(recipients.map(async (r, i) => await miner(i, i).setRecipient(r)))
      assert.deepEqual(
        set.map((r) => r.statusCode),
        Array(MINERS).fill(200),
      )

      const acknowledged: Acknowledgement[] = []
      let doubleSubmits = 0
      let racedLeases = 0
      for (let round = 0; round < ROUNDS; round++) {
        // Both processes close ended windows while the miners work.
        const closing = Promise.all([s.nodes[0]!.closeEnded(), s.nodes[1]!.closeEnded()])
        const leases = await Promise.all(
          Array.from({ length: MINERS }, async (_, i) => {
            // Every third miner asks both processes at once: at most one lease may be granted.
            const tries =
              i % 3 === 0
                ? [
                    miner(i, 0).lease({ eval_batch_size: 4, gossip_limit: 3 }),
                    miner(i, 1).lease({ eval_batch_size: 4, gossip_limit: 3 }),
                  ]
                : [miner(i, i + round).lease({ eval_batch_size: 4, gossip_limit: 3 })]
            const responses = await Promise.all(tries)
            if (tries.length > 1) racedLeases++
            const granted = responses.filter((r) => r.statusCode === 200)
            assert.ok(granted.length <= 1, `miner ${i} got ${granted.length} leases at once`)
            for (const r of responses)
              assert.ok([200, 400, 404].includes(r.statusCode), `lease of miner ${i}: ${r.statusCode} ${r.body}`)
            return granted[0]?.json() as LeaseBody | undefined
          }),
        )

        await Promise.all(
          leases.map(async (lease, i) => {
            if (lease === undefined) return
            if ((i + round) % 9 === 0) return // left unsubmitted: stays active until LEASE_TTL_S, then expires
            const honest = i % 5 !== 0
            const evaluations = lease.evaluate_algorithms.map((a) => ({
              algorithm_id: a.id,
              score: honest ? trueScore(a) : random(),
            }))
            const evolutions: Array<{ parent_algorithm_ids: number[]; algorithm_dsl: string }> = []
            const parent = lease.seed_algorithms[Math.floor(random() * lease.seed_algorithms.length)]
            const dsl = parent === undefined || random() < 0.4 ? undefined : mutate(parent.algorithm_dsl, random)
            if (dsl !== undefined) evolutions.push({ parent_algorithm_ids: [parent!.id], algorithm_dsl: dsl })
            const body = { evaluations, evolutions, iterations: 1 }
            // Even miners submit the same lease through both processes at once: exactly one is accepted.
            const responses = await Promise.all(
              i % 2 === 0
                ? [miner(i, 0).submitLease(lease.lease_id, body), miner(i, 1).submitLease(lease.lease_id, body)]
                : [miner(i, i + round + 1).submitLease(lease.lease_id, body)],
            )
            if (responses.length > 1) doubleSubmits++
            const statuses = responses.map((r) => r.statusCode).sort()
            assert.deepEqual(
              statuses,
              responses.length > 1 ? [200, 404] : [200],
              `submit of miner ${i}: ${responses.map((r) => r.body).join(' | ')}`,
            )
            const accepted = responses.find((r) => r.statusCode === 200)!.json() as SubmitBody
            assert.equal(accepted.evaluations_accepted, evaluations.length)
            acknowledged.push({
              leaseId: lease.lease_id,
              miner: miner(i, 0).hotkey,
              evaluations: accepted.evaluations_accepted,
              evolutions: accepted.evolutions_accepted,
              newAlgorithmIds: accepted.new_algorithm_ids,
            })
          }),
        )
        await closing
        s.clock.advance(ROUND_MS)
      }
      assert.ok(acknowledged.length >= MINERS * 3, `only ${acknowledged.length} submits accepted`)
      assert.ok(doubleSubmits > 0 && racedLeases > 0)

      // Past the end of epoch 1 (windows 2 and 3): both processes close windows at once, then the epochs close.
      s.clock.advance(45_000 - ROUNDS * ROUND_MS)
      await Promise.all([s.nodes[0]!.closeEnded(), s.nodes[1]!.closeEnded()])
      const closer = await createPoolContext(s.config, { clock: s.clock })
      try {
        assert.deepEqual(await closer.epochs.closeReady(), [0, 1])
        assert.deepEqual(await closer.epochs.closeReady(), [], 'a second close closes nothing')
        // Epoch 2 (windows 4 and 5) sees no activity: it closes empty and must balance too.
        s.clock.advance(20_000)
        assert.deepEqual(await closer.epochs.closeReady(), [2])
        const empty = await s.db.selectFrom('epochs').selectAll().where('epoch_id', '=', 2n).executeTakeFirstOrThrow()
        assert.deepEqual([empty.epoch_units, empty.fee_units, empty.undistributed_units].map(BigInt), [
          0n,
          0n,
          s.config.epochBudgetUnits,
        ])
        const checks = await checkInvariants(s.db, {
          sampleSize: s.config.consensusSampleSize,
          nowMs: s.clock.now(),
          acknowledged,
          verifyEpoch: async (id) => {
            const r = await closer.epochs.verify(id)
            return { ok: r.ok, detail: r.ok ? `root ${r.root}` : r.mismatches.slice(0, 3).join('; ') }
          },
        })
        const failed = checks.filter((c) => !c.ok)
        assert.deepEqual(failed, [], failed.map((c) => `${c.name}: ${c.detail}`).join('\n'))
        assert.equal(checks.length, 14, checks.map((c) => c.name).join(', '))
        const paid = await s.db.selectFrom('epochs').select('epoch_id').where('epoch_units', '>', 0n).execute()
        assert.ok(paid.length > 0, 'the load earned payouts')
        const leaves = await s.db.selectFrom('epoch_leaves').select('hotkey').execute()
        assert.ok(leaves.length > 0, 'miners with recipients got leaves')
      } finally {
        await closer.close()
      }
    } finally {
      await s.close()
    }
  })
})
