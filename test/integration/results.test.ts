/**
 * SOTA and results (SPEC §6.3): the SOTA endpoint, verification by allowed hotkeys, and the list of
 * verified results with its filters.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keyFromSecret } from '../../src/crypto/keys.ts'
import { BUILT_IN_SEED_DIR } from '../../src/services/algorithms.ts'
import { type TestPool, WINDOW_MS, withTestPool as withPool, seedIds } from '../support/pool.ts'
import { TestMiner, evolvedProgram } from '../support/miner.ts'

const TASK = 'cifar10_binary'
const OTHER_TASK = 'mnist_binary'
const VERIFIER_SECRET = '//verifier'
const RESULT_KEYS = [
  'algorithm_dsl',
  'algorithm_hash',
  'consensus_score',
  'id',
  'miner_hotkey',
  'task_type',
  'verified_at',
  'verified_by',
]

/** A pool with two task types (both seeded with copies of the built-in seeds) and one allowed verifier. */
async function withResultsPool(
  fn: (t: TestPool, verifier: TestMiner, miners: TestMiner[]) => Promise<void>,
): Promise<void> {
  const seedDir = mkdtempSync(join(tmpdir(), 'sotapool-seeds-'))
  try {
    for (const type of [TASK, OTHER_TASK])
      cpSync(join(BUILT_IN_SEED_DIR, TASK), join(seedDir, type), { recursive: true })
    const verifierKey = await keyFromSecret(VERIFIER_SECRET)
    const second = await keyFromSecret('//verifier2')
    await withPool(
      {
        SEED_DIR: seedDir,
        TASK_TYPES: `${TASK},${OTHER_TASK}`,
        VERIFIER_HOTKEYS: `${verifierKey.address}, ${second.address}`,
      },
      async (t) => {
        const verifier = await TestMiner.create(t.app, VERIFIER_SECRET)
        await fn(t, verifier, await TestMiner.many(t.app, 3))
      },
    )
  } finally {
    rmSync(seedDir, { recursive: true, force: true })
  }
}

/** Three miners agree on every score: each algorithm is scored with exactly that score. */
async function scoreAll(miners: TestMiner[], scores: Record<number, number>, taskType = TASK): Promise<void> {
  for (const m of miners.slice(0, 3)) await m.evaluate(scores, { lease: { task_type: taskType } })
}

const sota = async (t: TestPool, query = '') =>
  await t.app.inject({ method: 'GET', url: `/api/v1/results/sota${query}` })

describe('GET /api/v1/results/sota', () => {
  it('is 0 with nulls before anything is scored (public, default task type)', async () => {
    await withPool({}, async (t) => {
      for (const query of ['', `?task_type=${TASK}`]) {
        const response = await sota(t, query)
        assert.equal(response.statusCode, 200)
        assert.deepEqual(response.json(), {
          task_type: TASK,
          sota_threshold: 0,
          algorithm_id: null,
          miner_hotkey: null,
          window_number: null,
          updated_at: null,
        })
      }
    })
  })

  it('follows the best consensus score, with its algorithm, author, window and time', async () => {
    await withPool({}, async (t) => {
      const miners = await TestMiner.many(t.app, 4)
      const [s1, s2] = await seedIds(t, TASK)
      await scoreAll(miners, { [s1!]: 0.5, [s2!]: 0.7 })
      assert.deepEqual((await sota(t)).json(), {
        task_type: TASK,
        sota_threshold: 0.7,
        algorithm_id: s2,
        miner_hotkey: null,
        window_number: 0,
        updated_at: '2023-11-14T22:13:20Z',
      })

      t.clock.advance(WINDOW_MS + 5_000)
      const author = miners[3]!
      const { submit } = await author.evaluate(
        {},
        { evolutions: [{ parent_algorithm_ids: [s2], algorithm_dsl: evolvedProgram(1) }] },
      )
      const better = submit.new_algorithm_ids[0]!
      const worse = (
        await author.evaluate({}, { evolutions: [{ parent_algorithm_ids: [s2], algorithm_dsl: evolvedProgram(2) }] })
      ).submit.new_algorithm_ids[0]!
      await scoreAll(miners, { [better]: 0.8, [worse]: 0.6 })
      const body = (await sota(t)).json()
      assert.deepEqual(body, {
        task_type: TASK,
        sota_threshold: 0.8,
        algorithm_id: better,
        miner_hotkey: author.hotkey,
        window_number: 1,
        updated_at: new Date(t.clock.now()).toISOString().replace('.000Z', 'Z'),
      })
      const stats = (await miners[0]!.stats()).json()
      assert.equal(stats.pool.sota[TASK], 0.8)
    })
  })

  it('answers per task type and refuses an unknown one with 422', async () => {
    await withResultsPool(async (t, _verifier, miners) => {
      const [m1] = await seedIds(t, OTHER_TASK)
      await scoreAll(miners, { [m1!]: 0.9 }, OTHER_TASK)
      assert.equal((await sota(t)).json().sota_threshold, 0)
      const other = (await sota(t, `?task_type=${OTHER_TASK}`)).json()
      assert.equal(other.task_type, OTHER_TASK)
      assert.equal(other.sota_threshold, 0.9)
      assert.equal(other.algorithm_id, m1)
      const unknown = await sota(t, '?task_type=imagenet')
      assert.equal(unknown.statusCode, 422)
      assert.deepEqual(unknown.json().detail[0].loc, ['query', 'task_type'])
    })
  })
})

