/**
 * The older batch style (SPEC §5.6): /tasks/request, submit_evolution, submit_evaluation and
 * pending_evaluations, with the same ownership, expiry and single-use rules as leases.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { validateAlgorithm } from '../../src/domain/dsl/index.ts'
import { VECTOR_TIME_MS, type TestPool, withTestPool as withPool, seedIds } from '../support/pool.ts'
import { TestMiner, evolvedProgram } from '../support/miner.ts'

const TASK = 'cifar10_binary'
const NOT_FOUND = 'Active lease assignment not found'
const BATCH_KEYS = ['algorithms', 'batch_id', 'task_type', 'timeout_at', 'window_number']

const ids = (records: Array<{ id: number }>): number[] => records.map((r) => r.id)

async function assignment(t: TestPool, id: string) {
  return await t.pool.database.db.selectFrom('assignments').selectAll().where('id', '=', id).executeTakeFirst()
}

async function evaluationCount(t: TestPool): Promise<number> {
  const row = await t.pool.database.db
    .selectFrom('evaluations')
    .select((eb) => eb.fn.countAll<bigint>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

describe('POST /api/v1/tasks/request', () => {
  it('without a preference hands out an evaluate batch of up to 5 waiting candidates', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const response = await miner!.requestBatch()
      assert.equal(response.statusCode, 200, response.body)
      const body = response.json()
      assert.deepEqual(Object.keys(body).sort(), BATCH_KEYS)
      assert.equal(body.task_type, 'evaluate')
      assert.deepEqual(ids(body.algorithms), (await seedIds(t)).slice(0, 5))
      for (const a of body.algorithms) {
        assert.equal(validateAlgorithm(a.algorithm_dsl, { inputDim: 16 }).canonical, a.algorithm_dsl)
        assert.equal(a.input_dim, 16)
        assert.equal(a.task_type, TASK)
      }
      assert.equal(body.timeout_at, '2023-11-14T22:28:20Z')
      assert.equal(body.window_number, 0)
      const row = await assignment(t, body.batch_id)
      assert.equal(row?.kind, 'evaluate')
      assert.equal(row?.status, 'active')
      assert.equal(row?.miner_hotkey, miner!.hotkey)
    })
  })

  it('an empty body (no content at all) means no preference', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const response = await miner!.send('POST', '/api/v1/tasks/request')
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().task_type, 'evaluate')
    })
  })

  it('hands out an evolve batch of 2 seeds on request', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const body = (await miner!.requestBatch({ task_type: 'evolve' })).json()
      assert.deepEqual(Object.keys(body).sort(), BATCH_KEYS)
      assert.equal(body.task_type, 'evolve')
      assert.deepEqual(ids(body.algorithms), (await seedIds(t)).slice(0, 2))
      assert.equal((await assignment(t, body.batch_id))?.kind, 'evolve')
    })
  })

  it('hands out an evaluate batch on explicit request', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const body = (await miner!.requestBatch({ task_type: 'evaluate' })).json()
      assert.equal(body.task_type, 'evaluate')
      assert.equal(body.algorithms.length, 5)
    })
  })

  it('refuses any other kind of work with 422', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      for (const kind of ['cifar10_binary', 'EVOLVE', 3, null]) {
        const response = await miner!.requestBatch({ task_type: kind })
        assert.equal(response.statusCode, 422, `${JSON.stringify(kind)}: ${response.body}`)
        assert.deepEqual(response.json().detail[0].loc, ['body', 'task_type'])
      }
      assert.equal((await t.pool.database.db.selectFrom('assignments').select('id').execute()).length, 0)
    })
  })

  it('without a preference hands out evolve work when no candidate is waiting; explicit evaluate then gets 404', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 5)
      // Three open leases hold every seed (n = 3).
      for (const m of miners.slice(0, 3)) await m.leaseOk({ eval_batch_size: 64 })
      const evaluate = await miners[3]!.requestBatch({ task_type: 'evaluate' })
      assert.equal(evaluate.statusCode, 404)
      assert.equal(evaluate.json().code, 'POOL_ERR_NO_WORK')
      const fallback = await miners[4]!.requestBatch()
      assert.equal(fallback.statusCode, 200)
      assert.equal(fallback.json().task_type, 'evolve')
      assert.equal(fallback.json().algorithms.length, 2)
      // The refused request left the miner free.
      assert.equal((await miners[3]!.requestBatch({ task_type: 'evolve' })).statusCode, 200)
    })
  })

  it('refuses a second batch while one is active, and frees the miner once it expires', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const first = (await miner!.requestBatch()).json()
      for (const again of [await miner!.requestBatch({ task_type: 'evolve' }), await miner!.lease()]) {
        assert.equal(again.statusCode, 400)
        assert.equal(again.json().detail, 'Miner already has active task')
      }
      t.clock.advance(900_000)
      const second = (await miner!.requestBatch()).json()
      assert.notEqual(second.batch_id, first.batch_id)
      assert.equal((await assignment(t, first.batch_id))?.status, 'expired')
      const late = await miner!.submitEvaluation(first.batch_id, {
        evaluations: [{ algorithm_id: first.algorithms[0].id, score: 0.5 }],
      })
      assert.equal(late.statusCode, 404)
      assert.equal(late.json().detail, NOT_FOUND)
    })
  })
})

describe('POST /api/v1/tasks/{batch_id}/submit_evolution', () => {
  for (const [style, toParents] of [
    ['[{id}]', (p: number[]) => p.map((id) => ({ id, name: 'ignored' }))],
    ['[n]', (p: number[]) => p],
  ] as const) {
    it(`stores the evolved function with parent_functions as ${style}`, async () => {
      await withPool({}, async (t) => {
        const [miner] = await TestMiner.many(t.app, 1)
        const batch = (await miner!.requestBatch({ task_type: 'evolve' })).json()
        const parents: number[] = ids(batch.algorithms)
        const dsl = evolvedProgram(7)
        const response = await miner!.submitEvolution(batch.batch_id, {
          evolved_function: dsl,
          parent_functions: toParents(parents),
          public_address: miner!.hotkey,
        })
        assert.equal(response.statusCode, 200, response.body)
        const body = response.json()
        assert.deepEqual(Object.keys(body).sort(), [
          'algorithm_id',
          'batch_id',
          'new_algorithm_ids',
          'status',
          'window_number',
        ])
        assert.equal(body.status, 'accepted')
        assert.equal(body.batch_id, batch.batch_id)
        assert.deepEqual(body.new_algorithm_ids, [body.algorithm_id])
        assert.equal(body.window_number, 0)
        const db = t.pool.database.db
        const row = await db
          .selectFrom('algorithms')
          .selectAll()
          .where('id', '=', BigInt(body.algorithm_id))
          .executeTakeFirstOrThrow()
        assert.equal(row.state, 'evaluating')
        assert.equal(row.miner_hotkey, miner!.hotkey)
        assert.equal(row.algorithm_hash, validateAlgorithm(dsl).hash)
        assert.equal(row.source_assignment_id, batch.batch_id)
        const stored = await db
          .selectFrom('algorithm_parents')
          .select('parent_id')
          .where('algorithm_id', '=', BigInt(body.algorithm_id))
          .orderBy('parent_id')
          .execute()
        assert.deepEqual(
          stored.map((p) => Number(p.parent_id)),
          parents,
        )
        assert.equal((await assignment(t, batch.batch_id))?.status, 'submitted')
        const again = await miner!.submitEvolution(batch.batch_id, {
          evolved_function: evolvedProgram(8),
          parent_functions: toParents(parents),
        })
        assert.equal(again.statusCode, 404)
        assert.equal(again.json().detail, NOT_FOUND)
      })
    })
  }

  it('refuses a parent outside the batch, no parents, and an invalid function with 422; nothing is stored', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const batch = (await miner!.requestBatch({ task_type: 'evolve' })).json()
      const outside = (await seedIds(t)).find((id) => !ids(batch.algorithms).includes(id))!
      const foreign = await miner!.submitEvolution(batch.batch_id, {
        evolved_function: evolvedProgram(1),
        parent_functions: [outside],
      })
      assert.equal(foreign.statusCode, 422)
      assert.deepEqual(foreign.json().detail[0].loc, ['body', 'parent_functions'])
      const none = await miner!.submitEvolution(batch.batch_id, {
        evolved_function: evolvedProgram(1),
        parent_functions: [],
      })
      assert.equal(none.statusCode, 422)
      assert.deepEqual(none.json().detail[0].loc, ['body', 'parent_functions'])
      const invalid = await miner!.submitEvolution(batch.batch_id, {
        evolved_function: '# predict:\ns0 = s1 +\n',
        parent_functions: ids(batch.algorithms),
      })
      assert.equal(invalid.statusCode, 422)
      assert.equal(invalid.json().code, 'POOL_ERR_INVALID_DSL')
      assert.deepEqual(invalid.json().detail[0].loc, ['body', 'evolved_function'])
      assert.match(invalid.json().detail[0].msg, /line 2: /)
      const missing = await miner!.submitEvolution(batch.batch_id, { parent_functions: ids(batch.algorithms) })
      assert.equal(missing.statusCode, 422)
      assert.deepEqual(missing.json().detail[0].loc, ['body', 'evolved_function'])
      const authored = await t.pool.database.db
        .selectFrom('algorithms')
        .select('id')
        .where('miner_hotkey', '=', miner!.hotkey)
        .execute()
      assert.deepEqual(authored, [])
      assert.equal((await assignment(t, batch.batch_id))?.status, 'active')
    })
  })

  it('refuses an evolution sent to an evaluate batch or a lease (404)', async () => {
    await withPool({}, async (t) => {
      const [miner, other] = await TestMiner.many(t.app, 2)
      const batch = (await miner!.requestBatch({ task_type: 'evaluate' })).json()
      const wrong = await miner!.submitEvolution(batch.batch_id, {
        evolved_function: evolvedProgram(1),
        parent_functions: ids(batch.algorithms),
      })
      assert.equal(wrong.statusCode, 404)
      assert.equal(wrong.json().detail, NOT_FOUND)
      const lease = await other!.leaseOk()
      const onLease = await other!.submitEvolution(lease.lease_id, {
        evolved_function: evolvedProgram(1),
        parent_functions: [lease.seed_algorithms[0]!.id],
      })
      assert.equal(onLease.statusCode, 404)
      assert.equal((await assignment(t, batch.batch_id))?.status, 'active')
      assert.equal((await assignment(t, lease.lease_id))?.status, 'active')
    })
  })
})

describe('POST /api/v1/tasks/{batch_id}/submit_evaluation', () => {
  it('stores the evaluations once and answers with the count', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const batch = (await miner!.requestBatch({ task_type: 'evaluate' })).json()
      const evaluations = batch.algorithms.map((a: { id: number }, i: number) => ({
        algorithm_id: a.id,
        score: i === 0 ? null : i / 10,
      }))
      const response = await miner!.submitEvaluation(batch.batch_id, {
        evaluations,
        evaluation_metrics: { accuracy: [0.5, 0.6], notes: 'x' },
      })
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(response.json(), {
        status: 'accepted',
        batch_id: batch.batch_id,
        evaluations_accepted: 5,
        window_number: 0,
      })
      const rows = await t.pool.database.db
        .selectFrom('evaluations')
        .select(['algorithm_id', 'score', 'assignment_id', 'miner_hotkey'])
        .orderBy('algorithm_id')
        .execute()
      assert.deepEqual(
        rows.map((r) => [Number(r.algorithm_id), r.score, r.assignment_id, r.miner_hotkey]),
        evaluations.map((e: { algorithm_id: number; score: number | null }) => [
          e.algorithm_id,
          e.score,
          batch.batch_id,
          miner!.hotkey,
        ]),
      )
      const again = await miner!.submitEvaluation(batch.batch_id, { evaluations })
      assert.equal(again.statusCode, 404)
      assert.equal(again.json().detail, NOT_FOUND)
      assert.equal(await evaluationCount(t), 5)
    })
  })

  it('reads -Infinity and NaN scores as null here too', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const batch = (await miner!.requestBatch({ task_type: 'evaluate' })).json()
      const [a, b] = ids(batch.algorithms)
      const response = await miner!.submitEvaluation(
        batch.batch_id,
        `{"evaluations":[{"algorithm_id":${a},"score":-Infinity},{"algorithm_id":${b},"score":NaN}]}`,
      )
      assert.equal(response.statusCode, 200, response.body)
      const rows = await t.pool.database.db.selectFrom('evaluations').select('score').execute()
      assert.deepEqual(
        rows.map((r) => r.score),
        [null, null],
      )
    })
  })

  it('refuses evaluations of algorithms outside the batch (422, nothing stored) and a missing list (422)', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const batch = (await miner!.requestBatch({ task_type: 'evaluate' })).json()
      const outside = (await seedIds(t)).find((id) => !ids(batch.algorithms).includes(id))!
      const response = await miner!.submitEvaluation(batch.batch_id, {
        evaluations: [
          { algorithm_id: batch.algorithms[0].id, score: 0.5 },
          { algorithm_id: outside, score: 0.5 },
        ],
      })
      assert.equal(response.statusCode, 422)
      assert.deepEqual(response.json().detail[0].loc, ['body', 'evaluations', 1, 'algorithm_id'])
      assert.equal(await evaluationCount(t), 0)
      const missing = await miner!.submitEvaluation(batch.batch_id, {})
      assert.equal(missing.statusCode, 422)
      assert.deepEqual(missing.json().detail[0].loc, ['body', 'evaluations'])
      assert.equal((await assignment(t, batch.batch_id))?.status, 'active')
    })
  })

  it("refuses an evaluation sent to an evolve batch, or another miner's batch (404)", async () => {
    await withPool({}, async (t) => {
      const [miner, other] = await TestMiner.many(t.app, 2)
      const evolve = (await miner!.requestBatch({ task_type: 'evolve' })).json()
      const wrong = await miner!.submitEvaluation(evolve.batch_id, {
        evaluations: [{ algorithm_id: evolve.algorithms[0].id, score: 0.5 }],
      })
      assert.equal(wrong.statusCode, 404)
      assert.equal(wrong.json().detail, NOT_FOUND)
      const onLease = await miner!.submitLease(evolve.batch_id, { evaluations: [] })
      assert.equal(onLease.statusCode, 404)
      const evaluate = (await other!.requestBatch({ task_type: 'evaluate' })).json()
      const stolen = await miner!.submitEvaluation(evaluate.batch_id, {
        evaluations: [{ algorithm_id: evaluate.algorithms[0].id, score: 0.5 }],
      })
      assert.equal(stolen.statusCode, 404)
      assert.equal(await evaluationCount(t), 0)
      assert.equal((await assignment(t, evolve.batch_id))?.status, 'active')
      assert.equal((await assignment(t, evaluate.batch_id))?.status, 'active')
    })
  })
})

describe('GET /api/v1/tasks/pending_evaluations', () => {
  it('tells a new miner on a fresh pool that evaluations are waiting, and shows its active assignment', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const seeds = await seedIds(t)
      const fresh = await miner!.pending()
      assert.equal(fresh.statusCode, 200)
      assert.deepEqual(fresh.json(), {
        has_pending_evaluations: true,
        pending_count: seeds.length,
        active_assignment: null,
      })

      const lease = await miner!.leaseOk({ eval_batch_size: 64 })
      const leased = (await miner!.pending()).json()
      assert.deepEqual(leased.active_assignment, { id: lease.lease_id, kind: 'lease', timeout_at: lease.timeout_at })
      assert.equal(leased.has_pending_evaluations, true)

      await miner!.submitLeaseOk(lease.lease_id, {
        evaluations: seeds.slice(0, 4).map((id) => ({ algorithm_id: id, score: 0.5 })),
      })
      assert.deepEqual((await miner!.pending()).json(), {
        has_pending_evaluations: true,
        pending_count: seeds.length - 4,
        active_assignment: null,
      })

      const batch = (await miner!.requestBatch()).json()
      assert.deepEqual((await miner!.pending()).json().active_assignment, {
        id: batch.batch_id,
        kind: 'evaluate',
        timeout_at: batch.timeout_at,
      })
      await miner!.submitEvaluation(batch.batch_id, {
        evaluations: batch.algorithms.map((a: { id: number }) => ({ algorithm_id: a.id, score: 0.5 })),
      })
      assert.deepEqual((await miner!.pending()).json(), {
        has_pending_evaluations: false,
        pending_count: 0,
        active_assignment: null,
      })
    })
  })

  it('does not show an expired assignment', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      await miner!.requestBatch({ task_type: 'evolve' })
      t.clock.advance(900_000)
      assert.equal((await miner!.pending()).json().active_assignment, null)
      assert.equal(t.clock.now(), VECTOR_TIME_MS + 900_000)
    })
  })

  it('requires a signature (401)', async () => {
    await withPool({}, async (t) => {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/tasks/pending_evaluations' })
      assert.equal(response.statusCode, 401)
    })
  })
})
