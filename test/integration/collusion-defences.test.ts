/**
 * The defences against collusion (README, "Rules of the pool"), each through the real routes on the store
 * under test: adaptive n with the strict sample and the quorum for a would-be SOTA, trust-weighted votes,
 * the secret draw that picks who is offered an algorithm (scaled by trust), keys paid to one recipient
 * never evaluating one another, the evaluators' records, and migration 007 on a store written before.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Migrator, type Migration } from 'kysely'
import { migrateToLatest } from '../../src/db/migrate.ts'
import * as initial from '../../src/db/migrations/001-initial.ts'
import * as minersDsl from '../../src/db/migrations/002-miners-dsl.ts'
import * as identityFold from '../../src/db/migrations/003-identity-fold.ts'
import * as balancedEpochs from '../../src/db/migrations/004-balanced-epochs.ts'
import * as operator from '../../src/db/migrations/005-operator.ts'
import * as leaseIndexes from '../../src/db/migrations/006-lease-indexes.ts'
import { DRAW_MODULUS } from '../../src/domain/assignment.ts'
import { createTestDatabase } from '../support/database.ts'
import { TestMiner, evolvedProgram } from '../support/miner.ts'
import { type TestPool, withTestPool as withPool, seedIds } from '../support/pool.ts'

const TASK = 'cifar10_binary'

/** Miner 0 leases and submits one evolution of the first seed; its id. */
async function evolve(author: TestMiner, t: TestPool, k = 1): Promise<number> {
  const [seed] = await seedIds(t)
  const lease = await author.leaseOk()
  const submit = await author.submitLeaseOk(lease.lease_id, {
    evaluations: [],
    evolutions: [{ parent_algorithm_ids: [seed!], algorithm_dsl: evolvedProgram(k) }],
  })
  return submit.new_algorithm_ids[0]!
}

async function algorithm(t: TestPool, id: number) {
  return await t.pool.database.db
    .selectFrom('algorithms')
    .select(['state', 'consensus_score', 'evaluation_count', 'sample_target', 'reject_reason'])
    .where('id', '=', BigInt(id))
    .executeTakeFirstOrThrow()
}

/** Makes `score` the best decided score of the task type (a seed decided straight in the store). */
async function setBest(t: TestPool, score: number): Promise<void> {
  const [seed] = await seedIds(t)
  await t.pool.database.db
    .updateTable('algorithms')
    .set({ state: 'scored', consensus_score: score, decided_at: BigInt(t.clock.now()), decided_window: 0n })
    .where('id', '=', BigInt(seed!))
    .execute()
}

async function setRecord(t: TestPool, miner: TestMiner, agreements: number, disagreements: number): Promise<void> {
  await t.pool.database.db
    .updateTable('miners')
    .set({ trust_agreements: agreements, trust_disagreements: disagreements })
    .where('hotkey', '=', miner.hotkey)
    .execute()
}

/** Every miner makes a signed request, then the clock moves past the pool's cached count of active miners. */
async function seen(t: TestPool, miners: TestMiner[]): Promise<void> {
  for (const m of miners) await m.pending()
  t.clock.advance(30_000)
}

/** How many of `miners` would be handed the algorithm now: the difference it makes to their pending count. */
async function offeredTo(miners: TestMiner[], before: Map<string, number>): Promise<TestMiner[]> {
  const offered: TestMiner[] = []
  for (const m of miners) {
    const count = ((await m.pending()).json() as { pending_count: number }).pending_count
    if (count - before.get(m.hotkey)! === 1) offered.push(m)
  }
  return offered
}

async function pendingCounts(miners: TestMiner[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const m of miners) counts.set(m.hotkey, ((await m.pending()).json() as { pending_count: number }).pending_count)
  return counts
}

