// Signed-wallet authentication (SPEC §2) through real routes: the shared vectors, every refusal with the
// detail a miner reads, the skew window, single use of state-changing signatures (also across two API
// processes sharing one database) and implicit registration.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeAddress } from '@polkadot/util-crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { buildApp, createFastify } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig } from '../../src/config.ts'
import { keyFromSecret, signedHeaders, type MinerKey } from '../../src/crypto/keys.ts'
import { PoolError } from '../../src/errors.ts'
import authPlugin from '../../src/plugins/auth.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { createSharedTestStore, testDialect } from '../support/database.ts'
import { startTestPool, VECTOR_TIME_MS, type TestPool } from '../support/pool.ts'
import { sharedTestdata } from '../support/shared-data.ts'

interface AuthCase {
  name: string
  headers: Record<'X-Key' | 'X-Timestamp' | 'X-Signature', string>
  message: string
  body?: { recipient_coldkey: string }
  valid: boolean
}
interface AuthVectors {
  keys: Record<'miner' | 'other', { mnemonic: string; address: string; public_key: string }>
  cases: AuthCase[]
}

const vectors = sharedTestdata('auth-vectors.json') as AuthVectors
const NOW_S = VECTOR_TIME_MS / 1000
const REGISTER = '/api/v1/miners/register'
const STATS = '/api/v1/miners/stats'
const RECIPIENT = '/api/v1/miners/recipient-coldkey'

let miner: MinerKey
let other: MinerKey

before(async () => {
  miner = await keyFromSecret(vectors.keys.miner.mnemonic)
  other = await keyFromSecret(vectors.keys.other.mnemonic)
})

function assertRefused(res: LightMyRequestResponse, code: string, detail: string | RegExp): void {
  assert.equal(res.statusCode, 401, res.body)
  const body = res.json() as { detail: string; code: string }
  assert.equal(body.code, code)
  if (typeof detail === 'string') assert.equal(body.detail, detail)
  else assert.match(body.detail, detail)
}

const register = async (app: FastifyInstance, headers: Record<string, string>): Promise<LightMyRequestResponse> =>
  await app.inject({ method: 'POST', url: REGISTER, headers, payload: {} })

describe('shared auth vectors through real routes', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  const walletCases = vectors.cases.filter((c) => c.body === undefined)
  const recipientCases = vectors.cases.filter((c) => c.body !== undefined)

  test('the vectors cover every kind of case the suite relies on', () => {
    assert.ok(walletCases.some((c) => c.valid) && walletCases.some((c) => !c.valid))
    assert.ok(recipientCases.some((c) => c.valid) && recipientCases.some((c) => !c.valid))
  })

  for (const vector of walletCases) {
    test(`wallet vector ${vector.name}: ${vector.valid ? '200' : '401 invalid signature'} on POST register`, async () => {
      const res = await register(tp.app, vector.headers)
      if (vector.valid) {
        assert.equal(res.statusCode, 200, res.body)
        const body = res.json()
        assert.equal(body.hotkey, vector.headers['X-Key'])
        assert.ok(body.status === 'registered' || body.status === 'refreshed')
      } else {
        assertRefused(
          res,
          'POOL_ERR_AUTH_BAD_SIGNATURE',
          'invalid signature: it does not verify for this hotkey over auth:{X-Timestamp}',
        )
      }
    })

    test(`wallet vector ${vector.name}: same answer on GET stats, repeatable`, async () => {
      for (let i = 0; i < 2; i++) {
        const res = await tp.app.inject({ method: 'GET', url: STATS, headers: vector.headers })
        if (vector.valid) {
          assert.equal(res.statusCode, 200, res.body)
          assert.equal(res.json().hotkey, vector.headers['X-Key'])
        } else {
          assertRefused(res, 'POOL_ERR_AUTH_BAD_SIGNATURE', /^invalid signature/)
        }
      }
    })
  }

  test('recipient vectors on PUT recipient-coldkey: the valid one sets the recipient, the other is refused', async () => {
    const ordered = [...recipientCases].sort((a, b) => Number(b.valid) - Number(a.valid))
    let inForce: string | null = null
    for (const vector of ordered) {
      const res = await tp.app.inject({ method: 'PUT', url: RECIPIENT, headers: vector.headers, payload: vector.body })
      if (vector.valid) {
        assert.equal(res.statusCode, 200, `${vector.name}: ${res.body}`)
        const body = res.json()
        assert.equal(body.status, 'success')
        assert.equal(body.miner_hotkey, vector.headers['X-Key'])
        assert.equal(body.recipient_coldkey, vector.body!.recipient_coldkey)
        inForce = vector.body!.recipient_coldkey
      } else {
        assertRefused(
          res,
          'POOL_ERR_AUTH_BAD_SIGNATURE',
          'invalid signature: it does not verify for this hotkey over recipient_coldkey:update:{X-Timestamp}:{recipient_coldkey}',
        )
      }
    }
    const lookup = await tp.app.inject({ url: `${RECIPIENT}/${vectors.keys.miner.address}` })
    assert.equal(lookup.statusCode, 200, lookup.body)
    assert.equal(lookup.json().recipient_coldkey, inForce, 'a refused update must not change the recipient')
  })
})

