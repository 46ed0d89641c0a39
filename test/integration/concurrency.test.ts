/**
 * Several API processes on one database (SPEC §5.3, §5.5, §11): two pool contexts with their own
 * connections and apps share one store. Parallel requests spread across them must still give one active
 * assignment per miner, one accepted submission per lease, evaluations stored once, and a window closed
 * once. Meant for PostgreSQL above all; SQLite (a shared file) must hold the same invariants.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import { WINDOW_MS } from '../support/pool.ts'
import { startSharedPools, type SharedPools } from '../support/shared-pool.ts'
import { evolvedProgram, TestMiner, type LeaseBody } from '../support/miner.ts'

const MINERS = 30

async function withShared(
  env: Record<string, string>,
  fn: (s: SharedPools) => Promise<void>,
  options: { startTogether?: boolean; clockOffsetsMs?: number[] } = {},
): Promise<void> {
  const shared = await startSharedPools(2, env, options)
  try {
    await fn(shared)
  } finally {
    await shared.close()
  }
}

/** The same 30 miners (same keys) as seen through each app. */
async function minersOnBothApps(s: SharedPools): Promise<TestMiner[][]> {
  return await Promise.all(s.nodes.map(async (node) => await TestMiner.many(node.app, MINERS, 'crowd')))
}

const statuses = (responses: LightMyRequestResponse[]): number[] => responses.map((r) => r.statusCode).sort()

