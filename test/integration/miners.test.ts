// Miner routes (SPEC §7): registration, stats, leaderboard and the payout recipient with its three
// compatibility aliases, as a miner client sees them.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeAddress } from '@polkadot/util-crypto'
import type { LightMyRequestResponse } from 'fastify'
import { keyFromSecret, signedHeaders, type MinerKey } from '../../src/crypto/keys.ts'
import { startTestPool, VECTOR_TIME_MS, type TestPool } from '../support/pool.ts'

const NOW_S = VECTOR_TIME_MS / 1000
const NOW_ISO = '2023-11-14T22:13:20Z'
const BLOCK_MS = 12_000

let miner: MinerKey
let other: MinerKey

before(async () => {
  miner = await keyFromSecret('bottom drive obey lake curtain smoke basket hold race lonely fit walk')
  other = await keyFromSecret('legal winner thank year wave sausage worth useful legal winner thank yellow')
})

const nowS = (tp: TestPool): number => Math.floor(tp.clock.now() / 1000)

const validationLocs = (res: LightMyRequestResponse): unknown[] => {
  assert.equal(res.statusCode, 422, res.body)
  const body = res.json() as { detail: Array<{ loc: unknown; msg: string; type: string }>; code: string }
  assert.equal(body.code, 'POOL_ERR_VALIDATION')
  assert.ok(Array.isArray(body.detail) && body.detail.length > 0)
  for (const item of body.detail) assert.equal(typeof item.msg, 'string')
  return body.detail.map((d) => d.loc)
}

describe('POST /api/v1/miners/register', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('first call → "registered" with every field, later calls → "refreshed" with last_seen moving', async () => {
    const first = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: signedHeaders(miner, NOW_S),
      payload: {},
    })
    assert.equal(first.statusCode, 200, first.body)
    assert.deepEqual(first.json(), {
      status: 'registered',
      hotkey: miner.address,
      reputation: 0,
      created_at: NOW_ISO,
      last_seen: NOW_ISO,
    })

    tp.clock.advance(60_000)
    const second = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: signedHeaders(miner, nowS(tp)),
      payload: {},
    })
    assert.equal(second.statusCode, 200, second.body)
    assert.deepEqual(second.json(), {
      status: 'refreshed',
      hotkey: miner.address,
      reputation: 0,
      created_at: NOW_ISO,
      last_seen: '2023-11-14T22:14:20Z',
    })
  })

  test('a legacy public_address (and other extra fields) in the body is ignored: the signer is registered', async () => {
    const res = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: signedHeaders(other, nowS(tp)),
      payload: { public_address: miner.address, signature: 'ab', message: 'auth:1' },
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().hotkey, other.address)
    assert.equal(res.json().status, 'registered')
  })

  test('no body, an empty body with a JSON content type, and `null` are all accepted', async () => {
    const noBody = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: signedHeaders(miner, nowS(tp)),
    })
    assert.equal(noBody.statusCode, 200, noBody.body)
    assert.equal(noBody.json().status, 'refreshed')
    for (const payload of ['', 'null', '{}']) {
      const res = await tp.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...signedHeaders(miner, nowS(tp)), 'content-type': 'application/json' },
        payload,
      })
      assert.equal(res.statusCode, 200, `${JSON.stringify(payload)}: ${res.body}`)
      assert.equal(res.json().hotkey, miner.address)
    }
  })

  test('a body that is not an object → 422 on the body', async () => {
    const res = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: signedHeaders(miner, nowS(tp)),
      payload: [1, 2],
    })
    assert.deepEqual(validationLocs(res), [['body']])
  })
})