describe('refusals say what was wrong', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  for (const name of ['X-Key', 'X-Timestamp', 'X-Signature'] as const) {
    test(`missing ${name} → 401 naming the header (POST and GET)`, async () => {
      const headers: Record<string, string> = signedHeaders(miner, NOW_S)
      delete headers[name]
      assertRefused(await register(tp.app, headers), 'POOL_ERR_AUTH_MISSING_HEADER', `missing ${name} header`)
      assertRefused(
        await tp.app.inject({ url: STATS, headers }),
        'POOL_ERR_AUTH_MISSING_HEADER',
        `missing ${name} header`,
      )
      assertRefused(
        await register(tp.app, { ...signedHeaders(miner, NOW_S), [name]: '   ' }),
        'POOL_ERR_AUTH_MISSING_HEADER',
        `missing ${name} header`,
      )
    })
  }

  test('no header at all → 401 missing X-Key, and the miner is not registered', async () => {
    assertRefused(await register(tp.app, {}), 'POOL_ERR_AUTH_MISSING_HEADER', 'missing X-Key header')
    const board = await tp.app.inject({ url: '/api/v1/miners/leaderboard' })
    assert.equal(board.json().count, 0)
  })

  const badAddresses: Array<[string, () => string, RegExp]> = [
    ['garbage', () => 'not-an-address', /^invalid hotkey address: not an SS58 address$/],
    ['base58 but too short', () => '5Dfh', /^invalid hotkey address/],
    [
      'wrong checksum',
      () => {
        const address = vectors.keys.miner.address
        const last = address.at(-1) === 'V' ? 'W' : 'V'
        return address.slice(0, -1) + last
      },
      /^invalid hotkey address: .*checksum/i,
    ],
    [
      'polkadot prefix 0 for the same key',
      () => encodeAddress(miner.publicKey, 0),
      /^invalid hotkey address: .*expected 42, found 0/,
    ],
    [
      'kusama prefix 2 for the same key',
      () => encodeAddress(miner.publicKey, 2),
      /^invalid hotkey address: .*expected 42, found 2/,
    ],
  ]
  for (const [label, address, detail] of badAddresses) {
    test(`X-Key ${label} → 401 invalid hotkey address`, async () => {
      const res = await register(tp.app, { ...signedHeaders(miner, NOW_S), 'X-Key': address() })
      assertRefused(res, 'POOL_ERR_AUTH_BAD_ADDRESS', detail)
    })
  }

  const badTimestamps = ['abc', '-5', '1700000000.0', '1.7e9', '0x6553f100', '170000000000000000000', '', '+1700000000']
  for (const timestamp of badTimestamps.filter((t) => t !== '')) {
    test(`X-Timestamp "${timestamp}" → 401 invalid timestamp`, async () => {
      const headers = {
        'X-Key': miner.address,
        'X-Timestamp': timestamp,
        'X-Signature': miner.sign(`auth:${timestamp}`),
      }
      assertRefused(
        await register(tp.app, headers),
        'POOL_ERR_AUTH_BAD_TIMESTAMP',
        'invalid timestamp: X-Timestamp must be unix seconds as a decimal integer',
      )
    })
  }

  test('a 15-digit timestamp parses but is far in the future → 401 skew', async () => {
    const timestamp = '999999999999999'
    const headers = { 'X-Key': miner.address, 'X-Timestamp': timestamp, 'X-Signature': miner.sign(`auth:${timestamp}`) }
    assertRefused(
      await register(tp.app, headers),
      'POOL_ERR_AUTH_STALE_TIMESTAMP',
      /^timestamp outside the allowed skew: \d+ s in the future \(limit 300 s\)$/,
    )
  })

  test('a signature that is not 64 bytes of hex → 401 invalid signature, never 500', async () => {
    const good = signedHeaders(miner, NOW_S)['X-Signature']
    for (const signature of [
      'zz',
      good.slice(0, 126),
      `${good}00`,
      `0x${good.slice(2)}`,
      `${good.slice(0, 127)}g`,
      '0x',
    ]) {
      assertRefused(
        await register(tp.app, { ...signedHeaders(miner, NOW_S), 'X-Signature': signature }),
        'POOL_ERR_AUTH_BAD_SIGNATURE',
        'invalid signature: X-Signature must be 64 bytes of hex',
      )
    }
  })

  test('64 bytes that are no valid signature (all zero, all 0xff, flipped bit) → 401 invalid signature, never 500', async () => {
    const good = signedHeaders(miner, NOW_S)['X-Signature']
    const flipped = (Number.parseInt(good.slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0') + good.slice(2)
    for (const signature of ['00'.repeat(64), 'ff'.repeat(64), flipped]) {
      assertRefused(
        await register(tp.app, { ...signedHeaders(miner, NOW_S), 'X-Signature': signature }),
        'POOL_ERR_AUTH_BAD_SIGNATURE',
        /^invalid signature: it does not verify/,
      )
    }
  })

  test("a signature by another key → 401 invalid signature; the signing key's own header works", async () => {
    const headers = signedHeaders(other, NOW_S)
    assertRefused(
      await register(tp.app, { ...headers, 'X-Key': miner.address }),
      'POOL_ERR_AUTH_BAD_SIGNATURE',
      /^invalid signature/,
    )
    assert.equal((await register(tp.app, headers)).statusCode, 200)
  })

  test('refusals are counted by reason in /metrics', async () => {
    const text = (await tp.app.inject({ url: '/metrics' })).body
    for (const reason of ['missing_header', 'bad_address', 'bad_timestamp', 'stale_timestamp', 'bad_signature']) {
      assert.match(text, new RegExp(`sotapool_auth_failures_total\\{reason="${reason}"\\} [1-9]`), reason)
    }
  })
})

describe('timestamp skew window (AUTH_MAX_SKEW_S = 300)', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('a request signed 301 s ago (clock advanced) → 401 stale', async () => {
    const headers = signedHeaders(miner, NOW_S)
    tp.clock.advance(301_000)
    try {
      assertRefused(
        await register(tp.app, headers),
        'POOL_ERR_AUTH_STALE_TIMESTAMP',
        'timestamp outside the allowed skew: 301 s in the past (limit 300 s)',
      )
      assertRefused(await tp.app.inject({ url: STATS, headers }), 'POOL_ERR_AUTH_STALE_TIMESTAMP', /in the past/)
    } finally {
      tp.clock.set(VECTOR_TIME_MS)
    }
  })

  test('a shared vector still verifies after 300 s but not after 301 s', async () => {
    const vector = vectors.cases.find((c) => c.name === 'wallet-raw')!
    tp.clock.set(VECTOR_TIME_MS + 300_000)
    try {
      assert.equal((await tp.app.inject({ url: STATS, headers: vector.headers })).statusCode, 200)
      tp.clock.advance(1000)
      assertRefused(
        await tp.app.inject({ url: STATS, headers: vector.headers }),
        'POOL_ERR_AUTH_STALE_TIMESTAMP',
        /301 s in the past/,
      )
    } finally {
      tp.clock.set(VECTOR_TIME_MS)
    }
  })

  test('a timestamp 301 s in the future → 401 future', async () => {
    assertRefused(
      await register(tp.app, signedHeaders(miner, NOW_S + 301)),
      'POOL_ERR_AUTH_STALE_TIMESTAMP',
      'timestamp outside the allowed skew: 301 s in the future (limit 300 s)',
    )
  })

  test('exactly 300 s in the past and in the future are accepted', async () => {
    for (const ts of [NOW_S - 300, NOW_S + 300]) {
      const res = await register(tp.app, signedHeaders(miner, ts))
      assert.equal(res.statusCode, 200, `${ts}: ${res.body}`)
      assert.equal(res.json().hotkey, miner.address)
    }
  })

  test('AUTH_MAX_SKEW_S is honoured', async () => {
    const strict = await startTestPool({ AUTH_MAX_SKEW_S: '10' })
    try {
      assert.equal((await register(strict.app, signedHeaders(miner, NOW_S - 10))).statusCode, 200)
      assertRefused(
        await register(strict.app, signedHeaders(miner, NOW_S - 11)),
        'POOL_ERR_AUTH_STALE_TIMESTAMP',
        'timestamp outside the allowed skew: 11 s in the past (limit 10 s)',
      )
    } finally {
      await strict.close()
    }
  })
})

