/**
 * A dozen simulated miners (real sr25519 keys, every request signed) mine for three windows: nine honest
 * evaluators report each algorithm's hidden true score (plus tiny noise), three liars report random
 * scores, and four of the honest miners also evolve the best seed they are shown (twice a window) into
 * variants whose hidden score is higher (one of them sometimes lower). Leases and submissions go on until
 * no miner gets any work, then the window closes. The pool must end up rewarding the honest, exposing the
 * liars and tracking the improvements. The game is deterministic; E2E_SEED replays another one.
 */
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { startTestPool, WINDOW_MS, type TestPool } from '../support/pool.ts'
import { TestMiner, evolvedProgram, type LeaseBody } from '../support/miner.ts'

const WINDOWS = 3
const HONEST = 9
const LIARS = 3
const EVOLVERS = 4
const MAX_ROUNDS = 60
/**
 * n = 5, k = 3 rather than the default 3 / 2: with a quarter of the miners lying at random, two liars
 * landing close together would decide (and could fake a SOTA) a 3-sample often enough to turn per-miner
 * assertions into luck. An operator with a dozen miners can afford five evaluations per algorithm.
 */
const CONSENSUS = { CONSENSUS_SAMPLE_SIZE: '5', CONSENSUS_THRESHOLD: '3' }
const EVOLUTIONS_PER_WINDOW = 2

/** Deterministic random numbers in [0, 1) (SHA-256 of seed and counter), so every run and both stores play the same game. */
function prng(seed: number): () => number {
  let counter = 0
  return () => createHash('sha256').update(`${seed}:${counter++}`).digest().readUIntBE(0, 6) / 2 ** 48
}

function shuffled<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

interface Stats {
  reputation: number
  agreements: number
  disagreements: number
  evaluations_submitted: number
  evolutions: number
  scored_evolutions: number
}