describe('adaptive n, the strict sample and the quorum', () => {
  it('a would-be SOTA, even unanimous, draws evaluators up to the strict sample before it is decided', async () => {
    // Everyone is offered everything here, so the test is about the sample alone.
    await withPool({ ASSIGNMENT_SPREAD: '0' }, async (t) => {
      const miners = await TestMiner.many(t.app, 12)
      await seen(t, miners)
      const id = await evolve(miners[0]!, t)
      for (const [i, m] of miners.slice(1, 4).entries()) {
        await m.evaluate({ [id]: 0.9 })
        assert.equal((await algorithm(t, id)).state, 'evaluating', `decided after ${i + 1} evaluations`)
      }
      // Three newcomers (weight 0.5 each) agree: no best yet, so a new best, short of the strict sample.
      assert.equal(Number((await algorithm(t, id)).sample_target), 5)
      for (const m of miners.slice(4, 6)) await m.evaluate({ [id]: 0.9 })
      assert.equal(Number((await algorithm(t, id)).sample_target), 7)
      for (const m of miners.slice(6, 8)) await m.evaluate({ [id]: 0.9 })
      const decided = await algorithm(t, id)
      assert.deepEqual([decided.state, decided.consensus_score, Number(decided.evaluation_count)], ['scored', 0.9, 7])
      const metrics = (await t.app.inject({ url: '/metrics' })).body
      assert.match(metrics, /sotapool_consensus_extensions_total\{reason="new_best"\} 2/)
    })
  })

  it('an ordinary score is decided at n by a simple majority, as before', async () => {
    await withPool({ ASSIGNMENT_SPREAD: '0' }, async (t) => {
      const miners = await TestMiner.many(t.app, 12)
      await seen(t, miners)
      await setBest(t, 0.95)
      const id = await evolve(miners[0]!, t)
      await miners[1]!.evaluate({ [id]: 0.4 })
      await miners[2]!.evaluate({ [id]: 0.4 })
      await miners[3]!.evaluate({ [id]: 0.7 })
      const decided = await algorithm(t, id)
      assert.deepEqual([decided.state, decided.consensus_score, Number(decided.evaluation_count)], ['scored', 0.4, 3])
    })
  })

  it('a pool no larger than n + 1 keeps plain k-of-n: a 2-1 split on a new best is decided at once', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 4)
      await seen(t, miners)
      const id = await evolve(miners[0]!, t)
      await miners[1]!.evaluate({ [id]: 0.9 })
      await miners[2]!.evaluate({ [id]: 0.9 })
      await miners[3]!.evaluate({ [id]: 0.2 })
      const decided = await algorithm(t, id)
      assert.deepEqual([decided.state, decided.consensus_score], ['scored', 0.9])
    })
  })
})

describe('parked samples', () => {
  /** Nine newcomers split 5-4 on a would-be SOTA: no supermajority even at the largest sample. */
  async function parkOne(
    t: TestPool,
  ): Promise<{ id: number; miners: TestMiner[]; nulls: TestMiner[]; scorers: TestMiner[] }> {
    const miners = await TestMiner.many(t.app, 12)
    await seen(t, miners)
    await setBest(t, 0.5)
    const id = await evolve(miners[0]!, t)
    const votes: Array<number | null> = [null, 0.9, null, 0.9, null, 0.9, null, 0.9, 0.9]
    for (const [i, score] of votes.entries()) await miners[i + 1]!.evaluate({ [id]: score })
    const nulls = miners.slice(1, 10).filter((_, i) => votes[i] === null)
    const scorers = miners.slice(1, 10).filter((_, i) => votes[i] !== null)
    return { id, miners, nulls, scorers }
  }

  it('a full sample with no supermajority waits, and is decided once the weights have moved', async () => {
    await withPool({ ASSIGNMENT_SPREAD: '0' }, async (t) => {
      const { id, nulls, scorers } = await parkOne(t)
      const parked = await algorithm(t, id)
      assert.deepEqual(
        [parked.state, Number(parked.evaluation_count), Number(parked.sample_target)],
        ['evaluating', 9, 9],
      )
      assert.match((await t.app.inject({ url: '/metrics' })).body, /sotapool_consensus_parked_total 1/)
      // Nothing changed: judged again, still parked.
      assert.equal(await t.pool.work.rejudgeParked(), 0)
      // Elsewhere meanwhile, the four who called it failed kept disagreeing with everyone, the five who
      // scored it kept agreeing.
      for (const m of nulls) await setRecord(t, m, 0, 100)
      for (const m of scorers) await setRecord(t, m, 50, 0)
      assert.equal(await t.pool.work.rejudgeParked(), 1)
      const decided = await algorithm(t, id)
      assert.deepEqual([decided.state, decided.consensus_score], ['scored', 0.9])
    })
  })

  it('parked longer than CONSENSUS_PARK_S, a sample still unclear is set aside undecided', async () => {
    await withPool({ ASSIGNMENT_SPREAD: '0', CONSENSUS_PARK_S: '60' }, async (t) => {
      const { id } = await parkOne(t)
      t.clock.advance(59_000)
      assert.equal(await t.pool.work.rejudgeParked(), 0)
      t.clock.advance(1_000)
      assert.equal(await t.pool.work.rejudgeParked(), 1)
      const aside = await algorithm(t, id)
      assert.deepEqual([aside.state, aside.reject_reason], ['rejected', 'no_consensus'])
      const outcomes = await t.pool.database.db
        .selectFrom('evaluations')
        .select('outcome')
        .where('algorithm_id', '=', BigInt(id))
        .execute()
      assert.deepEqual(new Set(outcomes.map((o) => o.outcome)), new Set(['none']))
    })
  })
})