describe('single use of signatures on state-changing requests', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('the same signed POST twice → the second is 401 "signature already used"', async () => {
    const headers = signedHeaders(miner, NOW_S)
    const first = await register(tp.app, headers)
    assert.equal(first.statusCode, 200, first.body)
    assertRefused(await register(tp.app, headers), 'POOL_ERR_AUTH_REPLAY', 'signature already used')
  })

  test('other spellings of the same signature bytes are the same signature (0x, upper case)', async () => {
    const headers = signedHeaders(miner, NOW_S)
    assert.equal((await register(tp.app, headers)).statusCode, 200)
    const signature = headers['X-Signature']
    for (const spelling of [`0x${signature}`, signature.toUpperCase(), `0X${signature.toUpperCase()}`]) {
      assertRefused(
        await register(tp.app, { ...headers, 'X-Signature': spelling }),
        'POOL_ERR_AUTH_REPLAY',
        'signature already used',
      )
    }
  })

  test('the 0x-prefixed shared vector, then the same bytes without 0x → replay', async () => {
    const vector = vectors.cases.find((c) => c.name === 'wallet-0x-prefix')!
    assert.equal((await register(tp.app, vector.headers)).statusCode, 200)
    const bare = { ...vector.headers, 'X-Signature': vector.headers['X-Signature'].slice(2) }
    assertRefused(await register(tp.app, bare), 'POOL_ERR_AUTH_REPLAY', 'signature already used')
  })

  test('a signature used on one POST route is refused on another', async () => {
    const recipient = other.address
    const headers = signedHeaders(miner, NOW_S, recipient)
    const res = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers,
      payload: { recipient_coldkey: recipient },
    })
    assert.equal(res.statusCode, 200, res.body)
    for (const url of [RECIPIENT, '/api/v1/miners/coldkey_address/update', '/coldkey_address/update']) {
      assertRefused(
        await tp.app.inject({ method: 'POST', url, headers, payload: { recipient_coldkey: recipient } }),
        'POOL_ERR_AUTH_REPLAY',
        'signature already used',
      )
    }
  })

  test('a GET may repeat its signature, and that does not use it up for a POST', async () => {
    const headers = signedHeaders(miner, NOW_S)
    for (let i = 0; i < 3; i++) {
      const res = await tp.app.inject({ url: STATS, headers })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().hotkey, miner.address)
    }
    assert.equal((await register(tp.app, headers)).statusCode, 200)
    assertRefused(await register(tp.app, headers), 'POOL_ERR_AUTH_REPLAY', 'signature already used')
  })

  test('a request refused by validation before auth (422) does not use the signature', async () => {
    const headers = signedHeaders(miner, NOW_S)
    const refused = await tp.app.inject({ method: 'POST', url: REGISTER, headers, payload: [1] })
    assert.equal(refused.statusCode, 422, refused.body)
    assert.equal(refused.json().code, 'POOL_ERR_VALIDATION')
    assert.equal((await register(tp.app, headers)).statusCode, 200)

    const recipient = other.address
    const signed = signedHeaders(miner, NOW_S, recipient)
    const invalid = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers: signed,
      payload: { recipient_coldkey: recipient, coldkey_address: 7 },
    })
    assert.equal(invalid.statusCode, 422, invalid.body)
    assert.deepEqual(
      invalid.json().detail.map((d: { loc: unknown }) => d.loc),
      [['body', 'coldkey_address']],
    )
    const ok = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers: signed,
      payload: { recipient_coldkey: recipient },
    })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.equal(ok.json().recipient_coldkey, recipient)
  })

  test('a request refused by a bad signature does not block the genuine one', async () => {
    const headers = signedHeaders(miner, NOW_S)
    assertRefused(
      await register(tp.app, { ...headers, 'X-Key': other.address }),
      'POOL_ERR_AUTH_BAD_SIGNATURE',
      /^invalid signature/,
    )
    assert.equal((await register(tp.app, headers)).statusCode, 200)
  })
})