describe('two API processes on one database', () => {
  it('start together and load the seeds once', async () => {
    await withShared(
      {},
      async (s) => {
        const db = s.db
        const seeds = await db.selectFrom('algorithms').select(['algorithm_hash']).where('is_seed', '=', 1n).execute()
        assert.ok(seeds.length > 0)
        assert.equal(new Set(seeds.map((r) => r.algorithm_hash)).size, seeds.length, 'no seed loaded twice')
        const genesis = await db.selectFrom('pool_meta').select('value').where('key', '=', 'genesis_ms').execute()
        assert.equal(genesis.length, 1)
      },
      { startTogether: true },
    )
  })

  it('leases, double submissions and window closes stay exactly-once under parallel load', async () => {
    // Plain 3-samples: with thirty miners, adaptive n would draw more evaluators for these first decisions,
    // and which miners the (unseeded) draw offers the seeds to varies from run to run. This test counts.
    await withShared({ CONSENSUS_MAX_SAMPLE_SIZE: '3' }, async (s) => {
      const [viaA, viaB] = await minersOnBothApps(s)
      const db = s.db

      // 30 miners each fire 3 lease requests at once, spread over both apps.
      const leaseResponses = await Promise.all(
        Array.from({ length: MINERS }, async (_, i) => {
          const routes = [viaA![i]!, viaB![i]!, i % 2 === 0 ? viaA![i]! : viaB![i]!]
          return await Promise.all(routes.map(async (m) => await m.lease({ eval_batch_size: 4 })))
        }),
      )
      const leases = new Map<number, LeaseBody>()
      for (const [i, responses] of leaseResponses.entries()) {
        assert.deepEqual(
          statuses(responses),
          [200, 400, 400],
          `miner ${i}: ${responses.map((r) => r.body).join(' | ')}`,
        )
        for (const r of responses.filter((x) => x.statusCode === 400))
          assert.equal(r.json().detail, 'Miner already has active task')
        leases.set(i, responses.find((r) => r.statusCode === 200)!.json() as LeaseBody)
      }
      const active = await db
        .selectFrom('assignments')
        .select(['miner_hotkey', 'id'])
        .where('status', '=', 'active')
        .execute()
      assert.equal(active.length, MINERS)
      assert.equal(new Set(active.map((a) => a.miner_hotkey)).size, MINERS, 'exactly one active assignment per miner')
      for (const [i, lease] of leases) {
        assert.ok(active.some((a) => a.id === lease.lease_id && a.miner_hotkey === viaA![i]!.hotkey))
        assert.ok(lease.seed_algorithms.length > 0, 'every lease has seeds to evolve')
      }
      // 30 miners, 6 seeds, n = 3: every seed goes to at most n evaluators at once, whichever app leased.
      const evaluators = new Map<number, number>()
      for (const lease of leases.values())
        for (const a of lease.evaluate_algorithms) evaluators.set(a.id, (evaluators.get(a.id) ?? 0) + 1)
      assert.ok(
        [...evaluators.values()].every((count) => count <= 3),
        `evaluators per algorithm: ${JSON.stringify([...evaluators])}`,
      )
      assert.ok(evaluators.size > 0, 'the seeds are handed out for evaluation')
      const total = await db
        .selectFrom('assignments')
        .select((eb) => eb.fn.countAll<bigint>().as('n'))
        .executeTakeFirstOrThrow()
      assert.equal(Number(total.n), MINERS, 'refused leases left nothing behind')

      // Every miner submits its lease twice at once, once through each app.
      const submitResponses = await Promise.all(
        [...leases].map(async ([i, lease]) => {
          const body = { evaluations: lease.evaluate_algorithms.map((a) => ({ algorithm_id: a.id, score: 0.5 })) }
          return await Promise.all([
            viaA![i]!.submitLease(lease.lease_id, body),
            viaB![i]!.submitLease(lease.lease_id, body),
          ])
        }),
      )
      for (const [i, responses] of submitResponses.entries()) {
        assert.deepEqual(statuses(responses), [200, 404], `miner ${i}: ${responses.map((r) => r.body).join(' | ')}`)
        assert.equal(responses.find((r) => r.statusCode === 404)!.json().detail, 'Active lease assignment not found')
      }

      const evaluations = await db
        .selectFrom('evaluations')
        .select(['algorithm_id', 'miner_hotkey', 'assignment_id', 'outcome'])
        .execute()
      const handed = leases.size === 0 ? 0 : [...leases.values()].reduce((n, l) => n + l.evaluate_algorithms.length, 0)
      assert.equal(evaluations.length, handed, 'every handed evaluation stored exactly once')
      assert.equal(new Set(evaluations.map((e) => `${e.algorithm_id}:${e.miner_hotkey}`)).size, evaluations.length)
      for (const [, lease] of leases) {
        const mine = evaluations
          .filter((e) => e.assignment_id === lease.lease_id)
          .map((e) => Number(e.algorithm_id))
          .sort((a, b) => a - b)
        assert.deepEqual(
          mine,
          lease.evaluate_algorithms.map((a) => a.id).sort((a, b) => a - b),
        )
      }
      const submitted = await db.selectFrom('assignments').select('status').execute()
      assert.ok(submitted.every((a) => a.status === 'submitted'))

      // Per algorithm: counted evaluations never exceed n nor what was handed; decided ones have exactly n outcomes.
      const n = s.config.consensusSampleSize
      const algorithms = await db
        .selectFrom('algorithms')
        .select(['id', 'state', 'evaluation_count', 'consensus_score'])
        .execute()
      const items = await db
        .selectFrom('assignment_items')
        .select(['algorithm_id'])
        .where('role', '=', 'evaluate')
        .execute()
      for (const a of algorithms) {
        const stored = evaluations.filter((e) => e.algorithm_id === a.id)
        const handedOut = items.filter((x) => x.algorithm_id === a.id).length
        assert.ok(
          stored.length <= handedOut,
          `algorithm ${a.id}: ${stored.length} evaluations, handed ${handedOut} times`,
        )
        assert.equal(
          Number(a.evaluation_count),
          Math.min(n, stored.length),
          `algorithm ${a.id} counted each evaluation once`,
        )
        if (stored.length >= n) {
          assert.equal(a.state, 'scored')
          assert.equal(a.consensus_score, 0.5)
          assert.equal(stored.filter((e) => e.outcome === 'agree').length, n)
          assert.equal(stored.filter((e) => e.outcome !== null).length, n)
        } else {
          assert.equal(a.state, 'evaluating')
        }
      }

      // Both processes close the ended window at once, several times: it closes once.
      s.clock.advance(WINDOW_MS)
      const closes = await Promise.all([
        s.nodes[0]!.closeWindow(0),
        s.nodes[1]!.closeWindow(0),
        s.nodes[0]!.closeEnded(),
        s.nodes[1]!.closeEnded(),
        s.nodes[1]!.closeWindow(0),
        s.nodes[0]!.closeEnded(),
      ])
      const closedBySingle = closes.filter((c) => c === true).length
      const closedByEnded = closes.filter((c) => Array.isArray(c) && c.length > 0)
      assert.equal(closedBySingle + closedByEnded.length, 1, `closed once: ${JSON.stringify(closes)}`)
      for (const c of closedByEnded) assert.deepEqual(c, [0])
      const closeRows = await db.selectFrom('window_closes').selectAll().execute()
      assert.equal(closeRows.length, 1)
      const points = await db.selectFrom('window_points').select(['miner_hotkey', 'points', 'agreements']).execute()
      assert.equal(new Set(points.map((p) => p.miner_hotkey)).size, points.length)
      const miners = await db.selectFrom('miners').select(['hotkey', 'reputation']).execute()
      for (const m of miners) {
        const earned = points.find((p) => p.miner_hotkey === m.hotkey)?.points ?? 0
        assert.equal(m.reputation, earned, `${m.hotkey}: reputation equals its window points, not doubled`)
      }
      assert.ok(points.some((p) => p.points > 0))
      assert.deepEqual(await s.nodes[1]!.closeEnded(), [])
    })
  })

  it('a miner racing leases across processes in enforced-window mode gets one lease for the window', async () => {
    await withShared({ LEASE_ENFORCE_WINDOW: 'true' }, async (s) => {
      const [viaA, viaB] = await minersOnBothApps(s)
      const first = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => await Promise.all([viaA![i]!.lease(), viaB![i]!.lease()])),
      )
      for (const responses of first) assert.deepEqual(statuses(responses), [200, 400])
      // Submit, then race again: the window is used up whichever process answers.
      await Promise.all(
        first.map(async (responses, i) => {
          const lease = responses.find((r) => r.statusCode === 200)!.json() as LeaseBody
          await viaA![i]!.submitLeaseOk(lease.lease_id, { evaluations: [] })
        }),
      )
      const second = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => await Promise.all([viaA![i]!.lease(), viaB![i]!.lease()])),
      )
      for (const responses of second) {
        assert.deepEqual(statuses(responses), [400, 400])
        for (const r of responses)
          assert.equal(r.json().detail, 'Lease already issued for this window. Wait for next window.')
      }
      const rows = await s.db.selectFrom('lease_windows').selectAll().execute()
      assert.equal(rows.length, 10)
    })
  })

  it('a process whose clock runs ahead closes the window: submissions still deciding land in the next window', async () => {
    await withShared(
      {},
      async (s) => {
        const [viaA] = await minersOnBothApps(s)
        const miners = viaA!.slice(0, 3)
        const seeds = (
          await s.db.selectFrom('algorithms').select('id').where('is_seed', '=', 1n).orderBy('id').execute()
        ).map((r) => Number(r.id))
        // Two evaluations of every seed in window 0, on node 0.
        for (const m of miners.slice(0, 2)) await m.evaluate(Object.fromEntries(seeds.map((id) => [id, 0.5])))
        // The third miner (node 0, window 0) submits while node 1, a window ahead, closes window 0.
        const lease = await miners[2]!.leaseOk({ eval_batch_size: 64 })
        const [closed, submitted] = await Promise.all([
          s.nodes[1]!.closeWindow(0),
          miners[2]!.submitLeaseOk(lease.lease_id, {
            evaluations: seeds.map((id) => ({ algorithm_id: id, score: 0.5 })),
          }),
        ])
        assert.equal(closed, true)
        const decided = await s.db
          .selectFrom('algorithms')
          .select(['state', 'decided_window'])
          .where('id', 'in', seeds.map(BigInt))
          .execute()
        assert.ok(decided.every((a) => a.state === 'scored'))
        const windows = new Set(decided.map((a) => Number(a.decided_window)))
        assert.equal(windows.size, 1, 'one submission decides in one window')
        assert.deepEqual([...windows], [submitted.window_number])
        // Whichever came first, window 0's stored points are exactly what its decisions give.
        const stored = await s.db
          .selectFrom('window_points')
          .select(['miner_hotkey', 'points', 'agreements'])
          .where('window_number', '=', 0n)
          .orderBy('miner_hotkey')
          .execute()
        const recomputed = await s.main.windows.computePoints(s.db, 0)
        assert.deepEqual(
          stored.map((p) => [p.miner_hotkey, p.points, Number(p.agreements)]),
          recomputed.map((p) => [p.miner, p.points, p.agreements]),
        )
        if (submitted.window_number === 1) {
          assert.deepEqual(stored, [], 'decided after window 0 closed: nothing belongs to it')
          s.clock.advance(WINDOW_MS)
          assert.deepEqual(await s.nodes[1]!.closeEnded(), [1])
          const points = await s.db
            .selectFrom('window_points')
            .select(['miner_hotkey', 'points'])
            .where('window_number', '=', 1n)
            .execute()
          assert.equal(points.length, 3)
          for (const p of points) assert.equal(p.points, seeds.length)
        } else {
          assert.equal(stored.length, 3)
        }
        for (const m of miners) {
          const row = await s.db
            .selectFrom('miners')
            .select('reputation')
            .where('hotkey', '=', m.hotkey)
            .executeTakeFirstOrThrow()
          assert.equal(row.reputation, seeds.length, 'every agreement counted once, in one window')
        }
      },
      { clockOffsetsMs: [0, WINDOW_MS] },
    )
  })

  it('a submission from a process behind the clock, after the window closed, decides in the next window', async () => {
    await withShared(
      {},
      async (s) => {
        const [viaA] = await minersOnBothApps(s)
        const miners = viaA!.slice(0, 3)
        const [target] = (
          await s.db.selectFrom('algorithms').select('id').where('is_seed', '=', 1n).orderBy('id').execute()
        ).map((r) => Number(r.id))
        for (const m of miners.slice(0, 2)) await m.evaluate({ [target!]: 0.5 })
        assert.equal(await s.nodes[1]!.closeWindow(0), true)
        // Node 0 still believes it is window 0; the decision must not land in the closed window.
        const { submit } = await miners[2]!.evaluate({ [target!]: 0.5 })
        assert.equal(submit.window_number, 1)
        const row = await s.db
          .selectFrom('algorithms')
          .select(['state', 'decided_window'])
          .where('id', '=', BigInt(target!))
          .executeTakeFirstOrThrow()
        assert.deepEqual([row.state, Number(row.decided_window)], ['scored', 1])
        assert.deepEqual(
          await s.db.selectFrom('window_points').selectAll().where('window_number', '=', 0n).execute(),
          [],
        )
        s.clock.advance(WINDOW_MS)
        assert.deepEqual(await s.nodes[1]!.closeEnded(), [1])
        for (const m of miners) {
          const rep = await s.db
            .selectFrom('miners')
            .select('reputation')
            .where('hotkey', '=', m.hotkey)
            .executeTakeFirstOrThrow()
          assert.equal(rep.reputation, 1)
        }
      },
      { clockOffsetsMs: [0, WINDOW_MS] },
    )
  })

  it('six miners submitting the same new program at once store one original; the others are repeats', async () => {
    await withShared({}, async (s) => {
      const [viaA, viaB] = await minersOnBothApps(s)
      const miners = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? viaA! : viaB!)[i]!)
      const leases = await Promise.all(miners.map(async (m) => await m.leaseOk()))
      const program = evolvedProgram(777)
      const responses = await Promise.all(
        miners.map(
          async (m, i) =>
            await m.submitLease(leases[i]!.lease_id, {
              evaluations: [],
              evolutions: [{ parent_algorithm_ids: [leases[i]!.seed_algorithms[0]!.id], algorithm_dsl: program }],
            }),
        ),
      )
      assert.deepEqual(statuses(responses), [200, 200, 200, 200, 200, 200], responses.map((r) => r.body).join(' | '))
      const rows = await s.db
        .selectFrom('algorithms')
        .select(['repeat', 'state', 'reject_reason', 'algorithm_hash'])
        .where('is_seed', '=', 0n)
        .execute()
      assert.equal(rows.length, 6)
      assert.equal(new Set(rows.map((r) => r.algorithm_hash)).size, 1)
      assert.equal(rows.filter((r) => r.repeat === 'none').length, 1, 'exactly one original')
      for (const r of rows.filter((x) => x.repeat !== 'none'))
        assert.deepEqual([r.repeat, r.state, r.reject_reason], ['other', 'rejected', 'duplicate'])
    })
  })

  it('thirty miners leasing at once on two processes never hand an algorithm to more than n evaluators', async () => {
    await withShared({}, async (s) => {
      const [viaA, viaB] = await minersOnBothApps(s)
      const leases = await Promise.all(
        Array.from(
          { length: MINERS },
          async (_, i) => await (i % 2 === 0 ? viaA! : viaB!)[i]!.leaseOk({ eval_batch_size: 64 }),
        ),
      )
      const handed = new Map<number, number>()
      for (const lease of leases)
        for (const a of lease.evaluate_algorithms) handed.set(a.id, (handed.get(a.id) ?? 0) + 1)
      assert.ok(handed.size > 0)
      const over = [...handed].filter(([, count]) => count > s.config.consensusSampleSize)
      assert.deepEqual(over, [], 'algorithm id → evaluators it was handed to')
      const slots = await s.db
        .selectFrom('assignment_items')
        .select(['algorithm_id', (eb) => eb.fn.countAll<bigint>().as('c')])
        .where('role', '=', 'evaluate')
        .groupBy('algorithm_id')
        .execute()
      for (const row of slots)
        assert.ok(Number(row.c) <= s.config.consensusSampleSize, `algorithm ${row.algorithm_id} holds ${row.c} slots`)
    })
  })
})
