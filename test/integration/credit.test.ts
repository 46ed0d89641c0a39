// Credit held for a miner without a recipient coldkey is shown as such: in the epoch metadata, the proof
// lookup, the miner's stats and the monitor summary; the undistributed budget is shown next to it.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { withTestPool } from '../support/pool.ts'
import { TestMiner } from '../support/miner.ts'
import { addPoints, closeThrough, craftMiner, randomAddress } from '../support/epochs.ts'

describe('credit waiting for a recipient', () => {
  it('is visible in the epoch, the proof lookup, the stats and the monitor, and becomes a leaf once a recipient is set', async () => {
    await withTestPool({ EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '2500' }, async (t) => {
      const withRecipient = await craftMiner(t.pool, { recipient: await randomAddress() })
      const miner = await TestMiner.create(t.app, '//credit-waiting')
      assert.equal((await miner.send('POST', '/api/v1/miners/register', {})).statusCode, 200)
      await addPoints(t.pool, 0, withRecipient.hotkey, 1)
      await addPoints(t.pool, 0, miner.hotkey, 1)
      assert.deepEqual(await closeThrough(t, 0), [0])

      // Each miner is capped at 25 % of the budget: 250 units each, 500 left undistributed.
      const meta = (await t.app.inject({ method: 'GET', url: '/claims/epoch/0' })).json()
      assert.equal(meta.num_of_leaves, 1)
      assert.equal(meta.epoch_units, 500)
      assert.equal(meta.undistributed_units, 500)
      assert.deepEqual(meta.awaiting_recipient, { miners: 1, units: 250 })

      const proof = await t.app.inject({ method: 'GET', url: `/claims/epoch/0/proof/${miner.hotkey}` })
      assert.equal(proof.statusCode, 404)
      assert.match(proof.json().detail, /credited 250 units, waiting for a recipient coldkey/)

      const stats = (await miner.stats()).json()
      assert.equal(stats.credit_status, 'credited, waiting for a recipient')
      assert.equal(stats.awaiting_recipient_units, 250)
      assert.equal(stats.credited_units, 250)

      const summary = (await t.app.inject({ method: 'GET', url: '/api/v1/monitor/summary' })).json()
      assert.equal(summary.credit.epoch, 0)
      assert.equal(summary.credit.undistributed_units, 500)
      assert.deepEqual(summary.credit.awaiting_recipient, {
        miners: 1,
        units: 250,
        hotkeys: [{ hotkey: miner.hotkey, credited_units: 250 }],
      })

      // With a recipient, the next epoch that closes puts the whole cumulative credit in a leaf.
      assert.equal((await miner.setRecipient(await randomAddress())).statusCode, 200)
      assert.match(
        (await miner.stats()).json().credit_status,
        /^recipient set, in the claim tree from the next epoch close/,
      )
      assert.deepEqual(await closeThrough(t, 1), [1])
      const next = (await t.app.inject({ method: 'GET', url: '/claims/epoch/1' })).json()
      assert.deepEqual(next.awaiting_recipient, { miners: 0, units: 0 })
      const leaf = (await t.app.inject({ method: 'GET', url: `/claims/epoch/1/proof/${miner.hotkey}` })).json()
      assert.equal(leaf.amount_units, 250)
      assert.equal((await miner.stats()).json().credit_status, 'in the claim tree')
      assert.equal((await miner.stats()).json().awaiting_recipient_units, 0)
    })
  })
})
