/**
 * Leases (SPEC §5.3–5.5): the lease a miner receives, how its work is chosen, the one-active-assignment
 * rule, expiry, enforced-window mode, and everything a lease submission accepts or refuses.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { validateAlgorithm } from '../../src/domain/dsl/index.ts'
import { testDialect } from '../support/database.ts'
import { VECTOR_TIME_MS, type TestPool, WINDOW_MS, withTestPool as withPool, seedIds } from '../support/pool.ts'
import { TestMiner, evolvedProgram, reformattedProgram, type LeaseBody } from '../support/miner.ts'

const TASK = 'cifar10_binary'
const ACTIVE = 'Miner already has active task'
const NOT_FOUND = 'Active lease assignment not found'

const ids = (records: Array<{ id: number }>): number[] => records.map((r) => r.id)

/** A scored algorithm written straight into the store (for seed-set and gossip ordering). */
async function insertScored(t: TestPool, k: number, score: number, decidedAtMs = t.clock.now()): Promise<number> {
  const program = validateAlgorithm(evolvedProgram(1000 + k))
  const row = await t.pool.database.db
    .insertInto('algorithms')
    .values({
      task_type: TASK,
      algorithm_dsl: program.canonical,
      algorithm_hash: program.hash,
      input_dim: 16n,
      state: 'scored',
      consensus_score: score,
      miner_hotkey: null,
      is_seed: 0n,
      repeat: 'none',
      reject_reason: null,
      source_assignment_id: null,
      created_at: BigInt(t.clock.now()),
      created_window: 0n,
      decided_at: BigInt(decidedAtMs),
      decided_window: 0n,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return Number(row.id)
}

async function evaluationRows(t: TestPool, miner?: string) {
  let q = t.pool.database.db
    .selectFrom('evaluations')
    .select(['algorithm_id', 'miner_hotkey', 'score', 'assignment_id', 'outcome'])
  if (miner !== undefined) q = q.where('miner_hotkey', '=', miner)
  return (await q.orderBy('id').execute()).map((r) => ({ ...r, algorithm_id: Number(r.algorithm_id) }))
}

async function assignmentStatus(t: TestPool, id: string): Promise<string | undefined> {
  return (await t.pool.database.db.selectFrom('assignments').select('status').where('id', '=', id).executeTakeFirst())
    ?.status
}

function assertRecord(record: Record<string, unknown>): void {
  assert.equal(typeof record.id, 'number')
  assert.ok(Number.isInteger(record.id))
  assert.equal(typeof record.algorithm_dsl, 'string')
  // Handed out as the miners' serializer writes it, for the task's input dimension (16 for cifar10_binary).
  assert.equal(record.input_dim, 16)
  assert.equal(validateAlgorithm(record.algorithm_dsl as string, { inputDim: 16 }).canonical, record.algorithm_dsl)
  assert.equal(record.task_type, TASK)
  for (const key of ['status', 'score', 'parent_ids', 'miner_hotkey', 'algorithm_hash'])
    assert.ok(key in record, `record has ${key}`)
}

function validationLocs(body: { detail: Array<{ loc: unknown[] }> }): unknown[][] {
  assert.ok(Array.isArray(body.detail), `detail is a list: ${JSON.stringify(body)}`)
  return body.detail.map((d) => d.loc)
}

describe('POST /api/v1/tasks/lease: the lease', () => {
  it('answers with the client shape: ids, window, timeout, budget, record lists and gossip', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const response = await miner!.lease()
      assert.equal(response.statusCode, 200, response.body)
      const body = response.json()
      assert.deepEqual(Object.keys(body).sort(), [
        'evaluate_algorithms',
        'evolve_budget',
        'gossip',
        'lease_id',
        'seed_algorithms',
        'task_type',
        'timeout_at',
        'window_number',
      ])
      assert.equal(typeof body.lease_id, 'string')
      assert.ok(body.lease_id.length > 0)
      assert.equal(body.window_number, 0)
      assert.equal(body.timeout_at, new Date(VECTOR_TIME_MS + 900_000).toISOString().replace('.000Z', 'Z'))
      assert.equal(body.timeout_at, '2023-11-14T22:28:20Z')
      assert.equal(body.evolve_budget, 1)
      assert.equal(body.task_type, TASK)
      const seeds = await seedIds(t)
      assert.ok(seeds.length >= 2, 'the pool ships built-in seeds')
      // A fresh pool: every built-in seed is waiting for evaluations and fills the seed set as well.
      assert.deepEqual(ids(body.evaluate_algorithms), seeds.slice(0, 8))
      assert.deepEqual(ids(body.seed_algorithms), seeds.slice(0, 8))
      for (const record of [...body.evaluate_algorithms, ...body.seed_algorithms]) {
        assertRecord(record)
        assert.equal(record.status, 'evaluating')
        assert.equal(record.score, null)
        assert.equal(record.miner_hotkey, null)
        assert.deepEqual(record.parent_ids, [])
      }
      assert.deepEqual(body.gossip, { task_type: TASK, algorithm_ids: [] })

      const row = await t.pool.database.db
        .selectFrom('assignments')
        .selectAll()
        .where('id', '=', body.lease_id)
        .executeTakeFirstOrThrow()
      assert.equal(row.miner_hotkey, miner!.hotkey)
      assert.equal(row.kind, 'lease')
      assert.equal(row.status, 'active')
      assert.equal(Number(row.timeout_at), VECTOR_TIME_MS + 900_000)
      const items = await t.pool.database.db
        .selectFrom('assignment_items')
        .select(['role', 'algorithm_id'])
        .where('assignment_id', '=', body.lease_id)
        .execute()
      assert.equal(items.filter((i) => i.role === 'evaluate').length, body.evaluate_algorithms.length)
      assert.equal(items.filter((i) => i.role === 'seed').length, body.seed_algorithms.length)
    })
  })

  it('takes its timeout from LEASE_TTL_S and its evolve budget from LEASE_EVOLVE_BUDGET', async () => {
    await withPool({ LEASE_TTL_S: '60', LEASE_EVOLVE_BUDGET: '3' }, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const body = await miner!.leaseOk()
      assert.equal(body.timeout_at, '2023-11-14T22:14:20Z')
      assert.equal(body.evolve_budget, 3)
    })
  })

  it('bounds eval_batch_size and seed_batch_size to 2..64 (422 naming the field)', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      for (const field of ['eval_batch_size', 'seed_batch_size']) {
        for (const value of [1, 65, 0, -3, 2.5, '8']) {
          const response = await miner!.lease({ [field]: value })
          assert.equal(response.statusCode, 422, `${field}=${JSON.stringify(value)}: ${response.body}`)
          assert.deepEqual(validationLocs(response.json()), [['body', field]])
        }
      }
      // Refusals leave no assignment behind.
      const count = await t.pool.database.db
        .selectFrom('assignments')
        .select((eb) => eb.fn.countAll<bigint>().as('n'))
        .executeTakeFirstOrThrow()
      assert.equal(Number(count.n), 0)
      const body = await miner!.leaseOk({ eval_batch_size: 2, seed_batch_size: 2 })
      assert.equal(body.evaluate_algorithms.length, 2)
      assert.equal(body.seed_algorithms.length, 2)
    })
  })

  it('accepts the largest batch sizes (64)', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const body = await miner!.leaseOk({ eval_batch_size: 64, seed_batch_size: 64 })
      const seeds = await seedIds(t)
      assert.deepEqual(ids(body.evaluate_algorithms), seeds)
      assert.deepEqual(ids(body.seed_algorithms), seeds)
    })
  })

  it('clamps gossip_limit to 0..50 and gossips the best recently scored ids', async () => {
    await withPool({}, async (t) => {
      const scored: Array<{ id: number; score: number }> = []
      for (let k = 0; k < 60; k++) {
        const score = ((k * 37) % 60) / 100
        scored.push({ id: await insertScored(t, k, score), score })
      }
      const best = [...scored].sort((a, b) => b.score - a.score || a.id - b.id).map((s) => s.id)
      const miners = await TestMiner.many(t.app, 4)
      const negative = await miners[0]!.leaseOk({ gossip_limit: -5 })
      assert.deepEqual(negative.gossip, { task_type: TASK, algorithm_ids: [] })
      const huge = await miners[1]!.leaseOk({ gossip_limit: 500 })
      assert.equal(huge.gossip.algorithm_ids.length, 50)
      assert.deepEqual(huge.gossip.algorithm_ids, best.slice(0, 50))
      const three = await miners[2]!.leaseOk({ gossip_limit: 3 })
      assert.deepEqual(three.gossip.algorithm_ids, best.slice(0, 3))
      const none = await miners[3]!.leaseOk()
      assert.deepEqual(none.gossip.algorithm_ids, [])
      const items = await t.pool.database.db
        .selectFrom('assignment_items')
        .select('algorithm_id')
        .where('assignment_id', '=', three.lease_id)
        .where('role', '=', 'gossip')
        .orderBy('algorithm_id')
        .execute()
      assert.deepEqual(
        items.map((i) => Number(i.algorithm_id)),
        [...best.slice(0, 3)].sort((a, b) => a - b),
      )
    })
  })

  it('refuses an unknown task_type with 422', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const response = await miner!.lease({ task_type: 'imagenet_full' })
      assert.equal(response.statusCode, 422)
      assert.deepEqual(validationLocs(response.json()), [['body', 'task_type']])
      assert.match(response.json().detail[0].msg, /imagenet_full/)
      assert.equal(response.json().code, 'POOL_ERR_VALIDATION')
    })
  })

  it('refuses a second lease, and a batch, while one is active: 400 "Miner already has active task"', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const first = await miner!.leaseOk()
      const again = await miner!.lease()
      assert.equal(again.statusCode, 400)
      assert.equal(again.json().detail, ACTIVE)
      assert.equal(again.json().code, 'POOL_ERR_ACTIVE_ASSIGNMENT')
      const batch = await miner!.requestBatch({})
      assert.equal(batch.statusCode, 400)
      assert.equal(batch.json().detail, ACTIVE)
      const active = await t.pool.database.db
        .selectFrom('assignments')
        .select('id')
        .where('miner_hotkey', '=', miner!.hotkey)
        .execute()
      assert.deepEqual(
        active.map((a) => a.id),
        [first.lease_id],
      )
      // Once submitted, the miner may lease again.
      await miner!.submitLeaseOk(first.lease_id, { evaluations: [], evolutions: [] })
      await miner!.leaseOk()
    })
  })

  it('frees the miner after LEASE_TTL_S; the expired lease can no longer be submitted', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const first = await miner!.leaseOk()
      t.clock.advance(899_000)
      assert.equal((await miner!.lease()).statusCode, 400, 'still active one second before its timeout')
      t.clock.advance(1_000)
      const second = await miner!.leaseOk()
      assert.notEqual(second.lease_id, first.lease_id)
      assert.equal(await assignmentStatus(t, first.lease_id), 'expired')
      const late = await miner!.submitLease(first.lease_id, {
        evaluations: [{ algorithm_id: first.evaluate_algorithms[0]!.id, score: 0.5 }],
      })
      assert.equal(late.statusCode, 404)
      assert.equal(late.json().detail, NOT_FOUND)
      assert.deepEqual(await evaluationRows(t), [])
    })
  })

  it('an expired lease cannot be submitted even before the miner asks for new work', async () => {
    await withPool({ LEASE_TTL_S: '60' }, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const lease = await miner!.leaseOk()
      t.clock.advance(60_000)
      const late = await miner!.submitLease(lease.lease_id, {
        evaluations: [{ algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 }],
      })
      assert.equal(late.statusCode, 404)
      assert.equal(late.json().detail, NOT_FOUND)
      assert.deepEqual(await evaluationRows(t), [])
    })
  })

  it('in enforced-window mode issues one lease per miner per window', async () => {
    await withPool({ LEASE_ENFORCE_WINDOW: 'true' }, async (t) => {
      const [miner, other] = await TestMiner.many(t.app, 2)
      const first = await miner!.leaseOk()
      await miner!.submitLeaseOk(first.lease_id, { evaluations: [] })
      const again = await miner!.lease()
      assert.equal(again.statusCode, 400)
      assert.equal(again.json().detail, 'Lease already issued for this window. Wait for next window.')
      assert.equal(again.json().code, 'POOL_ERR_WINDOW_LEASE_USED')
      // Other miners are not affected.
      await other!.leaseOk()
      t.clock.advance(WINDOW_MS)
      const next = await miner!.leaseOk()
      assert.equal(next.window_number, 1)
      const windows = await t.pool.database.db
        .selectFrom('lease_windows')
        .select('window_number')
        .where('miner_hotkey', '=', miner!.hotkey)
        .orderBy('window_number')
        .execute()
      assert.deepEqual(
        windows.map((w) => Number(w.window_number)),
        [0, 1],
      )
    })
  })

  it('without enforced-window mode a miner may lease again in the same window', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const first = await miner!.leaseOk()
      await miner!.submitLeaseOk(first.lease_id, { evaluations: [] })
      const second = await miner!.leaseOk()
      assert.equal(second.window_number, 0)
    })
  })

  it('honours sim_window_number in development', async () => {
    await withPool({ LEASE_ENFORCE_WINDOW: 'true' }, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const lease = await miner!.leaseOk({ sim_window_number: 7 })
      assert.equal(lease.window_number, 7)
      const row = await t.pool.database.db
        .selectFrom('assignments')
        .select('window_number')
        .where('id', '=', lease.lease_id)
        .executeTakeFirstOrThrow()
      assert.equal(Number(row.window_number), 7)
      await miner!.submitLeaseOk(lease.lease_id, { evaluations: [] })
      // The simulated window is the one used up; the real window 0 is still free.
      assert.equal(
        (await miner!.lease({ sim_window_number: 7 })).json().detail,
        'Lease already issued for this window. Wait for next window.',
      )
      assert.equal((await miner!.leaseOk()).window_number, 0)
    })
  })

  it('refuses sim_window_number in production with 422', async () => {
    await withPool(
      { ENVIRONMENT: 'production', MONITOR_TOKEN: 'monitor-secret', METRICS_TOKEN: 'scrape-secret' },
      async (t) => {
        const [miner] = await TestMiner.many(t.app, 1)
        const response = await miner!.lease({ sim_window_number: 3 })
        assert.equal(response.statusCode, 422)
        assert.deepEqual(validationLocs(response.json()), [['body', 'sim_window_number']])
        const lease = await miner!.leaseOk()
        assert.equal(lease.window_number, 0)
      },
    )
  })
})