describe('trust-weighted votes', () => {
  for (const weighting of ['trust', 'equal'] as const) {
    it(`two distrusted evaluators ${weighting === 'trust' ? 'do not outvote' : 'outvote (VOTE_WEIGHTING=equal)'} one trusted evaluator`, async () => {
      await withPool({ ASSIGNMENT_SPREAD: '0', VOTE_WEIGHTING: weighting }, async (t) => {
        const miners = await TestMiner.many(t.app, 12)
        await seen(t, miners)
        await setBest(t, 0.95)
        await setRecord(t, miners[1]!, 0, 100)
        await setRecord(t, miners[2]!, 0, 100)
        await setRecord(t, miners[3]!, 100, 0)
        const id = await evolve(miners[0]!, t)
        await miners[1]!.evaluate({ [id]: 0.5 })
        await miners[2]!.evaluate({ [id]: 0.5 })
        await miners[3]!.evaluate({ [id]: 0.3 })
        const after = await algorithm(t, id)
        if (weighting === 'equal') {
          assert.deepEqual([after.state, after.consensus_score], ['scored', 0.5])
          return
        }
        // The trusted vote outweighs both, but alone it is no cluster of k: more evaluators are drawn.
        assert.deepEqual([after.state, Number(after.sample_target)], ['evaluating', 5])
        await miners[4]!.evaluate({ [id]: 0.3 })
        await miners[5]!.evaluate({ [id]: 0.31 })
        const decided = await algorithm(t, id)
        assert.deepEqual([decided.state, decided.consensus_score], ['scored', 0.3])
        // The two distrusted votes are disagreeing.
      })
    })
  }

  it("every decision adds to the evaluators' records, and a record fades to TRUST_HORIZON evaluations", async () => {
    await withPool({ ASSIGNMENT_SPREAD: '0', TRUST_HORIZON: '50' }, async (t) => {
      const miners = await TestMiner.many(t.app, 12)
      await seen(t, miners)
      await setBest(t, 0.95)
      await setRecord(t, miners[3]!, 50, 0)
      const id = await evolve(miners[0]!, t)
      await miners[1]!.evaluate({ [id]: 0.4 })
      await miners[2]!.evaluate({ [id]: 0.4 })
      await miners[3]!.evaluate({ [id]: 0.8 })
      const records = await t.pool.database.db
        .selectFrom('miners')
        .select(['hotkey', 'trust_agreements', 'trust_disagreements'])
        .where('hotkey', 'in', [miners[1]!.hotkey, miners[3]!.hotkey])
        .execute()
      const of = (m: TestMiner) => records.find((r) => r.hotkey === m.hotkey)!
      assert.deepEqual([of(miners[1]!).trust_agreements, of(miners[1]!).trust_disagreements], [1, 0])
      // 50 agreements and a new disagreement, scaled back to 50 in all.
      assert.ok(Math.abs(of(miners[3]!).trust_agreements - (50 * 50) / 51) < 1e-9)
      assert.ok(Math.abs(of(miners[3]!).trust_disagreements - 50 / 51) < 1e-9)
    })
  })
})

