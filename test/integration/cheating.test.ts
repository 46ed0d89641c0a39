/**
 * The cheating simulator at a small size, on the store under test: it must see what each strategy does
 * to the pool (so the numbers in the README can be trusted), and replay a seed exactly.
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

  it('sees a coalition that lines up for its own evolutions: rejected honest programs and honest miners marked disagreeing', async () => {
    const r = await run({ population: { honest: 6, coalition: 3 }, windows: 3, seed: 7 })
    const coalition = byStrategy(r, 'coalition')
    assert.ok(coalition.evolutions > 0)
    // Rivals' evolutions reported as failed by two members decide them as rejected.
    assert.ok(r.honestRejected > 0, 'no honest program was rejected')
    assert.ok(r.honestMarkedDisagreeing > 0, 'no honest evaluator was marked disagreeing')
    assert.ok(r.fakeSotas >= 1, 'the coalition crowned no fake SOTA')
  })

  it('replays a seed exactly', async () => {
    const scenario = { population: { honest: 5, noisy: 2, liar: 1, coalition: 2 }, windows: 2, seed: 11 }
    assert.deepEqual(await run(scenario), await run(scenario))
  })
})
