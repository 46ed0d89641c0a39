/**
 * Consensus on the n-th evaluation and window points (SPEC §6.1, §6.2): what is decided, in which window,
 * who agrees, and what each miner earns when a window closes (exactly once).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { type TestPool, WINDOW_MS, withTestPool as withPool, seedIds } from '../support/pool.ts'
import { TestMiner, evolvedProgram, reformattedProgram } from '../support/miner.ts'

async function algorithm(t: TestPool, id: number) {
  return await t.pool.database.db
    .selectFrom('algorithms')
    .selectAll()
    .where('id', '=', BigInt(id))
    .executeTakeFirstOrThrow()
}

/** Outcome of each miner's evaluation of the algorithm, by hotkey. */
async function outcomes(t: TestPool, id: number): Promise<Record<string, string | null>> {
  const rows = await t.pool.database.db
    .selectFrom('evaluations')
    .select(['miner_hotkey', 'outcome'])
    .where('algorithm_id', '=', BigInt(id))
    .execute()
  return Object.fromEntries(rows.map((r) => [r.miner_hotkey, r.outcome]))
}

async function windowPoints(t: TestPool, windowNumber: number) {
  const rows = await t.pool.database.db
    .selectFrom('window_points')
    .selectAll()
    .where('window_number', '=', BigInt(windowNumber))
    .execute()
  return new Map(
    rows.map((r) => [
      r.miner_hotkey,
      {
        agreements: Number(r.agreements),
        disagreements: Number(r.disagreements),
        evaluations: Number(r.evaluations),
        evolutions: Number(r.evolutions),
        scored_evolutions: Number(r.scored_evolutions),
        evaluator_points: r.evaluator_points,
        evolver_points: r.evolver_points,
        penalty: r.penalty,
        points: r.points,
      },
    ]),
  )
}

async function reputation(t: TestPool, hotkey: string): Promise<number> {
  return (
    await t.pool.database.db
      .selectFrom('miners')
      .select('reputation')
      .where('hotkey', '=', hotkey)
      .executeTakeFirstOrThrow()
  ).reputation
}