describe('who is offered an algorithm', () => {
  it('a secret draw offers a new algorithm to a few of the active miners first, to all as it waits', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 30)
      await seen(t, miners)
      const others = miners.slice(1)
      const before = await pendingCounts(others)
      const id = await evolve(miners[0]!, t)
      assert.equal((await algorithm(t, id)).state, 'evaluating')
      const first = await offeredTo(others, before)
      // About ASSIGNMENT_SPREAD x n = 1.5 of 30 miners; never a crowd.
      assert.ok(first.length < 8, `offered to ${first.length} of ${others.length} at first`)
      // Seeds wait too: compare counts on the same clock.
      t.clock.advance(60_000 * 64)
      const later = await pendingCounts(others)
      const all = await Promise.all(
        others.map(async (m) => {
          const lease = await m.leaseOk({ eval_batch_size: 64 })
          await m.submitLeaseOk(lease.lease_id, { evaluations: [], evolutions: [] })
          return lease.evaluate_algorithms.some((a) => a.id === id)
        }),
      )
      assert.ok(later.size === others.length)
      // Once it has waited long enough every miner may take it (the first three leases fill its slots).
      assert.ok(all.filter(Boolean).length >= 3)
    })
  })

  it('a miner the others keep disagreeing with is offered little, even after the offer has widened to all', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 30)
      await seen(t, miners)
      const [author, distrusted, trusted] = [miners[0]!, miners[1]!, miners[2]!]
      await setRecord(t, distrusted, 0, 1000)
      await setRecord(t, trusted, 1000, 0)
      const ids: number[] = []
      for (let k = 0; k < 12; k++) {
        ids.push(await evolve(author, t, 100 + k))
      }
      t.clock.advance(60_000 * 64)
      const countOffered = async (m: TestMiner) => {
        const lease = await m.leaseOk({ eval_batch_size: 64 })
        await m.submitLeaseOk(lease.lease_id, { evaluations: [], evolutions: [] })
        return lease.evaluate_algorithms.filter((a) => ids.includes(a.id)).length
      }
      assert.equal(await countOffered(distrusted), 0)
      assert.equal(await countOffered(trusted), ids.length)
    })
  })

  it('keys paid to one recipient never evaluate one another’s programs, not even as a re-check', async () => {
    // SEED_CACHE_MS 0: the decisions below are written to the database directly, not by the pool, so
    // they would reach its seed sets only after the cache time.
    await withPool({ ASSIGNMENT_SPREAD: '0', SEED_CACHE_MS: '0' }, async (t) => {
      const [author, sibling, stranger, ...rest] = await TestMiner.many(t.app, 6)
      const wallet = rest[0]!.hotkey
      assert.equal((await author!.setRecipient(wallet)).statusCode, 200)
      assert.equal((await sibling!.setRecipient(wallet)).statusCode, 200)
      const id = await evolve(author!, t)
      const siblingLease = await sibling!.leaseOk({ eval_batch_size: 64 })
      assert.ok(!siblingLease.evaluate_algorithms.some((a) => a.id === id))
      const strangerLease = await stranger!.leaseOk({ eval_batch_size: 64 })
      assert.ok(strangerLease.evaluate_algorithms.some((a) => a.id === id))
      await sibling!.submitLeaseOk(siblingLease.lease_id, { evaluations: [], evolutions: [] })
      await stranger!.submitLeaseOk(strangerLease.lease_id, { evaluations: [], evolutions: [] })
      // Decided, the program becomes the best seed; with nothing left to evaluate, leases are topped up with re-checks: a stranger is
      // handed it to re-check, the sibling is not.
      await t.pool.database.db
        .updateTable('algorithms')
        .set({ state: 'scored', consensus_score: 0.999, decided_at: BigInt(t.clock.now()), decided_window: 0n })
        .where('id', '=', BigInt(id))
        .execute()
      await t.pool.database.db
        .updateTable('algorithms')
        .set({ state: 'scored', consensus_score: 0.5, decided_at: BigInt(t.clock.now()), decided_window: 0n })
        .where('state', '=', 'evaluating')
        .execute()
      const recheckBy = async (m: TestMiner): Promise<boolean> => {
        const lease = await m.leaseOk({ eval_batch_size: 64 })
        await m.submitLeaseOk(lease.lease_id, { evaluations: [], evolutions: [] })
        assert.ok(lease.evaluate_algorithms.length > 0, 'a short lease is topped up with re-checks')
        return lease.evaluate_algorithms.some((a) => a.id === id)
      }
      assert.equal(await recheckBy(rest[1]!), true)
      assert.equal(await recheckBy(sibling!), false)
    })
    // Turned off, the sibling is offered it like anyone else.
    await withPool({ ASSIGNMENT_SPREAD: '0', ASSIGNMENT_SEPARATE_RECIPIENTS: 'false' }, async (t) => {
      const [author, sibling, , ...rest] = await TestMiner.many(t.app, 6)
      await author!.setRecipient(rest[0]!.hotkey)
      await sibling!.setRecipient(rest[0]!.hotkey)
      const id = await evolve(author!, t)
      const lease = await sibling!.leaseOk({ eval_batch_size: 64 })
      assert.ok(lease.evaluate_algorithms.some((a) => a.id === id))
    })
  })
})