describe('POST /api/v1/results/verify/{result_id}', () => {
  it('lets only VERIFIER_HOTKEYS verify (403 for others), 404 for unknown or unscored, and is idempotent', async () => {
    await withResultsPool(async (t, verifier, miners) => {
      const [s1, s2] = await seedIds(t, TASK)
      await scoreAll(miners, { [s1!]: 0.5 })

      const refused = await miners[0]!.send('POST', `/api/v1/results/verify/${s1}`)
      assert.equal(refused.statusCode, 403)
      assert.equal(refused.json().code, 'POOL_ERR_NOT_VERIFIER')
      const unsigned = await t.app.inject({ method: 'POST', url: `/api/v1/results/verify/${s1}` })
      assert.equal(unsigned.statusCode, 401)

      for (const id of [999_999, s2!]) {
        const response = await verifier.send('POST', `/api/v1/results/verify/${id}`)
        assert.equal(response.statusCode, 404, `result ${id}`)
        assert.equal(response.json().code, 'POOL_ERR_RESULT_NOT_FOUND')
      }
      assert.equal((await verifier.send('POST', '/api/v1/results/verify/abc')).statusCode, 422)

      const first = await verifier.send('POST', `/api/v1/results/verify/${s1}`)
      assert.equal(first.statusCode, 200, first.body)
      const expected = {
        status: 'verified',
        result_id: s1,
        verified_at: '2023-11-14T22:13:20Z',
        verified_by: verifier.hotkey,
      }
      assert.deepEqual(first.json(), expected)
      t.clock.advance(60_000)
      const again = await verifier.send('POST', `/api/v1/results/verify/${s1}`)
      assert.deepEqual(again.json(), expected)
      const byOther = await (await TestMiner.create(t.app, '//verifier2')).send('POST', `/api/v1/results/verify/${s1}`)
      assert.equal(byOther.statusCode, 200)
      assert.deepEqual(byOther.json(), expected, 'the first verification is kept')
      const row = await t.pool.database.db
        .selectFrom('algorithms')
        .select(['verified_at', 'verified_by'])
        .where('id', '=', BigInt(s1!))
        .executeTakeFirstOrThrow()
      assert.equal(Number(row.verified_at), 1_700_000_000_000)
      assert.equal(row.verified_by, verifier.hotkey)
      // Refused or not, the unscored algorithm stays unverified.
      const unscored = await t.pool.database.db
        .selectFrom('algorithms')
        .select('verified_at')
        .where('id', '=', BigInt(s2!))
        .executeTakeFirstOrThrow()
      assert.equal(unscored.verified_at, null)
    })
  })

  it('refuses a rejected algorithm (404)', async () => {
    await withResultsPool(async (t, verifier, miners) => {
      const [s1] = await seedIds(t, TASK)
      for (const [i, m] of miners.entries()) await m.evaluate({ [s1!]: [0.1, 0.5, 0.9][i]! })
      const response = await verifier.send('POST', `/api/v1/results/verify/${s1}`)
      assert.equal(response.statusCode, 404)
    })
  })
})