describe('GET /api/v1/miners/stats', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool({ TASK_TYPES: 'cifar10_binary,mnist_binary' })
  })
  after(async () => {
    await tp.close()
  })

  test('a new miner gets every SPEC field with zeros, and the pool section', async () => {
    const res = await tp.app.inject({ url: '/api/v1/miners/stats', headers: signedHeaders(miner, NOW_S) })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), {
      hotkey: miner.address,
      reputation: 0,
      epoch_points: 0,
      evaluations_submitted: 0,
      agreements: 0,
      disagreements: 0,
      evolutions: 0,
      scored_evolutions: 0,
      credited_units: 0,
      claimed_units: 0,
      claimable_units: 0,
      credit_status: 'no credit yet',
      awaiting_recipient_units: 0,
      recipient_coldkey: null,
      recipient_updated_at: null,
      created_at: NOW_ISO,
      last_seen: NOW_ISO,
      active_assignment: null,
      pool: {
        miners_total: 1,
        miners_active_last_hour: 1,
        window_number: 0,
        epoch: 0,
        sota: { cifar10_binary: 0, mnist_binary: 0 },
      },
    })
  })

  test('the recipient shows in stats once set', async () => {
    const set = await tp.app.inject({
      method: 'PUT',
      url: '/api/v1/miners/recipient-coldkey',
      headers: signedHeaders(miner, NOW_S, other.address),
      payload: { recipient_coldkey: other.address },
    })
    assert.equal(set.statusCode, 200, set.body)
    const stats = (await tp.app.inject({ url: '/api/v1/miners/stats', headers: signedHeaders(miner, NOW_S) })).json()
    assert.equal(stats.recipient_coldkey, other.address)
    assert.equal(stats.recipient_updated_at, NOW_ISO)
  })

  test('the pool section follows the clock: window, epoch, miners active in the last hour', async () => {
    // Two hours later (600 blocks: window 1 of 360 blocks, epoch 1) only the miner asking now is active.
    tp.clock.advance(600 * BLOCK_MS)
    try {
      const res = await tp.app.inject({ url: '/api/v1/miners/stats', headers: signedHeaders(other, nowS(tp)) })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.equal(body.hotkey, other.address)
      assert.deepEqual(body.pool, {
        miners_total: 2,
        miners_active_last_hour: 1,
        window_number: 1,
        epoch: 1,
        sota: { cifar10_binary: 0, mnist_binary: 0 },
      })
      assert.equal(body.created_at, '2023-11-15T00:13:20Z')
    } finally {
      tp.clock.set(VECTOR_TIME_MS)
    }
  })

  test('unsigned → 401', async () => {
    const res = await tp.app.inject({ url: '/api/v1/miners/stats' })
    assert.equal(res.statusCode, 401)
    assert.deepEqual(res.json(), { detail: 'missing X-Key header', code: 'POOL_ERR_AUTH_MISSING_HEADER' })
  })
})