describe('migration 007 on a store written before it', () => {
  it('gives every miner and algorithm a draw, and every evaluator the record of its decided evaluations', async () => {
    const store = await createTestDatabase()
    const { database } = store
    try {
      const before: Record<string, Migration> = {}
      for (const [name, m] of Object.entries({
        '001-initial': initial,
        '002-miners-dsl': minersDsl,
        '003-identity-fold': identityFold,
        '004-balanced-epochs': balancedEpochs,
        '005-operator': operator,
        '006-lease-indexes': leaseIndexes,
      })) {
        before[name] = { up: async (db) => void (await m.up(db, database.dialect)) }
      }
      const migrated = await new Migrator({
        db: database.db,
        provider: { getMigrations: async () => before },
      }).migrateToLatest()
      assert.equal(migrated.error, undefined)
      const db = database.db as unknown as import('kysely').Kysely<any>
      for (const hotkey of ['a', 'b']) {
        await db
          .insertInto('miners')
          .values({ hotkey, public_key: hotkey.repeat(64), created_at: 0, last_seen: 0 })
          .execute()
      }
      const { id } = await db
        .insertInto('algorithms')
        .values({
          task_type: TASK,
          algorithm_dsl: 'x',
          algorithm_hash: 'h',
          input_dim: 16,
          state: 'scored',
          consensus_score: 0.5,
          is_seed: 1,
          repeat: 'none',
          created_at: 0,
          created_window: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      for (const [miner, outcome] of [
        ['a', 'agree'],
        ['b', 'disagree'],
      ]) {
        await db
          .insertInto('evaluations')
          .values({
            algorithm_id: id,
            miner_hotkey: miner,
            assignment_id: 'old',
            score: 0.5,
            window_number: 0,
            created_at: 0,
            outcome,
          })
          .execute()
      }
      assert.deepEqual(await migrateToLatest(database), ['007-assignment-draws'])
      const miners = await database.db
        .selectFrom('miners')
        .select(['hotkey', 'draw', 'trust_agreements', 'trust_disagreements'])
        .orderBy('hotkey')
        .execute()
      assert.deepEqual(
        miners.map((m) => [m.hotkey, Number(m.trust_agreements), Number(m.trust_disagreements)]),
        [
          ['a', 1, 0],
          ['b', 0, 1],
        ],
      )
      const algorithms = await database.db.selectFrom('algorithms').select('draw').execute()
      for (const { draw } of [...miners, ...algorithms]) {
        assert.ok(BigInt(draw) >= 1n && BigInt(draw) < BigInt(DRAW_MODULUS), `draw ${draw}`)
      }
    } finally {
      await store.drop()
    }
  })
})