describe('a request refused after authentication gives its signature back', () => {
  // No route of the pool refuses after auth without other state yet, so this app mounts the real auth
  // plugin with two routes of its own: one that refuses (404) and one that accepts.
  let tp: TestPool
  let app: FastifyInstance
  before(async () => {
    tp = await startTestPool()
    app = createFastify(tp.pool)
    await app.register(authPlugin, { pool: tp.pool })
    await app.register(async (scope) => {
      scope.post('/refuse', { preHandler: scope.requireWallet }, async () => {
        throw new PoolError('POOL_ERR_ASSIGNMENT_NOT_FOUND')
      })
      scope.post('/boom', { preHandler: scope.requireWallet }, async () => {
        throw new Error('database exploded')
      })
      scope.post('/accept', { preHandler: scope.requireWallet }, async (request) => ({ hotkey: request.miner!.hotkey }))
    })
    await app.ready()
  })
  after(async () => {
    await app.close()
    await tp.close()
  })

  test('4xx after auth → the client can retry at once with the same signature', async () => {
    // Repeated: the release must be done before the refusal reaches the client, not some time after.
    for (let i = 0; i < 20; i++) {
      const headers = signedHeaders(miner, NOW_S)
      const refused = await app.inject({ method: 'POST', url: '/refuse', headers })
      assert.equal(refused.statusCode, 404)
      assert.deepEqual(refused.json(), {
        detail: 'Active lease assignment not found',
        code: 'POOL_ERR_ASSIGNMENT_NOT_FOUND',
      })
      const accepted = await app.inject({ method: 'POST', url: '/accept', headers })
      assert.equal(accepted.statusCode, 200, `attempt ${i}: ${accepted.body}`)
      assert.deepEqual(accepted.json(), { hotkey: miner.address })
      assertRefused(
        await app.inject({ method: 'POST', url: '/accept', headers }),
        'POOL_ERR_AUTH_REPLAY',
        'signature already used',
      )
    }
  })

  test('a refusal leaves only once its signature is released, however slow the release', async () => {
    // A slow release (a busy database) makes the order visible: the answer must wait for it.
    const signatures = tp.pool.signatures
    let released = false
    signatures.release = async function (this: typeof signatures, signature: string) {
      await new Promise((r) => setTimeout(r, 100))
      await Object.getPrototypeOf(this).release.call(this, signature)
      released = true
    }
    try {
      const refused = await app.inject({ method: 'POST', url: '/refuse', headers: signedHeaders(miner, NOW_S) })
      assert.equal(refused.statusCode, 404)
      assert.equal(released, true, 'the refusal was sent before its signature was released')
    } finally {
      delete (signatures as { release?: unknown }).release
    }
  })

  test('a 500 after auth also gives the signature back, and hides the error', async () => {
    const headers = signedHeaders(miner, NOW_S)
    const failed = await app.inject({ method: 'POST', url: '/boom', headers })
    assert.equal(failed.statusCode, 500)
    assert.deepEqual(failed.json(), { detail: 'Internal server error', code: 'POOL_ERR_INTERNAL' })
    assert.equal((await app.inject({ method: 'POST', url: '/accept', headers })).statusCode, 200)
  })

  test('a replay refusal does not release the signature of the accepted request', async () => {
    const headers = signedHeaders(miner, NOW_S)
    assert.equal((await app.inject({ method: 'POST', url: '/accept', headers })).statusCode, 200)
    assertRefused(
      await app.inject({ method: 'POST', url: '/accept', headers }),
      'POOL_ERR_AUTH_REPLAY',
      'signature already used',
    )
    assertRefused(
      await app.inject({ method: 'POST', url: '/accept', headers }),
      'POOL_ERR_AUTH_REPLAY',
      'signature already used',
    )
  })
})