describe('GET /api/v1/miners/leaderboard', () => {
  let tp: TestPool
  const keys: MinerKey[] = []
  before(async () => {
    tp = await startTestPool()
    for (let i = 0; i < 55; i++) {
      const key = await keyFromSecret(`//leaderboard-${i}`)
      keys.push(key)
      const res = await tp.app.inject({ url: '/api/v1/miners/stats', headers: signedHeaders(key, NOW_S) })
      assert.equal(res.statusCode, 200, res.body)
    }
    // Reputation is what window closing writes; give a few miners some directly.
    const reputations = [7.5, 3, 12.25, 3]
    for (const [i, reputation] of reputations.entries()) {
      await tp.pool.database.db
        .updateTable('miners')
        .set({ reputation })
        .where('hotkey', '=', keys[i]!.address)
        .execute()
    }
  })
  after(async () => {
    await tp.close()
  })

  test('highest reputation first, ties by hotkey, ranks from 1, default limit 50', async () => {
    const res = await tp.app.inject({ url: '/api/v1/miners/leaderboard' })
    assert.equal(res.statusCode, 200, res.body)
    const body = res.json() as {
      miners: Array<{ rank: number; hotkey: string; reputation: number; created_at: string; last_seen: string }>
      count: number
    }
    assert.equal(body.count, 50)
    assert.equal(body.miners.length, 50)
    assert.deepEqual(
      body.miners.map((m) => m.rank),
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    const tied = [keys[1]!.address, keys[3]!.address].sort()
    assert.deepEqual(
      body.miners.slice(0, 4).map((m) => [m.hotkey, m.reputation]),
      [
        [keys[2]!.address, 12.25],
        [keys[0]!.address, 7.5],
        [tied[0], 3],
        [tied[1], 3],
      ],
    )
    const rest = body.miners.slice(4)
    assert.ok(rest.every((m) => m.reputation === 0))
    assert.deepEqual(
      rest.map((m) => m.hotkey),
      [...rest.map((m) => m.hotkey)].sort(),
    )
    assert.deepEqual(Object.keys(body.miners[0]!).sort(), ['created_at', 'hotkey', 'last_seen', 'rank', 'reputation'])
    assert.equal(body.miners[0]!.created_at, NOW_ISO)
  })

  test('limit bounds: 1 and 200 are accepted', async () => {
    const one = (await tp.app.inject({ url: '/api/v1/miners/leaderboard?limit=1' })).json()
    assert.deepEqual(
      one.miners.map((m: { hotkey: string }) => m.hotkey),
      [keys[2]!.address],
    )
    assert.equal(one.count, 1)
    const all = await tp.app.inject({ url: '/api/v1/miners/leaderboard?limit=200' })
    assert.equal(all.statusCode, 200)
    assert.equal(all.json().count, 55)
  })

  for (const limit of ['0', '201', 'abc', '-1', '1.5', '']) {
    test(`limit=${JSON.stringify(limit)} → 422 at ['query','limit']`, async () => {
      const res = await tp.app.inject({ url: `/api/v1/miners/leaderboard?limit=${limit}` })
      assert.deepEqual(validationLocs(res), [['query', 'limit']])
    })
  }
})

const RECIPIENT_ROUTES: Array<{ method: 'PUT' | 'POST'; url: string }> = [
  { method: 'PUT', url: '/api/v1/miners/recipient-coldkey' },
  { method: 'POST', url: '/api/v1/miners/recipient-coldkey' },
  { method: 'POST', url: '/api/v1/miners/coldkey_address/update' },
  { method: 'POST', url: '/coldkey_address/update' },
]

describe('recipient coldkey updates (PUT and its three aliases)', () => {
  let tp: TestPool
  let recipients: string[]
  before(async () => {
    tp = await startTestPool()
    recipients = await Promise.all(
      RECIPIENT_ROUTES.map(async (_, i) => (await keyFromSecret(`//recipient-${i}`)).address),
    )
  })
  after(async () => {
    await tp.close()
  })

  for (const [i, route] of RECIPIENT_ROUTES.entries()) {
    test(`${route.method} ${route.url} → 200 success with the same shape; lookups agree`, async () => {
      const recipient = recipients[i]!
      tp.clock.set(VECTOR_TIME_MS + i * 1000)
      const res = await tp.app.inject({
        method: route.method,
        url: route.url,
        headers: signedHeaders(miner, nowS(tp), recipient),
        payload: { recipient_coldkey: recipient },
      })
      assert.equal(res.statusCode, 200, res.body)
      const updatedAt = new Date(tp.clock.now()).toISOString().replace('.000Z', 'Z')
      assert.deepEqual(res.json(), {
        status: 'success',
        miner_hotkey: miner.address,
        recipient_coldkey: recipient,
        coldkey_address: recipient,
        updated_at: updatedAt,
      })

      const own = await tp.app.inject({
        url: '/api/v1/miners/recipient-coldkey',
        headers: signedHeaders(miner, nowS(tp)),
      })
      assert.equal(own.statusCode, 200, own.body)
      assert.deepEqual(own.json(), { miner_hotkey: miner.address, recipient_coldkey: recipient, updated_at: updatedAt })
      const pub = await tp.app.inject({ url: `/api/v1/miners/recipient-coldkey/${miner.address}` })
      assert.equal(pub.statusCode, 200, pub.body)
      assert.deepEqual(pub.json(), own.json())
    })
  }

  for (const route of RECIPIENT_ROUTES) {
    test(`${route.method} ${route.url} accepts the legacy body field coldkey_address`, async () => {
      const recipient = other.address
      const res = await tp.app.inject({
        method: route.method,
        url: route.url,
        headers: signedHeaders(miner, nowS(tp), recipient),
        payload: { coldkey_address: recipient },
      })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().status, 'success')
      assert.equal(res.json().recipient_coldkey, recipient)
      assert.equal(res.json().coldkey_address, recipient)
      assert.equal(
        (await tp.app.inject({ url: `/api/v1/miners/recipient-coldkey/${miner.address}` })).json().recipient_coldkey,
        recipient,
      )
    })

    test(`${route.method} ${route.url}: invalid or missing recipient → 422 naming the field`, async () => {
      const signed = (recipient: string): Record<string, string> => signedHeaders(miner, nowS(tp), recipient)
      const cases: Array<[unknown, string[]]> = [
        [{ recipient_coldkey: 'not-an-address' }, ['body', 'recipient_coldkey']],
        [{ recipient_coldkey: encodeAddress(other.publicKey, 0) }, ['body', 'recipient_coldkey']],
        [{ coldkey_address: 'not-an-address' }, ['body', 'coldkey_address']],
        [{ recipient_coldkey: 42 }, ['body', 'recipient_coldkey']],
        [{}, ['body', 'recipient_coldkey']],
        [{ recipient_coldkey: '   ' }, ['body', 'recipient_coldkey']],
        [{ recipient_coldkey: null }, ['body', 'recipient_coldkey']],
      ]
      for (const [payload, loc] of cases) {
        const recipient =
          (payload as Record<string, unknown>).recipient_coldkey ?? (payload as Record<string, unknown>).coldkey_address
        const res = await tp.app.inject({
          method: route.method,
          url: route.url,
          headers: signed(String(recipient ?? '')),
          payload: payload as object,
        })
        assert.deepEqual(validationLocs(res), [loc], JSON.stringify(payload))
      }
      const noBody = await tp.app.inject({ method: route.method, url: route.url, headers: signed('') })
      assert.deepEqual(validationLocs(noBody), [['body', 'recipient_coldkey']])
      assert.equal(noBody.json().detail[0].type, 'missing')
      const invalid = await tp.app.inject({
        method: route.method,
        url: route.url,
        headers: signed('x'),
        payload: { recipient_coldkey: 'x' },
      })
      assert.match(invalid.json().detail[0].msg, /valid SS58 address/)
    })

    test(`${route.method} ${route.url} unsigned → 401`, async () => {
      const res = await tp.app.inject({
        method: route.method,
        url: route.url,
        payload: { recipient_coldkey: other.address },
      })
      assert.equal(res.statusCode, 401)
      assert.deepEqual(res.json(), { detail: 'missing X-Key header', code: 'POOL_ERR_AUTH_MISSING_HEADER' })
    })
  }
})

