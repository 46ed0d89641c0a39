import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { signedHeaders } from '../../src/crypto/keys.ts'
import { TestMiner } from '../support/miner.ts'
import { loadConfig } from '../../src/config.ts'
import { startTestPool, TEST_ENV, type TestPool } from '../support/pool.ts'

describe('per-hotkey limit', () => {
  let t: TestPool
  before(async () => {
    t = await startTestPool({ RATE_LIMIT_PER_MINUTE: '3' })
  })
  after(async () => {
    await t.close()
  })

  test('a hotkey over its limit gets 429 with Retry-After; other hotkeys are unaffected', async () => {
    const [a, b] = await TestMiner.many(t.app, 2, 'limited')
    for (let i = 0; i < 3; i++) assert.equal((await a!.send('GET', '/api/v1/miners/stats')).statusCode, 200)
    const limited = await a!.send('GET', '/api/v1/miners/stats')
    assert.equal(limited.statusCode, 429)
    assert.equal(limited.json().code, 'POOL_ERR_RATE_LIMITED')
    assert.match(limited.json().detail, /hotkey/)
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    assert.equal((await b!.send('GET', '/api/v1/miners/stats')).statusCode, 200)
  })

  test("forged requests in another hotkey's name do not spend its budget", async () => {
    const [victim, attacker] = await TestMiner.many(t.app, 2, 'victim')
    const forged = { ...signedHeaders(attacker!.key, 1_700_000_000), 'X-Key': victim!.hotkey }
    for (let i = 0; i < 10; i++)
      assert.equal(
        (await t.app.inject({ method: 'GET', url: '/api/v1/miners/stats', headers: forged })).statusCode,
        401,
      )
    assert.equal((await victim!.send('GET', '/api/v1/miners/stats')).statusCode, 200)
  })
})

describe('per-IP limit', () => {
  let t: TestPool
  before(async () => {
    t = await startTestPool({ RATE_LIMIT_IP_PER_MINUTE: '5' })
  })
  after(async () => {
    await t.close()
  })

  test('an address over its limit gets 429 with Retry-After; health stays reachable', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await t.app.inject('/api/v1/miners/leaderboard')).statusCode, 200)
    const limited = await t.app.inject('/api/v1/miners/leaderboard')
    assert.equal(limited.statusCode, 429)
    assert.equal(limited.json().code, 'POOL_ERR_RATE_LIMITED')
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    assert.equal((await t.app.inject('/health')).statusCode, 200)
    assert.equal((await t.app.inject('/metrics')).statusCode, 429, '/metrics counts against the address like any route')
    assert.equal(
      (await t.app.inject({ url: '/api/v1/miners/leaderboard', remoteAddress: '10.1.2.3' })).statusCode,
      200,
      'another address has its own budget',
    )
    t.clock.advance(60_000)
    assert.equal((await t.app.inject('/api/v1/miners/leaderboard')).statusCode, 200, 'the next minute is allowed again')
  })
})

describe('/metrics token', () => {
  test('in production /metrics needs METRICS_TOKEN as a bearer token; production does not start without one', async () => {
    assert.throws(
      () => loadConfig({ ...TEST_ENV, ENVIRONMENT: 'production', MONITOR_TOKEN: 'monitor-secret' }),
      /METRICS_TOKEN must be set when ENVIRONMENT=production/,
    )
    const t = await startTestPool({
      ENVIRONMENT: 'production',
      METRICS_TOKEN: 'scrape-secret',
      MONITOR_TOKEN: 'monitor-secret',
    })
    try {
      for (const authorization of [
        undefined,
        'Bearer wrong',
        'scrape-secret',
        'Bearer scrape-secret2',
        'Basic scrape-secret',
      ]) {
        const r = await t.app.inject({ url: '/metrics', headers: authorization === undefined ? {} : { authorization } })
        assert.equal(r.statusCode, 401, String(authorization))
        assert.equal(r.json().code, 'POOL_ERR_METRICS_TOKEN')
      }
      const ok = await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-secret' } })
      assert.equal(ok.statusCode, 200)
      assert.match(ok.body, /# TYPE /)
    } finally {
      await t.close()
    }
  })

  test('in development /metrics is open unless METRICS_TOKEN is set', async () => {
    const open = await startTestPool()
    try {
      assert.equal((await open.app.inject('/metrics')).statusCode, 200)
    } finally {
      await open.close()
    }
    const t = await startTestPool({ METRICS_TOKEN: 'dev-secret' })
    try {
      assert.equal((await t.app.inject('/metrics')).statusCode, 401)
      assert.equal(
        (await t.app.inject({ url: '/metrics', headers: { authorization: 'Bearer dev-secret' } })).statusCode,
        200,
      )
    } finally {
      await t.close()
    }
  })
})