describe('replay across two API processes sharing one database', () => {
  interface Process {
    app: FastifyInstance
    pool: PoolContext
  }
  let store: Awaited<ReturnType<typeof createSharedTestStore>>
  const processes: Process[] = []

  before(async () => {
    store = await createSharedTestStore()
    for (let i = 0; i < 2; i++) {
      const config = loadConfig({
        DATABASE_URL: store.url,
        BACKGROUND_JOBS: 'false',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        LOG_LEVEL: 'silent',
      })
      const pool = await createPoolContext(config, { clock: new ManualClock(VECTOR_TIME_MS) })
      processes.push({ pool, app: await buildApp(pool) })
    }
  })
  after(async () => {
    for (const p of processes) {
      await p.app.close()
      await p.pool.close()
    }
    await store.drop()
  })

  test('a POST accepted by one process is refused by the other (also as 0x spelling)', async () => {
    const [a, b] = processes as [Process, Process]
    const headers = signedHeaders(miner, NOW_S)
    const first = await register(a.app, headers)
    assert.equal(first.statusCode, 200, first.body)
    assert.equal(first.json().status, 'registered')
    assertRefused(await register(b.app, headers), 'POOL_ERR_AUTH_REPLAY', 'signature already used')
    assertRefused(
      await register(b.app, { ...headers, 'X-Signature': `0x${headers['X-Signature']}` }),
      'POOL_ERR_AUTH_REPLAY',
      'signature already used',
    )

    const fresh = await register(b.app, signedHeaders(miner, NOW_S))
    assert.equal(fresh.statusCode, 200, fresh.body)
    assert.equal(fresh.json().status, 'refreshed', 'the second process sees the miner the first registered')
  })

  test('the same signature sent to both processes at once is accepted exactly once', async () => {
    const [a, b] = processes as [Process, Process]
    for (let i = 0; i < 5; i++) {
      const recipient = other.address
      const headers = signedHeaders(miner, NOW_S, recipient)
      const results = await Promise.all(
        [a, b, a, b].map(
          async (p) =>
            await p.app.inject({ method: 'PUT', url: RECIPIENT, headers, payload: { recipient_coldkey: recipient } }),
        ),
      )
      const statuses = results.map((r) => r.statusCode).sort()
      assert.deepEqual(statuses, [200, 401, 401, 401], results.map((r) => r.body).join('\n'))
      for (const r of results.filter((x) => x.statusCode === 401))
        assert.equal(r.json().detail, 'signature already used')
    }
  })
})