describe('recipient lookups', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('GET own recipient (signed) before any update → null, and registers the miner', async () => {
    const res = await tp.app.inject({ url: '/api/v1/miners/recipient-coldkey', headers: signedHeaders(miner, NOW_S) })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), { miner_hotkey: miner.address, recipient_coldkey: null, updated_at: null })
    const pub = await tp.app.inject({ url: `/api/v1/miners/recipient-coldkey/${miner.address}` })
    assert.deepEqual(pub.json(), { miner_hotkey: miner.address, recipient_coldkey: null, updated_at: null })
  })

  test('GET own recipient unsigned → 401', async () => {
    const res = await tp.app.inject({ url: '/api/v1/miners/recipient-coldkey' })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json().code, 'POOL_ERR_AUTH_MISSING_HEADER')
  })

  test('public lookup of an unknown hotkey → 404 POOL_ERR_MINER_NOT_FOUND', async () => {
    for (const hotkey of [other.address, 'not-a-hotkey']) {
      const res = await tp.app.inject({ url: `/api/v1/miners/recipient-coldkey/${hotkey}` })
      assert.equal(res.statusCode, 404, res.body)
      assert.deepEqual(res.json(), { detail: `miner ${hotkey} not found`, code: 'POOL_ERR_MINER_NOT_FOUND' })
    }
  })

  test('public lookup of an overlong hotkey → 422 on the path', async () => {
    const res = await tp.app.inject({ url: `/api/v1/miners/recipient-coldkey/${'5'.repeat(65)}` })
    assert.deepEqual(validationLocs(res), [['path', 'miner_hotkey']])
  })
})