const close = (actual: number, expected: number, message?: string): void => {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} expected ${expected}, got ${actual}`)
}

describe('consensus on the n-th evaluation', () => {
  it('decides an algorithm when its third evaluation arrives, with the median of the agreeing cluster', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 4)
      const [target] = await seedIds(t)
      const scores = [0.5, 0.52, 0.51]
      for (const [i, score] of scores.entries()) {
        if (i > 0) {
          const before = await algorithm(t, target!)
          assert.equal(before.state, 'evaluating', `still evaluating after ${i} evaluation(s)`)
          assert.equal(Number(before.evaluation_count), i)
          assert.equal(before.consensus_score, null)
        }
        t.clock.advance(1_000)
        await miners[i]!.evaluate({ [target!]: score })
      }
      const decided = await algorithm(t, target!)
      assert.equal(decided.state, 'scored')
      assert.equal(decided.consensus_score, 0.51)
      assert.equal(Number(decided.evaluation_count), 3)
      assert.equal(Number(decided.decided_window), 0)
      assert.equal(Number(decided.decided_at), t.clock.now())
      assert.equal(decided.reject_reason, null)
      assert.deepEqual(
        await outcomes(t, target!),
        Object.fromEntries(miners.slice(0, 3).map((m) => [m.hotkey, 'agree'])),
      )
      // A decided algorithm is no longer handed out for evaluation.
      const lease = await miners[3]!.leaseOk({ eval_batch_size: 64 })
      assert.ok(!lease.evaluate_algorithms.some((a) => a.id === target))
    })
  })

  it("two agreeing and one outlier: scored with the pair's median, the outlier disagrees", async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3)
      const [target] = await seedIds(t)
      await miners[0]!.evaluate({ [target!]: 0.9 })
      await miners[1]!.evaluate({ [target!]: 0.5 })
      await miners[2]!.evaluate({ [target!]: 0.52 })
      const decided = await algorithm(t, target!)
      assert.equal(decided.state, 'scored')
      close(decided.consensus_score!, 0.51)
      assert.deepEqual(await outcomes(t, target!), {
        [miners[0]!.hotkey]: 'disagree',
        [miners[1]!.hotkey]: 'agree',
        [miners[2]!.hotkey]: 'agree',
      })
    })
  })

  it('an invalid (null) majority rejects the algorithm; a failed run agrees with it', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3)
      const [target] = await seedIds(t)
      await miners[0]!.evaluate({ [target!]: null })
      await miners[1]!.evaluate({ [target!]: 0.5 })
      // -Infinity on the wire is a failed run, like null.
      const lease = await miners[2]!.leaseOk({ eval_batch_size: 64 })
      await miners[2]!.submitLeaseOk(
        lease.lease_id,
        `{"evaluations": [{"algorithm_id": ${target}, "score": -Infinity}]}`,
      )
      const decided = await algorithm(t, target!)
      assert.equal(decided.state, 'rejected')
      assert.equal(decided.consensus_score, null)
      assert.equal(decided.reject_reason, 'consensus_invalid')
      assert.deepEqual(await outcomes(t, target!), {
        [miners[0]!.hotkey]: 'agree',
        [miners[1]!.hotkey]: 'disagree',
        [miners[2]!.hotkey]: 'agree',
      })
    })
  })

  it('no cluster of k votes: rejected, nobody agrees or disagrees', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3)
      const [target] = await seedIds(t)
      for (const [i, score] of [0.1, 0.5, 0.9].entries()) await miners[i]!.evaluate({ [target!]: score })
      const decided = await algorithm(t, target!)
      assert.equal(decided.state, 'rejected')
      assert.equal(decided.reject_reason, 'no_consensus')
      assert.deepEqual(Object.values(await outcomes(t, target!)), ['none', 'none', 'none'])
      // The window's points record the activity but give nothing.
      t.clock.advance(WINDOW_MS)
      assert.equal(await t.pool.windows.close(0), true)
      const points = await windowPoints(t, 0)
      for (const m of miners)
        assert.deepEqual(
          { ...points.get(m.hotkey), evaluator_points: 0 },
          {
            agreements: 0,
            disagreements: 0,
            evaluations: 1,
            evolutions: 0,
            scored_evolutions: 0,
            evaluator_points: 0,
            evolver_points: 0,
            penalty: 0,
            points: 0,
          },
        )
    })
  })

  it('follows CONSENSUS_SAMPLE_SIZE and CONSENSUS_THRESHOLD (n = 5, k = 3)', async () => {
    await withPool({ CONSENSUS_SAMPLE_SIZE: '5', CONSENSUS_THRESHOLD: '3' }, async (t) => {
      const miners = await TestMiner.many(t.app, 5)
      const [a, b] = await seedIds(t)
      const votesA = [0.3, 0.3, 0.9, 0.9, 0.1] // largest cluster has 2 < k
      const votesB = [0.3, 0.31, 0.32, 0.9, null]
      for (const [i, m] of miners.entries()) {
        if (i === 4) assert.equal((await algorithm(t, a!)).state, 'evaluating')
        await m.evaluate({ [a!]: votesA[i]!, [b!]: votesB[i]! })
      }
      assert.equal((await algorithm(t, a!)).state, 'rejected')
      const scored = await algorithm(t, b!)
      assert.equal(scored.state, 'scored')
      assert.equal(scored.consensus_score, 0.31)
      const byMiner = await outcomes(t, b!)
      assert.deepEqual(
        miners.map((m) => byMiner[m.hotkey]),
        ['agree', 'agree', 'agree', 'disagree', 'disagree'],
      )
    })
  })

  it('decides in the window of the submission that brings the n-th evaluation', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3)
      const [target] = await seedIds(t)
      await miners[0]!.evaluate({ [target!]: 0.5 })
      await miners[1]!.evaluate({ [target!]: 0.5 })
      t.clock.advance(WINDOW_MS)
      const { submit } = await miners[2]!.evaluate({ [target!]: 0.5 })
      assert.equal(submit.window_number, 1)
      assert.equal(Number((await algorithm(t, target!)).decided_window), 1)
      t.clock.advance(WINDOW_MS)
      assert.deepEqual(await t.pool.windows.closeEnded(), [0, 1])
      assert.equal((await windowPoints(t, 0)).size, 0, 'nothing was decided in window 0')
      const points = await windowPoints(t, 1)
      for (const m of miners) assert.equal(points.get(m.hotkey)?.points, 1)
    })
  })
})

describe('closing a window', () => {
  it('stores window points once; reputation is their sum; closing again changes nothing', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 3)
      const [s1, s2] = await seedIds(t)
      await miners[0]!.evaluate({ [s1!]: 0.5, [s2!]: 0.2 })
      await miners[1]!.evaluate({ [s1!]: 0.5, [s2!]: 0.2 })
      await miners[2]!.evaluate({ [s1!]: 0.9, [s2!]: 0.2 })
      await assert.rejects(t.pool.windows.close(0), /window 0 has not ended/)
      assert.equal((await t.pool.database.db.selectFrom('window_closes').selectAll().execute()).length, 0)
      t.clock.advance(WINDOW_MS)
      await assert.rejects(t.pool.windows.close(1), /has not ended/)
      await assert.rejects(t.pool.windows.close(7), /has not ended/)

      assert.equal(await t.pool.windows.close(0), true)
      const points = await windowPoints(t, 0)
      assert.deepEqual(points.get(miners[0]!.hotkey), {
        agreements: 2,
        disagreements: 0,
        evaluations: 2,
        evolutions: 0,
        scored_evolutions: 0,
        evaluator_points: 2,
        evolver_points: 0,
        penalty: 0,
        points: 2,
      })
      assert.deepEqual(points.get(miners[2]!.hotkey), {
        agreements: 1,
        disagreements: 1,
        evaluations: 2,
        evolutions: 0,
        scored_evolutions: 0,
        evaluator_points: 0,
        evolver_points: 0,
        penalty: 0,
        points: 0,
      })
      const reps = await Promise.all(miners.map(async (m) => await reputation(t, m.hotkey)))
      assert.deepEqual(reps, [2, 2, 0])

      assert.equal(await t.pool.windows.close(0), false)
      assert.deepEqual(await t.pool.windows.closeEnded(), [])
      assert.deepEqual(await Promise.all(miners.map(async (m) => await reputation(t, m.hotkey))), reps)
      assert.equal((await t.pool.database.db.selectFrom('window_points').selectAll().execute()).length, 3)
      assert.equal((await t.pool.database.db.selectFrom('window_closes').selectAll().execute()).length, 1)
      assert.equal(await t.pool.windows.lastClosed(), 0)

      // A later window adds to reputation; the leaderboard follows.
      const s3 = (await seedIds(t))[2]!
      await miners[1]!.evaluate({ [s3]: 0.4 })
      await miners[2]!.evaluate({ [s3]: 0.4 })
      const [late] = await TestMiner.many(t.app, 1, 'late')
      await late!.evaluate({ [s3]: 0.4 })
      t.clock.advance(WINDOW_MS)
      assert.deepEqual(await t.pool.windows.closeEnded(), [1])
      assert.deepEqual(await Promise.all(miners.map(async (m) => await reputation(t, m.hotkey))), [2, 3, 1])
      const board = (await t.app.inject({ method: 'GET', url: '/api/v1/miners/leaderboard' })).json()
      assert.deepEqual(
        board.miners.slice(0, 2).map((m: { hotkey: string }) => m.hotkey),
        [miners[1]!.hotkey, miners[0]!.hotkey],
      )
    })
  })

  it('closes every ended window in order, empty ones included', async () => {
    await withPool({}, async (t) => {
      t.clock.advance(3 * WINDOW_MS + 1)
      assert.deepEqual(await t.pool.windows.closeEnded(), [0, 1, 2])
      assert.deepEqual(await t.pool.windows.closeEnded(), [])
      const rows = await t.pool.database.db
        .selectFrom('window_closes')
        .select('window_number')
        .orderBy('window_number')
        .execute()
      assert.deepEqual(
        rows.map((r) => Number(r.window_number)),
        [0, 1, 2],
      )
    })
  })

  it('epoch points in /miners/stats count the closed windows of the current epoch (EPOCH_WINDOWS = 2)', async () => {
    await withPool({ EPOCH_WINDOWS: '2' }, async (t) => {
      const miners = await TestMiner.many(t.app, 3)
      const [s1, s2, s3] = await seedIds(t)
      for (const m of miners) await m.evaluate({ [s1!]: 0.5, [s2!]: 0.7 })
      t.clock.advance(WINDOW_MS)
      assert.deepEqual(await t.pool.windows.closeEnded(), [0])
      const stats = (await miners[0]!.stats()).json()
      assert.equal(stats.reputation, 2)
      assert.equal(stats.epoch_points, 2)
      assert.equal(stats.agreements, 2)
      assert.equal(stats.disagreements, 0)
      assert.equal(stats.evaluations_submitted, 2)
      assert.equal(stats.pool.window_number, 1)
      assert.equal(stats.pool.epoch, 0)
      assert.equal(stats.pool.sota.cifar10_binary, 0.7)

      for (const m of miners) await m.evaluate({ [s3!]: 0.4 })
      // Window 1 has not ended: its point is not counted yet.
      assert.equal((await miners[0]!.stats()).json().epoch_points, 2)
      t.clock.advance(WINDOW_MS)
      assert.deepEqual(await t.pool.windows.closeEnded(), [1])
      const next = (await miners[0]!.stats()).json()
      assert.equal(next.pool.epoch, 1)
      assert.equal(next.reputation, 3)
      assert.equal(next.epoch_points, 0, 'epoch 1 has no closed window yet')
      const sum = await t.pool.database.db
        .selectFrom('window_points')
        .select((eb) => eb.fn.sum<number>('points').as('p'))
        .where('miner_hotkey', '=', miners[0]!.hotkey)
        .where('window_number', 'in', [0n, 1n])
        .executeTakeFirstOrThrow()
      assert.equal(Number(sum.p), 3, 'epoch 0 earned 3 points in total')
    })
  })
})

describe('evolver points', () => {
  /**
   * Window 0: seeds s1 and s2 are scored 0.40 and 0.60 (SOTA 0.60 when window 1 starts).
   * Window 1: the evolver leases (seed set {s2, s1}, s3 in its evaluate set) and evolves C from s1; then
   * s3 is scored 0.65 and C 0.70. Baselines for C: genealogy 0.40, sota 0.60, local_evolver 0.65.
   */
  async function scenario(t: TestPool) {
    const [e0, e1, e2, evolver] = await TestMiner.many(t.app, 4)
    const [s1, s2, s3] = await seedIds(t)
    for (const e of [e0!, e1!, e2!]) await e.evaluate({ [s1!]: 0.4, [s2!]: 0.6 })
    t.clock.advance(WINDOW_MS)
    const lease = await evolver!.leaseOk({ eval_batch_size: 64, seed_batch_size: 2 })
    assert.deepEqual(
      lease.seed_algorithms.map((s) => s.id),
      [s2, s1],
    )
    assert.ok(lease.evaluate_algorithms.some((a) => a.id === s3))
    const submitted = await evolver!.submitLeaseOk(lease.lease_id, {
      evolutions: [{ parent_algorithm_ids: [s1], algorithm_dsl: evolvedProgram(1) }],
    })
    const child = submitted.new_algorithm_ids[0]!
    for (const e of [e0!, e1!, e2!]) await e.evaluate({ [s3!]: 0.65, [child]: 0.7 })
    assert.equal((await algorithm(t, child)).state, 'scored')
    t.clock.advance(WINDOW_MS)
    assert.deepEqual(await t.pool.windows.closeEnded(), [0, 1])
    return { evaluators: [e0!, e1!, e2!], evolver: evolver!, child }
  }

  for (const [baseline, expected] of [
    ['genealogy', 30],
    ['sota', 10],
    ['local_evolver', 5],
  ] as const) {
    it(`EVOLVER_BASELINE=${baseline}: improvement over the ${baseline} baseline × 100`, async () => {
      await withPool({ EVOLVER_BASELINE: baseline }, async (t) => {
        const { evaluators, evolver } = await scenario(t)
        const points = await windowPoints(t, 1)
        const row = points.get(evolver.hotkey)!
        assert.equal(row.evolutions, 1)
        assert.equal(row.scored_evolutions, 1)
        assert.equal(row.evaluations, 0)
        close(row.evolver_points, expected, 'evolver points')
        close(row.points, expected, 'points')
        close(await reputation(t, evolver.hotkey), expected, 'reputation')
        for (const e of evaluators) {
          assert.equal(points.get(e.hotkey)?.points, 2)
          assert.equal(await reputation(t, e.hotkey), 4)
        }
      })
    })
  }

  it('scales improvement with EVOLVER_WEIGHT and evaluator points with EVALUATOR_WEIGHT', async () => {
    await withPool({ EVOLVER_WEIGHT: '10', EVALUATOR_WEIGHT: '0.5' }, async (t) => {
      const { evaluators, evolver } = await scenario(t)
      close((await windowPoints(t, 1)).get(evolver.hotkey)!.points, 3)
      for (const e of evaluators) assert.equal(await reputation(t, e.hotkey), 2)
    })
  })

  it('an evolution scored below its baseline earns nothing', async () => {
    await withPool({}, async (t) => {
      const [e0, e1, e2, evolver] = await TestMiner.many(t.app, 4)
      const [s1] = await seedIds(t)
      const { submit } = await evolver!.evaluate(
        {},
        { evolutions: [{ parent_algorithm_ids: [s1], algorithm_dsl: evolvedProgram(3) }] },
      )
      const child = submit.new_algorithm_ids[0]!
      for (const e of [e0!, e1!, e2!]) await e.evaluate({ [s1!]: 0.6, [child]: 0.3 })
      t.clock.advance(WINDOW_MS)
      await t.pool.windows.close(0)
      const row = (await windowPoints(t, 0)).get(evolver!.hotkey)!
      assert.deepEqual([row.evolutions, row.scored_evolutions, row.evolver_points, row.points], [1, 1, 0, 0])
    })
  })
})

describe('repetition penalty', () => {
  /** A evolves X, then repeats it (own); B submits it too (other). A, B and E agree on s1. */
  async function scenario(t: TestPool) {
    const [a, b, e] = await TestMiner.many(t.app, 3)
    const [s1] = await seedIds(t)
    const x = await a!.evaluate(
      { [s1!]: 0.5 },
      { evolutions: [{ parent_algorithm_ids: [s1], algorithm_dsl: evolvedProgram(42) }] },
    )
    const again = await a!.evaluate(
      {},
      { evolutions: [{ parent_algorithm_ids: [s1], algorithm_dsl: reformattedProgram(42) }] },
    )
    const copy = await b!.evaluate(
      { [s1!]: 0.5 },
      { evolutions: [{ parent_algorithm_ids: [s1], algorithm_dsl: evolvedProgram(42) }] },
    )
    await e!.evaluate({ [s1!]: 0.5 })
    const repeats = await t.pool.database.db
      .selectFrom('algorithms')
      .select(['id', 'repeat', 'state'])
      .where(
        'id',
        'in',
        [x, again, copy].map((r) => BigInt(r.submit.new_algorithm_ids[0]!)),
      )
      .orderBy('id')
      .execute()
    assert.deepEqual(
      repeats.map((r) => [r.repeat, r.state]),
      [
        ['none', 'evaluating'],
        ['own', 'rejected'],
        ['other', 'rejected'],
      ],
    )
    t.clock.advance(WINDOW_MS)
    assert.equal(await t.pool.windows.close(0), true)
    return { a: a!, b: b!, e: e!, points: await windowPoints(t, 0) }
  }

  const expectations = {
    miner: { a: [1, 0], b: [0, 1] },
    global: { a: [1, 0], b: [1, 0] },
    both: { a: [1, 0], b: [1, 0] },
    off: { a: [0, 1], b: [0, 1] },
  } as const

  for (const [scope, expected] of Object.entries(expectations)) {
    it(`REPETITION_SCOPE=${scope}: [penalty, points] A (own repeat) ${JSON.stringify(expected.a)}, B (other) ${JSON.stringify(expected.b)}`, async () => {
      await withPool({ REPETITION_SCOPE: scope }, async (t) => {
        const { a, b, e, points } = await scenario(t)
        const rowA = points.get(a.hotkey)!
        const rowB = points.get(b.hotkey)!
        assert.deepEqual([rowA.penalty, rowA.points], expected.a)
        assert.deepEqual([rowB.penalty, rowB.points], expected.b)
        assert.equal(rowA.evolutions, 1, 'the rejected repeat is decided (and counted) in its window')
        assert.equal(rowB.evolutions, 1)
        assert.equal(rowA.evolver_points, 0)
        assert.equal(points.get(e.hotkey)?.points, 1)
        assert.equal(await reputation(t, a.hotkey), expected.a[1])
        assert.equal(await reputation(t, b.hotkey), expected.b[1])
      })
    })
  }

  it('REPETITION_PENALTY sets the cost', async () => {
    await withPool({ REPETITION_PENALTY: '0.25' }, async (t) => {
      const { a, b } = await scenario(t)
      const points = await windowPoints(t, 0)
      assert.deepEqual([points.get(a.hotkey)!.penalty, points.get(a.hotkey)!.points], [0.25, 0.75])
      assert.deepEqual([points.get(b.hotkey)!.penalty, points.get(b.hotkey)!.points], [0.25, 0.75])
    })
  })
})

describe('gates', () => {
  it('a miner out of consensus earns nothing, even with an improving evolution', async () => {
    await withPool({}, async (t) => {
      const [e0, e1, e2, liar] = await TestMiner.many(t.app, 4)
      const [s1, s2] = await seedIds(t)
      const { submit } = await liar!.evaluate(
        { [s1!]: 0.9, [s2!]: 0.9 },
        { evolutions: [{ parent_algorithm_ids: [s1], algorithm_dsl: evolvedProgram(9) }] },
      )
      const child = submit.new_algorithm_ids[0]!
      await e0!.evaluate({ [s1!]: 0.5, [s2!]: 0.5, [child]: 0.8 })
      await e1!.evaluate({ [s1!]: 0.5, [s2!]: 0.5, [child]: 0.8 })
      await e2!.evaluate({ [child]: 0.8 })
      assert.equal((await algorithm(t, child)).consensus_score, 0.8)
      t.clock.advance(WINDOW_MS)
      await t.pool.windows.close(0)
      const points = await windowPoints(t, 0)
      const row = points.get(liar!.hotkey)!
      assert.deepEqual([row.agreements, row.disagreements, row.evolutions, row.scored_evolutions], [0, 2, 1, 1])
      close(row.evolver_points, 30, 'improvement over its parent is computed')
      assert.equal(row.points, 0)
      assert.equal(await reputation(t, liar!.hotkey), 0)
      assert.deepEqual(
        [e0!, e1!, e2!].map((e) => points.get(e.hotkey)!.points),
        [3, 3, 1],
      )
    })
  })

  it('a miner below MIN_REWARD_ACTIVITY earns nothing', async () => {
    await withPool({ MIN_REWARD_ACTIVITY: '2' }, async (t) => {
      const miners = await TestMiner.many(t.app, 5)
      const [s1, s2] = await seedIds(t)
      await miners[0]!.evaluate({ [s1!]: 0.5, [s2!]: 0.5 })
      await miners[1]!.evaluate({ [s1!]: 0.5 })
      await miners[2]!.evaluate({ [s1!]: 0.5 })
      await miners[3]!.evaluate({ [s2!]: 0.5 })
      await miners[4]!.evaluate({ [s2!]: 0.5 })
      t.clock.advance(WINDOW_MS)
      await t.pool.windows.close(0)
      const points = await windowPoints(t, 0)
      assert.deepEqual(
        miners.map((m) => [points.get(m.hotkey)!.agreements, points.get(m.hotkey)!.points]),
        [
          [2, 2],
          [1, 0],
          [1, 0],
          [1, 0],
          [1, 0],
        ],
      )
    })
  })
})