describe('implicit registration and the recipient binding', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('GET stats from an unknown key works and registers it', async () => {
    const unknown = await tp.app.inject({ url: `${RECIPIENT}/${other.address}` })
    assert.equal(unknown.statusCode, 404)
    assert.equal(unknown.json().code, 'POOL_ERR_MINER_NOT_FOUND')

    const stats = await tp.app.inject({ url: STATS, headers: signedHeaders(other, NOW_S) })
    assert.equal(stats.statusCode, 200, stats.body)
    assert.equal(stats.json().hotkey, other.address)
    assert.equal(stats.json().created_at, '2023-11-14T22:13:20Z')

    const lookup = await tp.app.inject({ url: `${RECIPIENT}/${other.address}` })
    assert.equal(lookup.statusCode, 200, lookup.body)
    assert.deepEqual(lookup.json(), { miner_hotkey: other.address, recipient_coldkey: null, updated_at: null })
    const board = (await tp.app.inject({ url: '/api/v1/miners/leaderboard' })).json()
    assert.deepEqual(
      board.miners.map((m: { hotkey: string }) => m.hotkey),
      [other.address],
    )

    const registered = await register(tp.app, signedHeaders(other, NOW_S))
    assert.equal(registered.json().status, 'refreshed')
  })

  test('a recipient update by an unknown key registers it and sets the recipient', async () => {
    const res = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers: signedHeaders(miner, NOW_S, other.address),
      payload: { recipient_coldkey: other.address },
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().miner_hotkey, miner.address)
    const registered = await register(tp.app, signedHeaders(miner, NOW_S))
    assert.equal(registered.json().status, 'refreshed')
  })

  test('a recipient update signed over another recipient than the body names → 401, recipient unchanged', async () => {
    const before = (await tp.app.inject({ url: `${RECIPIENT}/${miner.address}` })).json().recipient_coldkey
    const res = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers: signedHeaders(miner, NOW_S, other.address),
      payload: { recipient_coldkey: miner.address },
    })
    assertRefused(res, 'POOL_ERR_AUTH_BAD_SIGNATURE', /recipient_coldkey:update:\{X-Timestamp\}:\{recipient_coldkey\}$/)
    assert.equal((await tp.app.inject({ url: `${RECIPIENT}/${miner.address}` })).json().recipient_coldkey, before)
  })

  test('a plain wallet signature (auth:{ts}) does not authorise a recipient update', async () => {
    const res = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers: signedHeaders(miner, NOW_S),
      payload: { recipient_coldkey: other.address },
    })
    assertRefused(res, 'POOL_ERR_AUTH_BAD_SIGNATURE', /^invalid signature/)
  })

  test('the signature binds the trimmed recipient: surrounding spaces in the body still verify', async () => {
    const res = await tp.app.inject({
      method: 'PUT',
      url: RECIPIENT,
      headers: signedHeaders(miner, NOW_S, miner.address),
      payload: { recipient_coldkey: `  ${miner.address} ` },
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().recipient_coldkey, miner.address)
  })
})

