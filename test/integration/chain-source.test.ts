import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ChainBlockSource } from '../../src/chain/chain-source.ts'
import { FakeChain, waitFor } from '../support/fake-chain.ts'
import { startTestPool, type TestPool } from '../support/pool.ts'

describe('chain block source', () => {
  const chain = new FakeChain(7200)
  let t: TestPool

  before(async () => {
    await chain.start()
    t = await startTestPool({ SUBTENSOR_CHAIN_ENDPOINT: chain.url })
  })
  // The fake chain's listening socket would keep the test process alive forever, so it is stopped even
  // when the pool never started (e.g. its database was unreachable).
  after(async () => {
    try {
      if (t !== undefined) await t.close()
    } finally {
      await chain.stop()
    }
  })

  test('follows new heads: /health reports the chain block, window and connection', async () => {
    await waitFor(() => t.pool.blocks.currentBlock() === 7200, 15_000)
    chain.produce()
    chain.produce()
    await waitFor(() => t.pool.blocks.currentBlock() === 7202)
    const health = (await t.app.inject('/health')).json()
    assert.equal(health.status, 'healthy')
    assert.equal(health.current_block, 7202)
    assert.equal(health.window_number, 20) // floor(7202 / 360)
    assert.equal(health.time_remaining_s, (7560 - 7202) * 12)
    assert.equal(health.tempo.source, 'chain')
    assert.equal(health.tempo.chain_connected, true)
    assert.equal(health.tempo.last_block_at, '2023-11-14T22:13:20Z')
  })

  test('survives the chain going away, reports it, and resumes when it is back', async () => {
    const port = chain.port
    await chain.stop()
    await waitFor(async () => (await t.app.inject('/health')).json().tempo.chain_connected === false)
    let health = await t.app.inject('/health')
    assert.equal(health.statusCode, 200, 'a short outage is not yet degraded')
    t.clock.advance(5 * 60 * 1000 + 1000)
    health = await t.app.inject('/health')
    assert.equal(health.statusCode, 503)
    assert.equal(health.json().status, 'degraded')
    assert.ok(health.json().current_block >= 7202 + 25, 'while disconnected the height is extrapolated from the clock')

    chain.height = 7300
    await chain.start(port)
    await waitFor(() => t.pool.blocks.status().connected, 15_000)
    chain.produce()
    await waitFor(() => t.pool.blocks.currentBlock() === 7301)
    health = await t.app.inject('/health')
    assert.equal(health.statusCode, 200)
    assert.equal(health.json().tempo.chain_connected, true)
  })
})

test('an unreachable endpoint never throws and retries with backoff', async () => {
  const warnings: number[] = []
  const source = new ChainBlockSource({
    endpoint: 'ws://127.0.0.1:1',
    clock: { now: () => Date.now() },
    blockTimeS: 12,
    minRetryMs: 20,
    maxRetryMs: 80,
    log: {
      warn: (obj) => {
        warnings.push((obj as { retryInMs: number }).retryInMs)
      },
      info: () => {},
    },
  })
  await source.start(300)
  await waitFor(() => warnings.length >= 4)
  await source.close()
  assert.deepEqual(warnings.slice(0, 4), [20, 40, 80, 80])
  assert.equal(source.currentBlock(), 0)
  assert.equal(source.status().connected, false)
  assert.equal(source.status().lastBlockAt, null)
})