describe('POST /api/v1/tasks/lease: choosing the work', () => {
  it("excludes the miner's own algorithms and those it already evaluated; fewest evaluations first, then oldest", async () => {
    await withPool({}, async (t) => {
      const [author, other] = await TestMiner.many(t.app, 2)
      const seeds = await seedIds(t)
      const first = await author!.leaseOk({ eval_batch_size: 2 })
      assert.deepEqual(ids(first.evaluate_algorithms), seeds.slice(0, 2))
      const submitted = await author!.submitLeaseOk(first.lease_id, {
        evaluations: first.evaluate_algorithms.map((a) => ({ algorithm_id: a.id, score: 0.5 })),
        evolutions: [{ parent_algorithm_ids: [seeds[0]], algorithm_dsl: evolvedProgram(1) }],
      })
      const [evolved] = submitted.new_algorithm_ids
      assert.ok(evolved !== undefined)

      const own = await author!.leaseOk({ eval_batch_size: 64 })
      assert.deepEqual(
        ids(own.evaluate_algorithms),
        seeds.slice(2),
        'neither the two it evaluated nor its own algorithm',
      )

      // Never evaluated first (the remaining seeds, then the newer evolution), then the ones evaluated once.
      const theirs = await other!.leaseOk({ eval_batch_size: 64 })
      assert.deepEqual(ids(theirs.evaluate_algorithms), [...seeds.slice(2), evolved, ...seeds.slice(0, 2)])
      const record = theirs.evaluate_algorithms.find((a) => a.id === evolved)!
      assert.equal(record.miner_hotkey, author!.hotkey)
      assert.deepEqual(record.parent_ids, [seeds[0]])
      assert.equal(record.status, 'evaluating')
    })
  })

  it('hands a new program out with its parents in ascending order, as the store lists them', async () => {
    await withPool({}, async (t) => {
      const [author, other] = await TestMiner.many(t.app, 2)
      const first = await author!.leaseOk({ eval_batch_size: 2 })
      const [low, high] = [first.seed_algorithms[0]!.id, first.seed_algorithms[3]!.id].sort((a, b) => a - b)
      const submitted = await author!.submitLeaseOk(first.lease_id, {
        evaluations: [],
        evolutions: [{ parent_algorithm_ids: [high, low, high], algorithm_dsl: evolvedProgram(41) }],
      })
      const [evolved] = submitted.new_algorithm_ids
      const lease = await other!.leaseOk({ eval_batch_size: 64 })
      const record = lease.evaluate_algorithms.find((a) => a.id === evolved)
      assert.ok(record !== undefined, 'the new program is handed out')
      assert.deepEqual(record.parent_ids, [low, high])
      const stored = await t.pool.database.db
        .selectFrom('algorithm_parents')
        .select('parent_id')
        .where('algorithm_id', '=', BigInt(evolved!))
        .orderBy('parent_id')
        .execute()
      assert.deepEqual(
        stored.map((p) => Number(p.parent_id)),
        record.parent_ids,
      )
    })
  })

  it('does not hand an algorithm to more than CONSENSUS_SAMPLE_SIZE open assignments; an expired one frees its slot', async () => {
    await withPool({ CONSENSUS_SAMPLE_SIZE: '2', CONSENSUS_THRESHOLD: '2' }, async (t) => {
      const [a, b, c, d] = await TestMiner.many(t.app, 4)
      const seeds = await seedIds(t)
      const leaseA = await a!.leaseOk({ eval_batch_size: 2 })
      assert.deepEqual(ids(leaseA.evaluate_algorithms), seeds.slice(0, 2))
      t.clock.advance(500_000)
      const leaseB = await b!.leaseOk({ eval_batch_size: 2 })
      assert.deepEqual(ids(leaseB.evaluate_algorithms), seeds.slice(0, 2))
      // Two open assignments hold the first two seeds: the third miner gets others.
      const leaseC = await c!.leaseOk({ eval_batch_size: 2 })
      assert.deepEqual(ids(leaseC.evaluate_algorithms), seeds.slice(2, 4))
      await c!.submitLeaseOk(leaseC.lease_id, {
        evaluations: leaseC.evaluate_algorithms.map((x) => ({ algorithm_id: x.id, score: 0.5 })),
      })

      t.clock.advance(400_000) // A's lease (900 s) has expired, B's has not.
      const leaseD = await d!.leaseOk({ eval_batch_size: 2 })
      assert.deepEqual(ids(leaseD.evaluate_algorithms), seeds.slice(0, 2), 'the slots A held are free again')
      const again = await c!.leaseOk({ eval_batch_size: 2 })
      assert.deepEqual(ids(again.evaluate_algorithms), seeds.slice(4, 6), 'B and D hold the first two seeds now')
      const late = await a!.submitLease(leaseA.lease_id, { evaluations: [{ algorithm_id: seeds[0], score: 0.5 }] })
      assert.equal(late.statusCode, 404)
      assert.equal(late.json().detail, NOT_FOUND)
    })
  })

  it('never hands an algorithm to more than n evaluators; tops a short set up only with decided seeds', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 5)
      const seeds = await seedIds(t)
      // Three open leases hold every slot of every seed (n = 3): the fourth miner gets none of them to
      // evaluate, only the seed set to evolve from. (One after the other: leases at the same moment may
      // skip rows another lease holds, see concurrency.test.ts.)
      const first = []
      for (const m of miners.slice(0, 3)) first.push(await m.leaseOk({ eval_batch_size: 64 }))
      for (const lease of first) assert.deepEqual(ids(lease.evaluate_algorithms), seeds)
      const fourth = await miners[3]!.leaseOk({ eval_batch_size: 64 })
      assert.deepEqual(ids(fourth.evaluate_algorithms), [])
      assert.deepEqual(ids(fourth.seed_algorithms), seeds.slice(0, 8))
      // Once the three agree, every seed is scored: a short evaluate set is topped up from the seed set,
      // and those evaluations are accepted as records that decide nothing.
      for (const [i, lease] of first.entries()) {
        await miners[i]!.submitLeaseOk(lease.lease_id, {
          evaluations: lease.evaluate_algorithms.map((x) => ({ algorithm_id: x.id, score: 0.5 })),
        })
      }
      const fifth = await miners[4]!.leaseOk({ eval_batch_size: 64 })
      assert.deepEqual(ids(fifth.evaluate_algorithms), seeds.slice(0, 2))
      // The fourth lease's seed set is not handed out again: its seeds have been decided since.
      assert.ok(fifth.seed_algorithms.every((s) => s.status === 'scored'))
      const submitted = await miners[4]!.submitLeaseOk(fifth.lease_id, {
        evaluations: fifth.evaluate_algorithms.map((x) => ({ algorithm_id: x.id, score: 0.4 })),
      })
      assert.equal(submitted.evaluations_accepted, 2)
      const counts = await t.pool.database.db
        .selectFrom('algorithms')
        .select(['evaluation_count', 'state'])
        .where('id', 'in', seeds.slice(0, 2).map(BigInt))
        .execute()
      for (const c of counts) assert.deepEqual([Number(c.evaluation_count), c.state], [3, 'scored'])
    })
  })

  it('orders the seed set by consensus score (ties by id) and fills it with built-in seeds while few are scored', async () => {
    await withPool({}, async (t) => {
      const seeds = await seedIds(t)
      const low = await insertScored(t, 1, 0.3)
      const highA = await insertScored(t, 2, 0.9)
      const mid = await insertScored(t, 3, 0.6)
      const highB = await insertScored(t, 4, 0.9)
      // A rejected built-in seed no longer fills the seed set.
      await t.pool.database.db
        .updateTable('algorithms')
        .set({ state: 'rejected', reject_reason: 'no_consensus' })
        .where('id', '=', BigInt(seeds[0]!))
        .execute()
      const miners = await TestMiner.many(t.app, 3)
      const wide = await miners[0]!.leaseOk({ seed_batch_size: 8 })
      assert.deepEqual(ids(wide.seed_algorithms), [highA, highB, mid, low, ...seeds.slice(1, 5)])
      assert.deepEqual(
        wide.seed_algorithms.slice(0, 4).map((s) => s.score),
        [0.9, 0.9, 0.6, 0.3],
      )
      assert.ok(wide.seed_algorithms.slice(0, 4).every((s) => s.status === 'scored'))
      const narrow = await miners[1]!.leaseOk({ seed_batch_size: 3 })
      assert.deepEqual(ids(narrow.seed_algorithms), [highA, highB, mid])
      // Scored algorithms are not evaluated again.
      assert.ok(!ids(wide.evaluate_algorithms).some((id) => [low, highA, mid, highB].includes(id)))
      assert.ok(!ids(wide.evaluate_algorithms).includes(seeds[0]!))
    })
  })

  it('answers 404 only when there is nothing at all to hand out', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sotapool-empty-seeds-'))
    try {
      await withPool({ SEED_DIR: empty }, async (t) => {
        const count = await t.pool.database.db
          .selectFrom('algorithms')
          .select((eb) => eb.fn.countAll<bigint>().as('n'))
          .executeTakeFirstOrThrow()
        assert.equal(Number(count.n), 0)
        const [miner] = await TestMiner.many(t.app, 1)
        const response = await miner!.lease()
        assert.equal(response.statusCode, 404)
        assert.equal(response.json().code, 'POOL_ERR_NO_WORK')
        assert.equal(typeof response.json().detail, 'string')
        const batch = await miner!.requestBatch()
        assert.equal(batch.statusCode, 404)
        assert.equal(batch.json().code, 'POOL_ERR_NO_WORK')
        // A refused lease leaves the miner free and nothing behind.
        const assignments = await t.pool.database.db.selectFrom('assignments').select('id').execute()
        assert.deepEqual(assignments, [])
        const pending = (await miner!.pending()).json()
        assert.deepEqual(pending, { has_pending_evaluations: false, pending_count: 0, active_assignment: null })
      })
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })

  it('still leases (empty evaluate list) when only seeds are left for the miner', async () => {
    await withPool({}, async (t) => {
      const [miner] = await TestMiner.many(t.app, 1)
      const seeds = await seedIds(t)
      const first = await miner!.leaseOk({ eval_batch_size: 64 })
      await miner!.submitLeaseOk(first.lease_id, { evaluations: seeds.map((id) => ({ algorithm_id: id, score: 0.5 })) })
      const second = await miner!.leaseOk()
      assert.deepEqual(second.evaluate_algorithms, [])
      assert.ok(second.seed_algorithms.length > 0)
    })
  })
})