describe('mining end to end', () => {
  it('honest miners earn reputation, liars are exposed, evolutions move SOTA up', async () => {
    const t: TestPool = await startTestPool(CONSENSUS)
    try {
      const rng = prng(Number(process.env.E2E_SEED ?? 20261129))
      const miners = await TestMiner.many(t.app, HONEST + LIARS, 'e2e')
      const honest = miners.slice(0, HONEST)
      const liars = miners.slice(HONEST)
      const evolvers = honest.slice(0, EVOLVERS)
      const isLiar = new Set(liars.map((m) => m.hotkey))

      // Hidden true scores: seeds get fixed ones, evolutions their parent's plus an improvement.
      const truth = new Map<number, number>()
      const seeds = await t.pool.database.db
        .selectFrom('algorithms')
        .select('id')
        .where('is_seed', '=', 1n)
        .orderBy('id')
        .execute()
      const seedTruth = [0.32, 0.41, 0.36, 0.45, 0.3, 0.38, 0.34, 0.4]
      seeds.forEach((s, i) => {
        truth.set(Number(s.id), seedTruth[i % seedTruth.length]!)
      })
      const bestSeedTruth = Math.max(...seeds.map((s) => truth.get(Number(s.id))!))
      const trueScore = (id: number): number => {
        const value = truth.get(id)
        if (value === undefined) throw new Error(`no hidden score for algorithm ${id}`)
        return value
      }
      const report = (miner: TestMiner, id: number): number => {
        if (isLiar.has(miner.hotkey)) return Math.round(rng() * 1000) / 1000
        const noisy = trueScore(id) + (rng() - 0.5) * 0.008
        return Math.min(1, Math.max(0, noisy))
      }

      let programs = 0
      const sotaAfterWindow: number[] = []
      for (let window = 0; window < WINDOWS; window++) {
        const evolved = new Map<string, number>()
        let rounds = 0
        for (; rounds < MAX_ROUNDS; rounds++) {
          let work = 0
          for (const miner of shuffled(miners, rng)) {
            const response = await miner.lease({ eval_batch_size: 2, seed_batch_size: 4, gossip_limit: 5 })
            if (response.statusCode === 404) continue
            assert.equal(response.statusCode, 200, response.body)
            const lease = response.json() as LeaseBody
            assert.equal(lease.window_number, window)
            const evaluations = lease.evaluate_algorithms.map((a) => ({
              algorithm_id: a.id,
              score: report(miner, a.id),
            }))
            const evolutions: Array<{ parent_algorithm_ids: number[]; algorithm_dsl: string }> = []
            let pendingTruth: number | undefined
            if (evolvers.includes(miner) && (evolved.get(miner.hotkey) ?? 0) < EVOLUTIONS_PER_WINDOW) {
              evolved.set(miner.hotkey, (evolved.get(miner.hotkey) ?? 0) + 1)
              const parent = lease.seed_algorithms[0]!
              // The last evolver is clumsy: its variants are sometimes worse than their parent.
              const delta = miner === evolvers[EVOLVERS - 1] && rng() < 0.5 ? -0.03 : 0.01 + rng() * 0.02
              pendingTruth = Math.min(0.99, Math.max(0.01, trueScore(parent.id) + delta))
              evolutions.push({ parent_algorithm_ids: [parent.id], algorithm_dsl: evolvedProgram(programs++) })
            }
            const submitted = await miner.submitLeaseOk(lease.lease_id, { evaluations, evolutions, iterations: 100 })
            assert.equal(submitted.evaluations_accepted, evaluations.length)
            assert.equal(submitted.evolutions_accepted, evolutions.length)
            if (pendingTruth !== undefined) truth.set(submitted.new_algorithm_ids[0]!, pendingTruth)
            work += evaluations.length + evolutions.length
          }
          if (work === 0) break
          // Time passes between rounds, so work offered to a few miners first is offered to more, and the
          // background jobs judge parked samples again.
          t.clock.advance(30_000)
          await t.pool.work.rejudgeParked()
        }
        assert.ok(rounds < MAX_ROUNDS, `window ${window} ran out of work within ${MAX_ROUNDS} rounds`)
        t.clock.advance(WINDOW_MS)
        assert.deepEqual(await t.pool.windows.closeEnded(), [window])
        sotaAfterWindow.push((await t.app.inject({ method: 'GET', url: '/api/v1/results/sota' })).json().sota_threshold)
      }

      const db = t.pool.database.db
      // Everything that could be decided was: no algorithm is left half evaluated with miners to spare.
      const states = await db
        .selectFrom('algorithms')
        .select(['id', 'state', 'consensus_score', 'miner_hotkey', 'is_seed', 'decided_window'])
        .execute()
      assert.ok(
        states.every((a) => a.state !== 'evaluating'),
        `undecided: ${states
          .filter((a) => a.state === 'evaluating')
          .map((a) => a.id)
          .join(', ')}`,
      )
      // Where honest miners were the majority of the deciding votes, the consensus is (nearly) the hidden
      // score and they all agreed. (Liars may land in a cluster by luck, or agree with each other where they
      // were the majority.)
      const votes = await db
        .selectFrom('evaluations')
        .select(['algorithm_id', 'miner_hotkey', 'outcome'])
        .where('outcome', 'is not', null)
        .execute()
      let honestMajorities = 0
      let honestBest: { id: bigint; score: number; author: string | null } | undefined
      for (const a of states) {
        const deciding = votes.filter((v) => v.algorithm_id === a.id)
        if (deciding.filter((v) => !isLiar.has(v.miner_hotkey)).length < Number(CONSENSUS.CONSENSUS_THRESHOLD)) continue
        honestMajorities++
        if (a.consensus_score !== null && (honestBest === undefined || a.consensus_score > honestBest.score)) {
          honestBest = { id: a.id, score: a.consensus_score, author: a.miner_hotkey }
        }
        assert.equal(a.state, 'scored', `algorithm ${a.id} decided by an honest majority`)
        assert.ok(
          Math.abs(a.consensus_score! - trueScore(Number(a.id))) < 0.01,
          `algorithm ${a.id}: consensus ${a.consensus_score}, truth ${trueScore(Number(a.id))}`,
        )
        for (const v of deciding.filter((x) => !isLiar.has(x.miner_hotkey))) assert.equal(v.outcome, 'agree')
      }
      assert.ok(
        honestMajorities >= states.length / 2,
        `${honestMajorities} of ${states.length} decided by honest majorities`,
      )

      const stats = new Map<string, Stats>()
      for (const m of miners) {
        const response = await m.stats()
        assert.equal(response.statusCode, 200)
        stats.set(m.hotkey, response.json() as Stats)
      }
      const bestLiar = Math.max(...liars.map((l) => stats.get(l.hotkey)!.reputation))
      for (const h of honest) {
        const s = stats.get(h.hotkey)!
        assert.ok(s.reputation > 0, `honest ${h.hotkey} has reputation ${s.reputation}`)
        assert.ok(s.reputation > bestLiar, `honest ${h.hotkey} (${s.reputation}) above every liar (${bestLiar})`)
        assert.ok(
          s.agreements > s.disagreements,
          `honest ${h.hotkey}: ${s.agreements} agreements, ${s.disagreements} disagreements`,
        )
      }
      for (const l of liars) {
        const s = stats.get(l.hotkey)!
        assert.ok(s.evaluations_submitted > 0)
        assert.ok(
          s.disagreements > s.agreements,
          `liar ${l.hotkey}: ${s.agreements} agreements, ${s.disagreements} disagreements`,
        )
      }
      // Reputation is exactly the sum of the stored window points.
      const sums = await db
        .selectFrom('window_points')
        .select(['miner_hotkey', (eb) => eb.fn.sum<number>('points').as('p')])
        .groupBy('miner_hotkey')
        .execute()
      for (const row of sums) assert.ok(Math.abs(Number(row.p) - stats.get(row.miner_hotkey)!.reputation) < 1e-9)
      // Evolvers earned for their scored improvements.
      for (const e of evolvers.slice(0, EVOLVERS - 1))
        assert.ok(stats.get(e.hotkey)!.scored_evolutions > 0, `evolver ${e.hotkey} had an evolution scored`)

      // SOTA moved up with the evolutions: the best honestly scored algorithm is an evolution that beats
      // every seed, and SOTA is at least that (it is the best consensus score of all).
      const sota = (await t.app.inject({ method: 'GET', url: '/api/v1/results/sota' })).json()
      assert.ok(honestBest !== undefined)
      assert.ok(
        evolvers.some((e) => e.hotkey === honestBest!.author),
        'the best honestly scored algorithm was evolved',
      )
      assert.ok(
        honestBest.score > bestSeedTruth + 0.01,
        `best honest score ${honestBest.score} beats the best seed (${bestSeedTruth})`,
      )
      assert.equal(
        sota.sota_threshold,
        Math.max(...states.filter((a) => a.state === 'scored').map((a) => a.consensus_score!)),
      )
      assert.ok(sota.sota_threshold >= honestBest.score)
      assert.ok(sotaAfterWindow[0]! >= bestSeedTruth - 0.01, `SOTA after window 0: ${sotaAfterWindow[0]}`)
      // After each window SOTA is the best of what it was and what the window scored.
      for (let w = 0; w < WINDOWS; w++) {
        const scoredIn = states
          .filter((a) => a.state === 'scored' && Number(a.decided_window) === w)
          .map((a) => a.consensus_score!)
        assert.equal(
          sotaAfterWindow[w],
          Math.max(w === 0 ? 0 : sotaAfterWindow[w - 1]!, ...scoredIn),
          `SOTA after window ${w}`,
        )
      }
      assert.ok(sota.sota_threshold > sotaAfterWindow[0]!, `SOTA ${JSON.stringify(sotaAfterWindow)} moved up`)

      // The leaderboard's top entries are the honest miners.
      const board = (
        await t.app.inject({ method: 'GET', url: `/api/v1/miners/leaderboard?limit=${HONEST + LIARS}` })
      ).json()
      const top = board.miners.slice(0, HONEST).map((m: { hotkey: string }) => m.hotkey)
      assert.deepEqual([...top].sort(), honest.map((h) => h.hotkey).sort())
      assert.deepEqual(
        board.miners.map((m: { rank: number }) => m.rank),
        board.miners.map((_: unknown, i: number) => i + 1),
      )
    } finally {
      await t.close()
    }
  })
})