describe('many signed requests at once (their signatures and last_seen are written in shared batches)', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('each new key registers once, every fresh signature is accepted and every copy refused', async () => {
    const keys = await Promise.all(Array.from({ length: 12 }, async (_, i) => await keyFromSecret(`//burst-${i}`)))
    // Per key: two different signatures of the same message and a copy of the first, all sent at once.
    const sent = keys.flatMap((key) => {
      const first = signedHeaders(key, NOW_S)
      return [
        { key, headers: first },
        { key, headers: signedHeaders(key, NOW_S) },
        { key, headers: { ...first } },
      ]
    })
    const answers = await Promise.all(sent.map(async (s) => await register(tp.app, s.headers)))
    for (const key of keys) {
      const mine = answers.filter((_, i) => sent[i]!.key === key)
      const accepted = mine.filter((r) => r.statusCode === 200)
      assert.equal(accepted.length, 2, mine.map((r) => r.body).join('\n'))
      assert.deepEqual(accepted.map((r) => r.json().status).sort(), ['refreshed', 'registered'])
      const refused = mine.filter((r) => r.statusCode !== 200)
      assert.equal(refused.length, 1)
      assertRefused(refused[0]!, 'POOL_ERR_AUTH_REPLAY', 'signature already used')
    }
    const stored = await tp.pool.database.db
      .selectFrom('used_signatures')
      .select(['signature', 'hotkey'])
      .where(
        'hotkey',
        'in',
        keys.map((k) => k.address),
      )
      .execute()
    assert.equal(stored.length, keys.length * 2, 'two signatures recorded per key, the copy not again')
  })

  test('one signature offered by many calls at once is used by exactly one of them', async () => {
    const key = await keyFromSecret('//burst-same')
    const publicKey = Buffer.from(key.publicKey).toString('hex')
    const signature = { value: 'ab'.repeat(64), expiresAtMs: VECTOR_TIME_MS + 600_000 }
    const touch = async (value: string) =>
      await tp.pool.miners.touch(key.address, publicKey, VECTOR_TIME_MS, { ...signature, value })
    // Two calls with other signatures take both lanes; the ten issued while they run share the next batch.
    const results = await Promise.all([
      touch('cd'.repeat(64)),
      touch('ef'.repeat(64)),
      ...Array.from({ length: 10 }, async () => await touch(signature.value)),
    ])
    assert.deepEqual(
      results.map((r) => r.replay),
      [false, false, false, ...Array(9).fill(true)],
      'the first of the ten uses it, the other nine are replays',
    )
    assert.equal(results.filter((r) => r.created).length, 1, 'the key registers once')
  })

  test("a replay whose write fails leaves the first request's signature recorded", async () => {
    const key = await keyFromSecret('//failed-write')
    const headers = signedHeaders(key, NOW_S)
    assert.equal((await register(tp.app, headers)).statusCode, 200)
    const signature = headers['X-Signature'].toLowerCase()
    const db = tp.pool.database.db
    // A real failure of the shared write, for this signature only: the store refuses to take it again.
    if (testDialect() === 'postgres') {
      await sql`create function refuse_signature() returns trigger language plpgsql as $$
        begin raise exception 'store unavailable'; end $$`.execute(db)
      await sql`create trigger refuse_signature before insert on used_signatures for each row
        when (new.signature = ${sql.lit(signature)}) execute function refuse_signature()`.execute(db)
    } else {
      await sql`create trigger refuse_signature before insert on used_signatures
        when new.signature = ${sql.lit(signature)} begin select raise(abort, 'store unavailable'); end`.execute(db)
    }
    try {
      const failed = await register(tp.app, headers)
      assert.equal(failed.statusCode, 500, failed.body)
    } finally {
      await sql`drop trigger refuse_signature${sql.raw(testDialect() === 'postgres' ? ' on used_signatures' : '')}`.execute(
        db,
      )
      if (testDialect() === 'postgres') await sql`drop function refuse_signature`.execute(db)
    }
    assertRefused(await register(tp.app, headers), 'POOL_ERR_AUTH_REPLAY', 'signature already used')
  })

  test('one signature offered in both lanes at once is used by exactly one of them', async () => {
    const key = await keyFromSecret('//burst-lanes')
    const publicKey = Buffer.from(key.publicKey).toString('hex')
    for (let i = 0; i < 5; i++) {
      const signature = { value: `0${i}`.repeat(64), expiresAtMs: VECTOR_TIME_MS + 600_000 }
      // The first two calls start a batch each, so the second waits on the first's uncommitted record.
      const results = await Promise.all([
        tp.pool.miners.touch(key.address, publicKey, VECTOR_TIME_MS, signature),
        tp.pool.miners.touch(key.address, publicKey, VECTOR_TIME_MS, signature),
      ])
      assert.deepEqual(results.map((r) => r.replay).sort(), [false, true], JSON.stringify(results))
    }
  })

  test('last_seen keeps the latest time of the calls in a batch, and never moves back', async () => {
    const [lane1, lane2, key] = await Promise.all(
      ['//seen-lane-1', '//seen-lane-2', '//seen-latest'].map(async (s) => await keyFromSecret(s)),
    )
    const touch = async (k: MinerKey, atMs: number) =>
      await tp.pool.miners.touch(k.address, Buffer.from(k.publicKey).toString('hex'), atMs)
    await Promise.all([touch(lane1!, VECTOR_TIME_MS), touch(lane2!, VECTOR_TIME_MS), touch(key!, VECTOR_TIME_MS)])
    const lastSeen = async () =>
      (
        await tp.pool.database.db
          .selectFrom('miners')
          .select('last_seen')
          .where('hotkey', '=', key!.address)
          .executeTakeFirstOrThrow()
      ).last_seen
    // Both lanes busy: the three calls for the key share the next batch.
    await Promise.all([
      touch(lane1!, VECTOR_TIME_MS + 1),
      touch(lane2!, VECTOR_TIME_MS + 1),
      touch(key!, VECTOR_TIME_MS + 5_000),
      touch(key!, VECTOR_TIME_MS + 9_000),
      touch(key!, VECTOR_TIME_MS + 7_000),
    ])
    assert.equal(await lastSeen(), BigInt(VECTOR_TIME_MS + 9_000))
    await touch(key!, VECTOR_TIME_MS + 8_000)
    assert.equal(
      await lastSeen(),
      BigInt(VECTOR_TIME_MS + 9_000),
      'a later-arriving earlier time does not move it back',
    )
  })

  test('miners whose rows another transaction holds wait alone: the other signed requests go on', {
    skip: testDialect() !== 'postgres',
  }, async () => {
    const [heldA, heldB, free] = await Promise.all(
      ['//held-a', '//held-b', '//free'].map(async (s) => await keyFromSecret(s)),
    )
    const touch = async (k: MinerKey, atMs: number, value: string) =>
      await tp.pool.miners.touch(k.address, Buffer.from(k.publicKey).toString('hex'), atMs, {
        value,
        expiresAtMs: VECTOR_TIME_MS + 600_000,
      })
    await touch(heldA!, VECTOR_TIME_MS, 'a1'.repeat(64))
    await touch(heldB!, VECTOR_TIME_MS, 'a2'.repeat(64))
    await touch(free!, VECTOR_TIME_MS, 'a3'.repeat(64))
    let release: () => void = () => {}
    const released = new Promise<void>((r) => {
      release = r
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((r) => {
      locked = r
    })
    // Another transaction (a decision recording these miners' trust, say) holds both miners' rows.
    const holder = tp.pool.database.transaction(async (trx) => {
      await trx
        .selectFrom('miners')
        .select('hotkey')
        .where('hotkey', 'in', [heldA!.address, heldB!.address])
        .orderBy('hotkey')
        .forNoKeyUpdate()
        .execute()
      locked()
      await released
    })
    await isLocked
    const finished: string[] = []
    let waiting: Array<Promise<{ created: boolean; replay: boolean }>> = []
    try {
      // One call per lane for the held miners first, then the free miner's calls.
      waiting = [heldA!, heldB!].map((k, i) =>
        touch(k, VECTOR_TIME_MS + 3_000, `b${i}`.repeat(64)).then((r) => {
          finished.push(k.address)
          return r
        }),
      )
      const others = Promise.all(
        Array.from({ length: 6 }, async (_, i) => await touch(free!, VECTOR_TIME_MS + 3_000, `c${i}`.repeat(64))),
      )
      const stuck = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 5_000).unref())
      const answered = await Promise.race([others, stuck])
      assert.notEqual(answered, 'stuck', "the free miner's requests waited behind the held rows")
      assert.deepEqual(
        (answered as Array<{ replay: boolean }>).map((r) => r.replay),
        Array(6).fill(false),
      )
      assert.deepEqual(finished, [], 'the held miners still wait for their rows')
    } finally {
      release()
      await holder
    }
    for (const result of await Promise.all(waiting)) assert.deepEqual(result, { created: false, replay: false })
    const rows = await tp.pool.database.db
      .selectFrom('miners')
      .select('last_seen')
      .where('hotkey', 'in', [heldA!.address, heldB!.address, free!.address])
      .execute()
    for (const row of rows) assert.equal(row.last_seen, BigInt(VECTOR_TIME_MS + 3_000))
  })

  test('a burst of reads and writes from known keys moves every last_seen to the burst time', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, async (_, i) => await keyFromSecret(`//burst-seen-${i}`)))
    for (const key of keys) assert.equal((await register(tp.app, signedHeaders(key, NOW_S))).statusCode, 200)
    tp.clock.advance(7_000)
    const at = NOW_S + 7
    const answers = await Promise.all(
      keys.flatMap((key) => [
        register(tp.app, signedHeaders(key, at)),
        tp.app.inject({ url: STATS, headers: signedHeaders(key, at) }),
      ]),
    )
    assert.deepEqual(
      answers.map((r) => r.statusCode),
      answers.map(() => 200),
      answers.map((r) => r.body).join('\n'),
    )
    const seen = await tp.pool.database.db
      .selectFrom('miners')
      .select(['hotkey', 'last_seen'])
      .where(
        'hotkey',
        'in',
        keys.map((k) => k.address),
      )
      .execute()
    assert.equal(seen.length, keys.length)
    for (const row of seen) assert.equal(row.last_seen, BigInt(at * 1000), row.hotkey)
  })
})
