/**
 * `GET /api/v1/results/sota/history`: every scored algorithm of a task type in decision order, each with
 * the running best, over several windows of real consensus decisions; `task_type` and `limit`, and the
 * 422 answers to bad parameters.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BUILT_IN_SEED_DIR } from '../../src/services/algorithms.ts'
import { startTestPool, WINDOW_MS, type TestPool, seedIds } from '../support/pool.ts'
import { TestMiner, evolvedProgram } from '../support/miner.ts'

const TASK = 'cifar10_binary'
const OTHER_TASK = 'mnist_binary'

interface Point {
  window_number: number
  decided_at: string
  consensus_score: number
  algorithm_id: number
  sota: number
}

/** The API's time format: UTC seconds (the clock moves in whole seconds here). */
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')

const history = async (t: TestPool, query = '') =>
  await t.app.inject({ method: 'GET', url: `/api/v1/results/sota/history${query}` })

describe('GET /api/v1/results/sota/history', () => {
  const seedDir = mkdtempSync(join(tmpdir(), 'sotapool-seeds-'))
  let t: TestPool
  let expected: Point[] = []
  let otherExpected: Point[] = []

  before(async () => {
    for (const type of [TASK, OTHER_TASK])
      cpSync(join(BUILT_IN_SEED_DIR, TASK), join(seedDir, type), { recursive: true })
    t = await startTestPool({ SEED_DIR: seedDir, TASK_TYPES: `${TASK},${OTHER_TASK}` })
  })

  after(async () => {
    await t.close()
    rmSync(seedDir, { recursive: true, force: true })
  })

  it('is empty before anything is scored', async () => {
    for (const query of ['', `?task_type=${TASK}`, `?task_type=${OTHER_TASK}&limit=1`]) {
      const response = await history(t, query)
      assert.equal(response.statusCode, 200, query)
      assert.deepEqual(response.json(), { task_type: query.includes(OTHER_TASK) ? OTHER_TASK : TASK, points: [] })
    }
  })

  it('lists every scored algorithm in decision order with the running best, across windows', async () => {
    const miners = await TestMiner.many(t.app, 4, 'history')
    const [scorers, author] = [miners.slice(0, 3), miners[3]!]
    /** The three scorers agree on these scores: each algorithm is decided, scored, by the third. */
    const agree = async (scores: Record<number, number>, taskType = TASK): Promise<void> => {
      for (const m of scorers) await m.evaluate(scores, { lease: { task_type: taskType } })
    }
    const evolve = async (k: number, parent: number): Promise<number> =>
      (
        await author.evaluate(
          {},
          { evolutions: [{ parent_algorithm_ids: [parent], algorithm_dsl: evolvedProgram(k) }] },
        )
      ).submit.new_algorithm_ids[0]!
    const point = (window: number, at: number, id: number, score: number, sota: number): Point => ({
      window_number: window,
      decided_at: iso(at),
      consensus_score: score,
      algorithm_id: id,
      sota,
    })

    // Window 0: two seeds decided by one submission (same time, so id order), the second a new SOTA.
    const [s1, s2] = await seedIds(t, TASK)
    await agree({ [s1!]: 0.5, [s2!]: 0.7 })
    const at0 = t.clock.now()
    expected = [point(0, at0, s1!, 0.5, 0.5), point(0, at0, s2!, 0.7, 0.7)]

    // Window 1: an evolution below the SOTA, then one above it.
    t.clock.advance(WINDOW_MS + 5_000)
    const below = await evolve(1, s2!)
    const above = await evolve(2, s2!)
    await agree({ [below]: 0.6 })
    const at1 = t.clock.now()
    t.clock.advance(60_000)
    await agree({ [above]: 0.8 })
    const at1b = t.clock.now()
    expected.push(point(1, at1, below, 0.6, 0.7), point(1, at1b, above, 0.8, 0.8))

    // Window 2: one evolution the scorers disagree on (rejected: not a point), a new SOTA, two below it
    // after it, and a score of the other task type, which this task type's history never shows.
    t.clock.advance(WINDOW_MS)
    const disputed = await evolve(3, above)
    const best = await evolve(4, above)
    for (const [i, m] of scorers.entries()) await m.evaluate({ [disputed]: [0.1, 0.5, 0.9][i]! })
    await agree({ [best]: 0.9 })
    const at2 = t.clock.now()
    expected.push(point(2, at2, best, 0.9, 0.9))
    for (const [k, score] of [
      [5, 0.85],
      [6, 0.75],
    ] as const) {
      const id = await evolve(k, best)
      t.clock.advance(1_000)
      await agree({ [id]: score })
      expected.push(point(2, t.clock.now(), id, score, 0.9))
    }
    const [o1] = await seedIds(t, OTHER_TASK)
    t.clock.advance(1_000)
    await agree({ [o1!]: 0.95 }, OTHER_TASK)
    otherExpected = [point(2, t.clock.now(), o1!, 0.95, 0.95)]

    const state = await t.pool.database.db
      .selectFrom('algorithms')
      .select('state')
      .where('id', '=', BigInt(disputed))
      .executeTakeFirstOrThrow()
    assert.equal(state.state, 'rejected')

    for (const query of ['', `?task_type=${TASK}`, '?limit=500', '?limit=5000']) {
      const response = await history(t, query)
      assert.equal(response.statusCode, 200, query)
      assert.deepEqual(response.json(), { task_type: TASK, points: expected }, query)
    }
    // The SOTA route agrees with the last point.
    const sota = (await t.app.inject({ method: 'GET', url: '/api/v1/results/sota' })).json()
    assert.equal(sota.sota_threshold, expected.at(-1)!.sota)
    assert.equal(sota.algorithm_id, best)
  })

  it('filters by task type', async () => {
    assert.ok(otherExpected.length > 0, 'the decisions above ran')
    const other = await history(t, `?task_type=${OTHER_TASK}`)
    assert.equal(other.statusCode, 200)
    assert.deepEqual(other.json(), { task_type: OTHER_TASK, points: otherExpected })
  })

  it('keeps the newest points under a limit, their running best counting every earlier algorithm', async () => {
    assert.equal(expected.length, 7, 'the decisions above ran')
    for (const limit of [1, 2, 3, 7, 8]) {
      const response = await history(t, `?limit=${limit}`)
      assert.equal(response.statusCode, 200, `limit=${limit}`)
      assert.deepEqual(response.json().points, expected.slice(-limit), `limit=${limit}`)
    }
    // The newest two are below the SOTA, which they still show although its point is not among them.
    assert.deepEqual(
      (await history(t, '?limit=2')).json().points.map((p: Point) => [p.consensus_score, p.sota]),
      [
        [0.85, 0.9],
        [0.75, 0.9],
      ],
    )
  })

  it('refuses bad parameters with 422, naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['?task_type=imagenet', 'task_type'],
      [`?task_type=${'x'.repeat(65)}`, 'task_type'],
      ['?limit=0', 'limit'],
      ['?limit=5001', 'limit'],
      ['?limit=-1', 'limit'],
      ['?limit=1.5', 'limit'],
      ['?limit=abc', 'limit'],
    ]
    for (const [query, parameter] of cases) {
      const response = await history(t, query)
      assert.equal(response.statusCode, 422, query)
      const body = response.json()
      assert.equal(body.code, 'POOL_ERR_VALIDATION', query)
      assert.deepEqual(body.detail[0].loc, ['query', parameter], query)
    }
    assert.match((await history(t, '?task_type=imagenet')).json().detail[0].msg, /unknown task type "imagenet"/)
  })
})
