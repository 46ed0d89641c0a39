/**
 * The cheating simulator at a small size, on the store under test: it must see what each strategy does
 * to the pool (so the numbers in the README can be trusted), show the defences holding at default settings
 * and failing without them, and replay a seed exactly.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { simulateCheating, type CheatingReport, type CheatingScenario } from '../../src/simulation/cheating.ts'
import { createTestDatabase } from '../support/database.ts'

async function run(scenario: Omit<CheatingScenario, 'database'>): Promise<CheatingReport> {
  const store = await createTestDatabase()
  try {
    return await simulateCheating({ ...scenario, database: store.database })
  } finally {
    await store.drop()
  }
}

const byStrategy = (r: CheatingReport, s: string) => r.strategies.find((x) => x.strategy === s)!

/** The pool as it was before the defences: plain 2-of-3, equal votes, work to whoever asks first. */
const PLAIN_K_OF_N = {
  CONSENSUS_MAX_SAMPLE_SIZE: '3',
  VOTE_WEIGHTING: 'equal',
  ASSIGNMENT_SPREAD: '0',
  ASSIGNMENT_SEPARATE_RECIPIENTS: 'false',
}

describe('the cheating simulator', () => {
  it('with honest miners only: no fake SOTA, no honest program rejected, nobody marked disagreeing, fair pay', async () => {
    const r = await run({ population: { honest: 8 }, windows: 3, seed: 3 })
    assert.ok(r.decided > 20, `${r.decided} algorithms decided`)
    assert.ok(r.honestEvolutions > 5, `${r.honestEvolutions} honest evolutions`)
    assert.equal(r.fakeSotas, 0)
    assert.equal(r.honestRejected, 0)
    assert.equal(r.honestMisscored, 0)
    assert.equal(r.honestMarkedDisagreeing, 0)
    assert.ok(Math.abs(r.honestPayoutRatio - 1) < 1e-6, `honest payout ratio ${r.honestPayoutRatio}`)
  })

  it('random liars are outvoted: they earn far below their share of the keys', async () => {
    const r = await run({ population: { honest: 8, liar: 2 }, windows: 3, seed: 5 })
    assert.ok(byStrategy(r, 'liar').pointsShare < 0.25 * byStrategy(r, 'liar').fairShare)
    assert.ok(byStrategy(r, 'liar').disagreements > byStrategy(r, 'liar').agreements)
    assert.ok(byStrategy(r, 'honest').pointsShare > byStrategy(r, 'honest').fairShare)
  })

  it('a coalition of a third of the evaluators gains nothing: no fake SOTA, no honest program rejected, no pay', async () => {
    const r = await run({ population: { honest: 12, noisy: 2, coalition: 7 }, windows: 3, seed: 7 })
    const coalition = byStrategy(r, 'coalition')
    assert.ok(coalition.evolutions > 0 || coalition.disagreements > 0, 'the coalition did not play')
    assert.equal(r.fakeSotas, 0)
    assert.equal(r.honestRejected, 0)
    assert.equal(r.honestMisscored, 0)
    assert.ok(coalition.payoutRatio < 0.2, `coalition payout ÷ fair ${coalition.payoutRatio}`)
    assert.ok(r.honestPayoutRatio >= 1, `honest payout ÷ fair ${r.honestPayoutRatio}`)
  })

  it('the same coalition against plain 2-of-3 consensus (the defences off) crowns a fake SOTA and rejects honest programs', async () => {
    const r = await run({ population: { honest: 12, noisy: 2, coalition: 7 }, windows: 3, seed: 7, env: PLAIN_K_OF_N })
    assert.ok(r.fakeSotas >= 1, 'no fake SOTA without the defences')
    assert.ok(r.honestRejected > 0, 'no honest program rejected without the defences')
    assert.ok(r.honestMarkedDisagreeing > 0, 'no honest evaluator marked disagreeing without the defences')
    assert.ok(
      byStrategy(r, 'coalition').payoutRatio > 1,
      'the coalition did not out-earn its share without the defences',
    )
  })

  it('a sybil operator’s keys, paid to one wallet, never evaluate one another’s programs', async () => {
    const store = await createTestDatabase()
    try {
      const r = await simulateCheating({
        population: { honest: 8, sybil: 4 },
        windows: 2,
        seed: 13,
        database: store.database,
      })
      assert.ok(byStrategy(r, 'sybil').evolutions > 0, 'the sybil keys evolved nothing')
      const own = await store.database.db
        .selectFrom('evaluations as e')
        .innerJoin('algorithms as a', 'a.id', 'e.algorithm_id')
        .innerJoin('miners as author', 'author.hotkey', 'a.miner_hotkey')
        .innerJoin('miners as evaluator', 'evaluator.hotkey', 'e.miner_hotkey')
        .select((eb) => eb.fn.countAll<bigint>().as('n'))
        .whereRef('author.recipient_coldkey', '=', 'evaluator.recipient_coldkey')
        .executeTakeFirstOrThrow()
      assert.equal(Number(own.n), 0)
      assert.equal(r.fakeSotas, 0)
    } finally {
      await store.drop()
    }
  })

  it('replays a seed exactly', async () => {
    const scenario = { population: { honest: 5, noisy: 2, liar: 1, coalition: 2 }, windows: 2, seed: 11 }
    assert.deepEqual(await run(scenario), await run(scenario))
  })
})