describe('GET /api/v1/results/', () => {
  it('lists verified results only, newest first, with every field; with and without the trailing slash', async () => {
    await withResultsPool(async (t, verifier, miners) => {
      const [s1, s2, s3, s4] = await seedIds(t, TASK)
      const [m1] = await seedIds(t, OTHER_TASK)
      await scoreAll(miners, { [s1!]: 0.3, [s2!]: 0.5, [s3!]: 0.7, [s4!]: 0.9 })
      await scoreAll(miners, { [m1!]: 0.8 }, OTHER_TASK)
      for (const id of [s3!, s1!, m1!, s2!]) {
        t.clock.advance(1_000)
        assert.equal((await verifier.send('POST', `/api/v1/results/verify/${id}`)).statusCode, 200)
      }
      // s4 is scored but not verified: not listed.
      for (const url of ['/api/v1/results/', '/api/v1/results']) {
        const response = await miners[0]!.send('GET', url)
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
        const body = response.json()
        assert.equal(body.count, 4)
        assert.deepEqual(
          body.results.map((r: { id: number }) => r.id),
          [s2, m1, s1, s3],
        )
        for (const r of body.results) assert.deepEqual(Object.keys(r).sort(), RESULT_KEYS)
        const first = body.results[0]
        const row = await t.pool.database.db
          .selectFrom('algorithms')
          .selectAll()
          .where('id', '=', BigInt(s2!))
          .executeTakeFirstOrThrow()
        assert.deepEqual(first, {
          id: s2,
          task_type: TASK,
          consensus_score: 0.5,
          miner_hotkey: null,
          algorithm_hash: row.algorithm_hash,
          algorithm_dsl: row.algorithm_dsl,
          verified_at: new Date(Number(row.verified_at)).toISOString().replace('.000Z', 'Z'),
          verified_by: verifier.hotkey,
        })
      }
    })
  })

  it('filters by limit, min_score and task_type', async () => {
    await withResultsPool(async (t, verifier, miners) => {
      const [s1, s2, s3] = await seedIds(t, TASK)
      const [m1] = await seedIds(t, OTHER_TASK)
      await scoreAll(miners, { [s1!]: 0.3, [s2!]: 0.5, [s3!]: 0.7 })
      await scoreAll(miners, { [m1!]: 0.8 }, OTHER_TASK)
      for (const id of [s1!, s2!, s3!, m1!]) {
        t.clock.advance(1_000)
        await verifier.send('POST', `/api/v1/results/verify/${id}`)
      }
      const list = async (query: string): Promise<number[]> => {
        const response = await miners[1]!.send('GET', `/api/v1/results/${query}`)
        assert.equal(response.statusCode, 200, `${query}: ${response.body}`)
        assert.equal(response.json().count, response.json().results.length)
        return response.json().results.map((r: { id: number }) => r.id)
      }
      assert.deepEqual(await list('?limit=2'), [m1, s3])
      assert.deepEqual(await list('?min_score=0.5'), [m1, s3, s2])
      assert.deepEqual(await list('?min_score=0.75'), [m1])
      assert.deepEqual(await list(`?task_type=${TASK}`), [s3, s2, s1])
      assert.deepEqual(await list(`?task_type=${OTHER_TASK}&min_score=0.9`), [])
      assert.deepEqual(await list(`?task_type=${TASK}&min_score=0.4&limit=1`), [s3])
      for (const bad of ['?limit=0', '?limit=501', '?limit=x', '?min_score=2', '?min_score=-1']) {
        const response = await miners[1]!.send('GET', `/api/v1/results/${bad}`)
        assert.equal(response.statusCode, 422, bad)
        assert.equal(response.json().detail[0].loc[0], 'query')
      }
    })
  })

  it('requires a signature (401)', async () => {
    await withPool({}, async (t) => {
      for (const url of ['/api/v1/results/', '/api/v1/results']) {
        const response = await t.app.inject({ method: 'GET', url })
        assert.equal(response.statusCode, 401, url)
      }
    })
  })
})