describe('POST /api/v1/tasks/{lease_id}/submit_lease', () => {
  async function leased(t: TestPool, env?: { miners?: number }) {
    const miners = await TestMiner.many(t.app, env?.miners ?? 2)
    const lease = await miners[0]!.leaseOk({ eval_batch_size: 3 })
    return { miner: miners[0]!, others: miners.slice(1), lease }
  }

  it('answers with status, counts, new ids and window, and stores evaluations and the evolution', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const [e0, e1, e2] = lease.evaluate_algorithms
      const dsl = evolvedProgram(5)
      const response = await miner.submitLease(lease.lease_id, {
        evaluations: [
          { algorithm_id: e0!.id, score: 0.25 },
          { algorithm_id: e1!.id, score: 0 },
          { algorithm_id: e2!.id, score: 1 },
        ],
        evolutions: [{ parent_algorithm_ids: [e0!.id, lease.seed_algorithms[3]!.id], algorithm_dsl: dsl }],
        iterations: 12,
        gossip: { anything: true },
        public_address: miner.hotkey,
        signature: 'ignored',
        message: 'ignored',
      })
      assert.equal(response.statusCode, 200, response.body)
      const body = response.json()
      assert.deepEqual(Object.keys(body).sort(), [
        'evaluations_accepted',
        'evolutions_accepted',
        'lease_id',
        'new_algorithm_ids',
        'status',
        'window_number',
      ])
      assert.equal(body.status, 'accepted')
      assert.equal(body.lease_id, lease.lease_id)
      assert.equal(body.evaluations_accepted, 3)
      assert.equal(body.evolutions_accepted, 1)
      assert.equal(body.new_algorithm_ids.length, 1)
      assert.equal(body.window_number, 0)

      const rows = await evaluationRows(t, miner.hotkey)
      assert.deepEqual(
        rows.map((r) => [r.algorithm_id, r.score, r.assignment_id]),
        [
          [e0!.id, 0.25, lease.lease_id],
          [e1!.id, 0, lease.lease_id],
          [e2!.id, 1, lease.lease_id],
        ],
      )
      assert.equal(await assignmentStatus(t, lease.lease_id), 'submitted')

      const id = body.new_algorithm_ids[0]
      const db = t.pool.database.db
      const algorithm = await db
        .selectFrom('algorithms')
        .selectAll()
        .where('id', '=', BigInt(id))
        .executeTakeFirstOrThrow()
      assert.equal(algorithm.state, 'evaluating')
      assert.equal(algorithm.miner_hotkey, miner.hotkey)
      // Stored as the miners' serializer writes it; the text as submitted is kept beside it.
      assert.equal(algorithm.algorithm_dsl, validateAlgorithm(dsl).canonical)
      assert.equal(algorithm.submitted_dsl, dsl)
      assert.equal(algorithm.algorithm_hash, validateAlgorithm(dsl).hash)
      assert.match(algorithm.algorithm_hash, /^[0-9a-f]{64}$/)
      assert.equal(algorithm.repeat, 'none')
      assert.equal(algorithm.task_type, TASK)
      assert.equal(Number(algorithm.input_dim), 16)
      assert.equal(Number(algorithm.is_seed), 0)
      assert.equal(algorithm.source_assignment_id, lease.lease_id)
      assert.equal(algorithm.consensus_score, null)
      const parents = await db
        .selectFrom('algorithm_parents')
        .select('parent_id')
        .where('algorithm_id', '=', BigInt(id))
        .orderBy('parent_id')
        .execute()
      assert.deepEqual(
        parents.map((p) => Number(p.parent_id)),
        [e0!.id, lease.seed_algorithms[3]!.id].sort((a, b) => a - b),
      )
    })
  })

  it('refuses an evaluation outside the evaluate set with 422 and stores nothing; the lease stays usable', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const outside = lease.seed_algorithms.find((s) => !ids(lease.evaluate_algorithms).includes(s.id))!
      const before = await t.pool.database.db.selectFrom('algorithms').select('id').execute()
      const bad = await miner.submitLease(lease.lease_id, {
        evaluations: [
          { algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 },
          { algorithm_id: outside.id, score: 0.5 },
        ],
        evolutions: [{ parent_algorithm_ids: [lease.seed_algorithms[0]!.id], algorithm_dsl: evolvedProgram(2) }],
      })
      assert.equal(bad.statusCode, 422)
      assert.equal(bad.json().code, 'POOL_ERR_INVALID_SUBMISSION')
      assert.deepEqual(validationLocs(bad.json()), [['body', 'evaluations', 1, 'algorithm_id']])
      assert.match(bad.json().detail[0].msg, new RegExp(String(outside.id)))
      assert.deepEqual(await evaluationRows(t), [])
      assert.deepEqual(await t.pool.database.db.selectFrom('algorithms').select('id').execute(), before)
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
      const count = await t.pool.database.db
        .selectFrom('algorithms')
        .select('evaluation_count')
        .where('id', '=', BigInt(lease.evaluate_algorithms[0]!.id))
        .executeTakeFirstOrThrow()
      assert.equal(Number(count.evaluation_count), 0)

      const good = await miner.submitLeaseOk(lease.lease_id, {
        evaluations: [{ algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 }],
        evolutions: [{ parent_algorithm_ids: [lease.seed_algorithms[0]!.id], algorithm_dsl: evolvedProgram(2) }],
      })
      assert.equal(good.evaluations_accepted, 1)
      assert.equal(good.evolutions_accepted, 1)
      assert.equal((await evaluationRows(t)).length, 1)
    })
  })

  it('refuses an algorithm the miner evaluated before with 422; nothing is stored or counted', async () => {
    await withPool({}, async (t) => {
      const [author, evaluator] = await TestMiner.many(t.app, 2)
      const first = await author!.leaseOk({ eval_batch_size: 2 })
      const created = await author!.submitLeaseOk(first.lease_id, {
        evaluations: [],
        evolutions: [{ parent_algorithm_ids: [first.seed_algorithms[0]!.id], algorithm_dsl: evolvedProgram(31) }],
      })
      const fresh = created.new_algorithm_ids[0]!
      const lease = await evaluator!.leaseOk({ eval_batch_size: 64 })
      assert.ok(ids(lease.evaluate_algorithms).includes(fresh), 'the new algorithm is handed out for evaluation')
      const other = lease.evaluate_algorithms.find((a) => a.id !== fresh)!
      // An evaluation of the same algorithm by the same miner, stored earlier by another route.
      await t.pool.database.db
        .insertInto('evaluations')
        .values({
          algorithm_id: BigInt(fresh),
          miner_hotkey: evaluator!.hotkey,
          assignment_id: first.lease_id,
          score: 0.1,
          window_number: 0n,
          created_at: BigInt(t.clock.now()),
          outcome: null,
        })
        .execute()
      const counts = async () =>
        await t.pool.database.db
          .selectFrom('algorithms')
          .select(['id', 'evaluation_count'])
          .where('id', 'in', [BigInt(fresh), BigInt(other.id)])
          .orderBy('id')
          .execute()
      const before = await counts()
      const response = await evaluator!.submitLease(lease.lease_id, {
        evaluations: [
          { algorithm_id: other.id, score: 0.5 },
          { algorithm_id: fresh, score: 0.5 },
        ],
      })
      assert.equal(response.statusCode, 422, response.body)
      assert.deepEqual(validationLocs(response.json()), [['body', 'evaluations', 1, 'algorithm_id']])
      assert.equal(response.json().detail[0].msg, `algorithm ${fresh} was already evaluated by this miner`)
      assert.deepEqual(await counts(), before, 'no evaluation counted')
      assert.deepEqual(
        (await evaluationRows(t, evaluator!.hotkey)).map((r) => r.algorithm_id),
        [fresh],
        'only the earlier evaluation',
      )
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('refuses the same algorithm twice in one submission with 422', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const id = lease.evaluate_algorithms[0]!.id
      const response = await miner.submitLease(lease.lease_id, {
        evaluations: [
          { algorithm_id: id, score: 0.5 },
          { algorithm_id: id, score: 0.6 },
        ],
      })
      assert.equal(response.statusCode, 422)
      assert.deepEqual(validationLocs(response.json()), [['body', 'evaluations', 1, 'algorithm_id']])
      assert.deepEqual(await evaluationRows(t), [])
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('refuses scores outside [0, 1] with 422', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const id = lease.evaluate_algorithms[0]!.id
      for (const score of [1.5, -0.1, 1.0000001, '0.5', true]) {
        const response = await miner.submitLease(lease.lease_id, { evaluations: [{ algorithm_id: id, score }] })
        assert.equal(response.statusCode, 422, `score ${JSON.stringify(score)}: ${response.body}`)
        assert.deepEqual(validationLocs(response.json())[0], ['body', 'evaluations', 0, 'score'])
      }
      const missing = await miner.submitLease(lease.lease_id, { evaluations: [{ algorithm_id: id }] })
      assert.equal(missing.statusCode, 422)
      assert.deepEqual(await evaluationRows(t), [])
    })
  })

  it('reads the raw tokens -Infinity and NaN in score position as null (a failed run)', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const [a, b, c] = ids(lease.evaluate_algorithms)
      const raw = `{"evaluations": [{"algorithm_id": ${a}, "score": -Infinity}, {"algorithm_id": ${b}, "score":NaN}, {"algorithm_id": ${c}, "score": null}], "evolutions": []}`
      const response = await miner.submitLease(lease.lease_id, raw)
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.json().evaluations_accepted, 3)
      const rows = await evaluationRows(t, miner.hotkey)
      assert.deepEqual(
        rows.map((r) => [r.algorithm_id, r.score]),
        [
          [a, null],
          [b, null],
          [c, null],
        ],
      )
    })
  })

  it('refuses Infinity, and NaN or -Infinity anywhere but a score, as malformed JSON (400)', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const a = lease.evaluate_algorithms[0]!.id
      const bodies = [
        `{"evaluations": [{"algorithm_id": ${a}, "score": Infinity}]}`,
        `{"evaluations": [{"algorithm_id": ${a}, "score": +Infinity}]}`,
        `{"evaluations": [{"algorithm_id": NaN, "score": 0.5}]}`,
        `{"evaluations": [{"algorithm_id": ${a}, "score": 0.5}], "iterations": NaN}`,
        `{"evaluations": [{"algorithm_id": ${a}, "score": 0.5}], "gossip": [-Infinity]}`,
        `{"evaluations": [{"algorithm_id": ${a}, "score": 0.5, "note": NaN}]}`,
      ]
      for (const raw of bodies) {
        const response = await miner.submitLease(lease.lease_id, raw)
        assert.equal(response.statusCode, 400, `${raw}: ${response.body}`)
        assert.equal(response.json().code, 'POOL_ERR_MALFORMED_JSON')
      }
      assert.deepEqual(await evaluationRows(t), [])
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('refuses more evolutions than the evolve budget with 422', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const parent = lease.seed_algorithms[0]!.id
      const response = await miner.submitLease(lease.lease_id, {
        evaluations: [{ algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 }],
        evolutions: [1, 2].map((k) => ({ parent_algorithm_ids: [parent], algorithm_dsl: evolvedProgram(k) })),
      })
      assert.equal(response.statusCode, 422)
      assert.deepEqual(validationLocs(response.json()), [['body', 'evolutions']])
      assert.deepEqual(await evaluationRows(t), [])
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('accepts up to LEASE_EVOLVE_BUDGET evolutions', async () => {
    await withPool({ LEASE_EVOLVE_BUDGET: '2' }, async (t) => {
      const { miner, lease } = await leased(t)
      const parent = lease.seed_algorithms[0]!.id
      const body = await miner.submitLeaseOk(lease.lease_id, {
        evolutions: [1, 2].map((k) => ({ parent_algorithm_ids: [parent], algorithm_dsl: evolvedProgram(k) })),
      })
      assert.equal(body.evolutions_accepted, 2)
      assert.equal(body.new_algorithm_ids.length, 2)
    })
  })

  it('refuses an invalid program with 422 naming the line and the reason', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const parent = lease.seed_algorithms[0]!.id
      const cases: Array<[string, RegExp]> = [
        ['# predict:\ns0 = foo(v0)\n', /line 2: unknown function "foo"/],
        ['# meta: scalar_count=4\n# predict:\ns2 = 0.5\ns0 = s9\n', /line 4: register "s9" out of range/],
        [
          '# predict:\ns0 = heaviside(s2, 1.0)\nv3 = maximum(v2, 0)\n',
          /line 3: expected a register, got the number "0"/,
        ],
        ['# predict:\nADD s1 s2 -> s0\n', /line 2: the arrow form is read only as `CONST <number> -> <register>`/],
        ['', /line 0/],
      ]
      for (const [dsl, message] of cases) {
        const response = await miner.submitLease(lease.lease_id, {
          evaluations: [{ algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 }],
          evolutions: [{ parent_algorithm_ids: [parent], algorithm_dsl: dsl }],
        })
        assert.equal(response.statusCode, 422, response.body)
        assert.equal(response.json().code, 'POOL_ERR_INVALID_DSL')
        assert.deepEqual(validationLocs(response.json()), [['body', 'evolutions', 0, 'algorithm_dsl']])
        assert.match(response.json().detail[0].msg, message)
      }
      const big = await miner.submitLease(lease.lease_id, {
        evolutions: [
          { parent_algorithm_ids: [parent], algorithm_dsl: `${evolvedProgram(1)}${'# padding\n'.repeat(2000)}` },
        ],
      })
      assert.equal(big.statusCode, 422)
      assert.match(big.json().detail[0].msg, /16384|bytes|large/i)
      assert.deepEqual(await evaluationRows(t), [])
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('refuses an evolution whose parent was not shown, or that names no parent, with 422', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const shown = new Set([...ids(lease.evaluate_algorithms), ...ids(lease.seed_algorithms)])
      const extra = await insertScored(t, 9, 0.5) // exists, but was not in this lease
      assert.ok(!shown.has(extra))
      for (const parents of [[extra], [lease.seed_algorithms[0]!.id, extra], [987654]]) {
        const response = await miner.submitLease(lease.lease_id, {
          evolutions: [{ parent_algorithm_ids: parents, algorithm_dsl: evolvedProgram(3) }],
        })
        assert.equal(response.statusCode, 422, response.body)
        assert.deepEqual(validationLocs(response.json()), [['body', 'evolutions', 0, 'parent_algorithm_ids']])
        assert.match(response.json().detail[0].msg, /not shown/)
      }
      const orphan = await miner.submitLease(lease.lease_id, {
        evolutions: [{ parent_algorithm_ids: [], algorithm_dsl: evolvedProgram(3) }],
      })
      assert.equal(orphan.statusCode, 422)
      assert.deepEqual(validationLocs(orphan.json()), [['body', 'evolutions', 0, 'parent_algorithm_ids']])
      const count = await t.pool.database.db
        .selectFrom('algorithms')
        .select('id')
        .where('miner_hotkey', '=', miner.hotkey)
        .execute()
      assert.deepEqual(count, [])
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('accepts a gossiped algorithm as a parent', async () => {
    await withPool({}, async (t) => {
      const gossiped = await insertScored(t, 1, 0.7)
      const [miner] = await TestMiner.many(t.app, 1)
      const lease = await miner!.leaseOk({ gossip_limit: 5, seed_batch_size: 2 })
      assert.deepEqual(lease.gossip.algorithm_ids, [gossiped])
      const body = await miner!.submitLeaseOk(lease.lease_id, {
        evolutions: [{ parent_algorithm_ids: [gossiped], algorithm_dsl: evolvedProgram(4) }],
      })
      assert.equal(body.evolutions_accepted, 1)
    })
  })

  it('refuses iterations below LEASE_MIN_ITERATIONS with 422', async () => {
    await withPool({ LEASE_MIN_ITERATIONS: '10' }, async (t) => {
      const { miner, lease } = await leased(t)
      const evaluations = [{ algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 }]
      for (const iterations of [9, 0]) {
        const response = await miner.submitLease(lease.lease_id, { evaluations, iterations })
        assert.equal(response.statusCode, 422)
        assert.deepEqual(validationLocs(response.json()), [['body', 'iterations']])
        assert.match(response.json().detail[0].msg, /10/)
      }
      const negative = await miner.submitLease(lease.lease_id, { evaluations, iterations: -1 })
      assert.equal(negative.statusCode, 422)
      assert.deepEqual(await evaluationRows(t), [])
      const ok = await miner.submitLeaseOk(lease.lease_id, { evaluations, iterations: 10 })
      assert.equal(ok.evaluations_accepted, 1)
    })
  })

  it('counts a lease once: the second submission gets 404', async () => {
    await withPool({}, async (t) => {
      const { miner, lease } = await leased(t)
      const evaluations = lease.evaluate_algorithms.map((a) => ({ algorithm_id: a.id, score: 0.5 }))
      await miner.submitLeaseOk(lease.lease_id, { evaluations })
      const again = await miner.submitLease(lease.lease_id, { evaluations })
      assert.equal(again.statusCode, 404)
      assert.equal(again.json().detail, NOT_FOUND)
      assert.equal(again.json().code, 'POOL_ERR_ASSIGNMENT_NOT_FOUND')
      assert.equal((await evaluationRows(t)).length, evaluations.length)
      const counts = await t.pool.database.db
        .selectFrom('algorithms')
        .select('evaluation_count')
        .where(
          'id',
          'in',
          evaluations.map((e) => BigInt(e.algorithm_id)),
        )
        .execute()
      assert.deepEqual(
        counts.map((c) => Number(c.evaluation_count)),
        evaluations.map(() => 1),
      )
    })
  })

  it("refuses another miner's lease (404) and an unknown lease id (404)", async () => {
    await withPool({}, async (t) => {
      const { miner, others, lease } = await leased(t)
      const evaluations = [{ algorithm_id: lease.evaluate_algorithms[0]!.id, score: 0.5 }]
      const stolen = await others[0]!.submitLease(lease.lease_id, { evaluations })
      assert.equal(stolen.statusCode, 404)
      assert.equal(stolen.json().detail, NOT_FOUND)
      const unknown = await miner.submitLease('00000000-0000-0000-0000-000000000000', { evaluations })
      assert.equal(unknown.statusCode, 404)
      assert.equal(unknown.json().detail, NOT_FOUND)
      assert.deepEqual(await evaluationRows(t), [])
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
      await miner.submitLeaseOk(lease.lease_id, { evaluations })
    })
  })

  it('requires a signature to submit (401)', async () => {
    await withPool({}, async (t) => {
      const { lease } = await leased(t)
      const response = await t.app.inject({
        method: 'POST',
        url: `/api/v1/tasks/${lease.lease_id}/submit_lease`,
        payload: { evaluations: [] },
      })
      assert.equal(response.statusCode, 401)
      assert.equal(await assignmentStatus(t, lease.lease_id), 'active')
    })
  })

  it('stores a repeated program (same canonical form) as rejected, marked own or other', async () => {
    await withPool({}, async (t) => {
      const [author, other] = await TestMiner.many(t.app, 2)
      const evolve = async (m: TestMiner, dsl: string): Promise<number> => {
        const lease: LeaseBody = await m.leaseOk()
        const body = await m.submitLeaseOk(lease.lease_id, {
          evolutions: [{ parent_algorithm_ids: [lease.seed_algorithms[0]!.id], algorithm_dsl: dsl }],
        })
        assert.equal(body.evolutions_accepted, 1)
        return body.new_algorithm_ids[0]!
      }
      const original = await evolve(author!, evolvedProgram(42))
      const mine = await evolve(author!, reformattedProgram(42))
      const theirs = await evolve(other!, reformattedProgram(42))
      const fresh = await evolve(other!, evolvedProgram(43))
      const rows = await t.pool.database.db
        .selectFrom('algorithms')
        .select(['id', 'state', 'repeat', 'reject_reason', 'algorithm_hash', 'miner_hotkey', 'decided_window'])
        .where('id', 'in', [original, mine, theirs, fresh].map(BigInt))
        .orderBy('id')
        .execute()
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.state, r.repeat, r.reject_reason]),
        [
          [original, 'evaluating', 'none', null],
          [mine, 'rejected', 'own', 'duplicate'],
          [theirs, 'rejected', 'other', 'duplicate'],
          [fresh, 'evaluating', 'none', null],
        ],
      )
      assert.equal(rows[0]!.algorithm_hash, rows[1]!.algorithm_hash)
      assert.equal(rows[0]!.algorithm_hash, rows[2]!.algorithm_hash)
      assert.equal(Number(rows[1]!.decided_window), 0)
      // Repeats are never handed out for evaluation.
      const [third] = await TestMiner.many(t.app, 1, 'third')
      const lease = await third!.leaseOk({ eval_batch_size: 64 })
      assert.ok(ids(lease.evaluate_algorithms).includes(original))
      assert.ok(!ids(lease.evaluate_algorithms).includes(mine))
      assert.ok(!ids(lease.evaluate_algorithms).includes(theirs))
    })
  })

  it("a miner's next lease waits for its own submission still committing, and neither fails (PostgreSQL)", {
    skip: testDialect() !== 'postgres',
  }, async () => {
    await withPool({}, async (t) => {
      const [b, c, a] = await TestMiner.many(t.app, 3)
      const seeds = (await seedIds(t)).slice(0, 2)
      const seed = seeds[0]!
      const evaluations = seeds.map((id) => ({ algorithm_id: id, score: 0.5 }))
      const leases = [await b!.leaseOk({ eval_batch_size: 2 }), await c!.leaseOk({ eval_batch_size: 2 })]
      const leaseA = await a!.leaseOk({ eval_batch_size: 2 })
      for (const l of [...leases, leaseA]) assert.deepEqual(ids(l.evaluate_algorithms), seeds)
      await b!.submitLeaseOk(leases[0]!.lease_id, { evaluations })
      await c!.submitLeaseOk(leases[1]!.lease_id, { evaluations })
      // Another session holds the seed's row: A's submission (the sample's third evaluation, so it decides
      // and records A's trust) takes its assignment, then waits; A's next lease comes in behind it.
      const holder = new pg.Client({ connectionString: t.url })
      await holder.connect()
      try {
        await holder.query('begin')
        await holder.query('select id from algorithms where id = $1 for update', [seed])
        const submitting = a!.submitLease(leaseA.lease_id, { evaluations })
        await waitForLockWaits(holder, 1)
        const leasing = a!.lease({ eval_batch_size: 2 })
        await waitForLockWaits(holder, 2)
        await holder.query('rollback')
        const [submitted, leased] = await Promise.all([submitting, leasing])
        assert.equal(submitted.statusCode, 200, submitted.body)
        assert.equal(leased.statusCode, 200, leased.body)
        // Not even a deadlock resolved by running a transaction again.
        assert.equal(t.pool.database.retried, 0)
      } finally {
        await holder.end()
      }
      const decided = await t.pool.database.db
        .selectFrom('algorithms')
        .select('state')
        .where('id', 'in', seeds.map(BigInt))
        .execute()
      assert.deepEqual(
        decided.map((d) => d.state),
        ['scored', 'scored'],
      )
    })
  })
})

/** Waits until `count` sessions of this database are waiting for a lock. */
async function waitForLockWaits(client: pg.Client, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await client.query(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
    )
    if ((rows[0] as { n: number }).n >= count) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`fewer than ${count} sessions waited for a lock`)
}
