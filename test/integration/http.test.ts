// HTTP behaviour shared by every route (SPEC §3): body parsing, limits, content types, unknown routes,
// the one error shape, and 500s that reveal nothing.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { createFastify } from '../../src/app.ts'
import { keyFromSecret, signedHeaders, type MinerKey } from '../../src/crypto/keys.ts'
import { PoolError } from '../../src/errors.ts'
import { startTestPool, VECTOR_TIME_MS, type TestPool } from '../support/pool.ts'

const NOW_S = VECTOR_TIME_MS / 1000
const INTERNAL = { detail: 'Internal server error', code: 'POOL_ERR_INTERNAL' }

let miner: MinerKey
before(async () => {
  miner = await keyFromSecret('bottom drive obey lake curtain smoke basket hold race lonely fit walk')
})

/** Asserts the one error shape: JSON with exactly `detail` and `code`, and returns the body. */
function errorBody(res: LightMyRequestResponse, status: number, code: string): { detail: unknown; code: string } {
  assert.equal(res.statusCode, status, res.body)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  const body = res.json() as { detail: unknown; code: string }
  assert.deepEqual(Object.keys(body).sort(), ['code', 'detail'])
  assert.equal(body.code, code)
  assert.ok(
    typeof body.detail === 'string' ? body.detail.length > 0 : Array.isArray(body.detail) && body.detail.length > 0,
  )
  return body
}

describe('request bodies', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('malformed JSON → 400 POOL_ERR_MALFORMED_JSON, before auth is even looked at', async () => {
    for (const headers of [signedHeaders(miner, NOW_S), {}]) {
      const res = await tp.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...headers, 'content-type': 'application/json' },
        payload: '{"public_address": ',
      })
      const body = errorBody(res, 400, 'POOL_ERR_MALFORMED_JSON')
      assert.match(String(body.detail), /^Malformed JSON body: /)
    }
  })

  test('10,000 nested arrays around "\\u0000" → 400 saying the body nests too deep, before auth (not a 500)', async () => {
    const payload = `${'['.repeat(10_000)}"\\u0000"${']'.repeat(10_000)}`
    for (const url of ['/api/v1/miners/register', '/api/v1/tasks/lease', '/claims/epoch/claim']) {
      const res = await tp.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload })
      assert.match(String(errorBody(res, 400, 'POOL_ERR_MALFORMED_JSON').detail), /nested deeper than 64 levels/, url)
    }
  })

  test('NaN outside a score → 400 naming the token', async () => {
    const res = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: { ...signedHeaders(miner, NOW_S), 'content-type': 'application/json' },
      payload: '{"x": NaN}',
    })
    assert.match(String(errorBody(res, 400, 'POOL_ERR_MALFORMED_JSON').detail), /NaN is accepted only as a score/)
  })

  test('a wrong content type → 415 POOL_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ]) {
      const res = await tp.app.inject({
        method: 'PUT',
        url: '/api/v1/miners/recipient-coldkey',
        headers: { ...signedHeaders(miner, NOW_S), 'content-type': type },
        payload: 'recipient_coldkey=x',
      })
      assert.deepEqual(
        errorBody(res, 415, 'POOL_ERR_UNSUPPORTED_MEDIA_TYPE'),
        { detail: 'Unsupported media type', code: 'POOL_ERR_UNSUPPORTED_MEDIA_TYPE' },
        type,
      )
    }
  })

  test('JSON with a charset parameter, and text/json, are JSON', async () => {
    for (const type of ['application/json; charset=utf-8', 'text/json']) {
      const res = await tp.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...signedHeaders(miner, NOW_S), 'content-type': type },
        payload: '{"public_address": "x"}',
      })
      assert.equal(res.statusCode, 200, `${type}: ${res.body}`)
      assert.equal(res.json().hotkey, miner.address)
    }
  })

  test('a body over the default MAX_BODY_BYTES (1 MiB) → 413 POOL_ERR_BODY_TOO_LARGE', async () => {
    const payload = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) })
    const res = await tp.app.inject({
      method: 'POST',
      url: '/api/v1/miners/register',
      headers: { ...signedHeaders(miner, NOW_S), 'content-type': 'application/json' },
      payload,
    })
    assert.deepEqual(errorBody(res, 413, 'POOL_ERR_BODY_TOO_LARGE'), {
      detail: 'Request body is too large',
      code: 'POOL_ERR_BODY_TOO_LARGE',
    })
  })

  test('MAX_BODY_BYTES is honoured: one byte over → 413, at the limit → accepted', async () => {
    const small = await startTestPool({ MAX_BODY_BYTES: '2048' })
    try {
      const bodyOf = (size: number): string => {
        const text = JSON.stringify({ pad: '' })
        return JSON.stringify({ pad: 'x'.repeat(size - text.length) })
      }
      const at = await small.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...signedHeaders(miner, NOW_S), 'content-type': 'application/json' },
        payload: bodyOf(2048),
      })
      assert.equal(at.statusCode, 200, at.body)
      const over = await small.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...signedHeaders(miner, NOW_S), 'content-type': 'application/json' },
        payload: bodyOf(2049),
      })
      errorBody(over, 413, 'POOL_ERR_BODY_TOO_LARGE')
    } finally {
      await small.close()
    }
  })
})

describe('unknown routes and the error shape', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  test('an unknown path or method → 404 JSON naming it, without the query string', async () => {
    assert.deepEqual(errorBody(await tp.app.inject({ url: '/api/v1/nope?token=secret' }), 404, 'POOL_ERR_NOT_FOUND'), {
      detail: 'Not Found: GET /api/v1/nope',
      code: 'POOL_ERR_NOT_FOUND',
    })
    assert.deepEqual(errorBody(await tp.app.inject({ method: 'DELETE', url: '/health' }), 404, 'POOL_ERR_NOT_FOUND'), {
      detail: 'Not Found: DELETE /health',
      code: 'POOL_ERR_NOT_FOUND',
    })
    errorBody(
      await tp.app.inject({ method: 'POST', url: '/api/v1/miners/leaderboard', payload: {} }),
      404,
      'POOL_ERR_NOT_FOUND',
    )
  })

  test('every kind of client error has {detail, code} with its status', async () => {
    const cases: Array<[InjectOptions, number, string]> = [
      [
        {
          method: 'POST',
          url: '/api/v1/miners/register',
          headers: { 'content-type': 'application/json' },
          payload: '[',
        },
        400,
        'POOL_ERR_MALFORMED_JSON',
      ],
      [{ method: 'POST', url: '/api/v1/miners/register' }, 401, 'POOL_ERR_AUTH_MISSING_HEADER'],
      [
        { method: 'POST', url: '/api/v1/miners/register', headers: { ...signedHeaders(miner, NOW_S), 'X-Key': 'x' } },
        401,
        'POOL_ERR_AUTH_BAD_ADDRESS',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/miners/register',
          headers: { ...signedHeaders(miner, NOW_S), 'X-Timestamp': 'now' },
        },
        401,
        'POOL_ERR_AUTH_BAD_TIMESTAMP',
      ],
      [
        { method: 'POST', url: '/api/v1/miners/register', headers: signedHeaders(miner, NOW_S - 3600) },
        401,
        'POOL_ERR_AUTH_STALE_TIMESTAMP',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/miners/register',
          headers: { ...signedHeaders(miner, NOW_S), 'X-Signature': '00' },
        },
        401,
        'POOL_ERR_AUTH_BAD_SIGNATURE',
      ],
      [
        { url: '/api/v1/miners/recipient-coldkey/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' },
        404,
        'POOL_ERR_MINER_NOT_FOUND',
      ],
      [{ url: '/missing' }, 404, 'POOL_ERR_NOT_FOUND'],
      [
        {
          method: 'POST',
          url: '/api/v1/miners/register',
          headers: { 'content-type': 'application/json' },
          payload: `"${'x'.repeat(1024 * 1024)}"`,
        },
        413,
        'POOL_ERR_BODY_TOO_LARGE',
      ],
      [
        { method: 'POST', url: '/api/v1/miners/register', headers: { 'content-type': 'text/csv' }, payload: 'a,b' },
        415,
        'POOL_ERR_UNSUPPORTED_MEDIA_TYPE',
      ],
      [{ url: '/api/v1/miners/leaderboard?limit=0' }, 422, 'POOL_ERR_VALIDATION'],
      [
        { method: 'PUT', url: '/api/v1/miners/recipient-coldkey', payload: { recipient_coldkey: 'x' } },
        422,
        'POOL_ERR_VALIDATION',
      ],
    ]
    for (const [request, status, code] of cases) {
      const body = errorBody(await tp.app.inject(request), status, code)
      if (status === 422) {
        for (const item of body.detail as Array<Record<string, unknown>>) {
          assert.deepEqual(Object.keys(item).sort(), ['loc', 'msg', 'type'])
          assert.ok(Array.isArray(item.loc))
        }
      } else {
        assert.equal(typeof body.detail, 'string', `${request.url}: detail is a message`)
      }
    }
  })
})

describe('integer parameters are plain decimal integers', () => {
  let tp: TestPool
  before(async () => {
    tp = await startTestPool()
  })
  after(async () => {
    await tp.close()
  })

  const loose = ['%20', '+1', '00001', '0x10', '1e0', '1.0', '%201', '-0']
  for (const text of loose) {
    test(`"${text}" in a path or a query → 422 at its location`, async () => {
      for (const [url, loc] of [
        [`/claims/epoch/${text}`, ['path', 'epoch_id']],
        [`/api/v1/results/verify/${text}`, ['path', 'result_id']],
        [`/api/v1/miners/leaderboard?limit=${text}`, ['query', 'limit']],
        [`/api/v1/results/sota/history?limit=${text}`, ['query', 'limit']],
      ] as Array<[string, string[]]>) {
        const res = await tp.app.inject({ method: url.includes('/verify/') ? 'POST' : 'GET', url })
        const body = errorBody(res, 422, 'POOL_ERR_VALIDATION') as { detail: Array<{ loc: string[]; msg: string }> }
        assert.deepEqual(body.detail[0]!.loc, loc, url)
        assert.match(body.detail[0]!.msg, /plain decimal integer/, url)
      }
    })
  }

  test('plain integers still work', async () => {
    assert.equal((await tp.app.inject({ url: '/claims/epoch/1' })).json().code, 'POOL_ERR_EPOCH_NOT_FOUND')
    assert.equal((await tp.app.inject({ url: '/api/v1/miners/leaderboard?limit=16' })).statusCode, 200)
    assert.equal((await tp.app.inject({ url: '/api/v1/results/sota/history?limit=10' })).statusCode, 200)
  })
})

describe('500s reveal nothing', () => {
  test('a route that throws an unexpected error → {detail: "Internal server error", code: "POOL_ERR_INTERNAL"}', async () => {
    const tp = await startTestPool()
    const app: FastifyInstance = createFastify(tp.pool)
    app.get('/boom', async () => {
      throw new Error('connect ECONNREFUSED postgres://admin:hunter2@db.internal:5432/pool')
    })
    app.get('/boom-with-status', async () => {
      throw Object.assign(new Error('SQLITE_CORRUPT: /srv/pool/data/pool.db is malformed'), {
        statusCode: 500,
        code: 'SQLITE_CORRUPT',
      })
    })
    app.get('/not-an-error', async () => {
      throw 'a string with a secret'
    }) // eslint-disable-line no-throw-literal
    app.get('/known', async () => {
      throw new PoolError('POOL_ERR_NO_WORK')
    })
    await app.ready()
    try {
      for (const url of ['/boom', '/boom-with-status', '/not-an-error']) {
        const res = await app.inject({ url })
        assert.deepEqual(errorBody(res, 500, 'POOL_ERR_INTERNAL'), INTERNAL, url)
        assert.doesNotMatch(res.body, /hunter2|ECONNREFUSED|SQLITE|secret|stack|\/srv\//)
      }
      assert.deepEqual(errorBody(await app.inject({ url: '/known' }), 404, 'POOL_ERR_NO_WORK'), {
        detail: 'No work available right now',
        code: 'POOL_ERR_NO_WORK',
      })
    } finally {
      await app.close()
      await tp.close()
    }
  })

  test('with the database gone, real routes answer the same opaque 500', async () => {
    const tp = await startTestPool()
    try {
      await tp.pool.database.close()
      const requests: InjectOptions[] = [
        { url: '/api/v1/miners/leaderboard' },
        { url: '/api/v1/miners/recipient-coldkey/5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' },
        { method: 'POST', url: '/api/v1/miners/register', headers: signedHeaders(miner, NOW_S) },
        { url: '/api/v1/miners/stats', headers: signedHeaders(miner, NOW_S) },
      ]
      for (const request of requests) {
        const res = await tp.app.inject(request)
        assert.deepEqual(errorBody(res, 500, 'POOL_ERR_INTERNAL'), INTERNAL, String(request.url))
      }
    } finally {
      await tp.close()
    }
  })
})

describe('JSON tolerances through the HTTP parser', () => {
  // An echo route on the real parser shows what a handler receives.
  let tp: TestPool
  let app: FastifyInstance
  before(async () => {
    tp = await startTestPool()
    app = createFastify(tp.pool)
    app.post('/echo', async (request) => ({ body: request.body ?? null }))
    await app.ready()
  })
  after(async () => {
    await app.close()
    await tp.close()
  })

  const echo = async (payload: string): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload })

  test('NaN and -Infinity as a score arrive as null', async () => {
    const res = await echo(
      '{"evaluations": [{"algorithm_id": 1, "score": NaN}, {"algorithm_id": 2, "score": -Infinity}]}',
    )
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json(), {
      body: {
        evaluations: [
          { algorithm_id: 1, score: null },
          { algorithm_id: 2, score: null },
        ],
      },
    })
  })

  test('-Infinity elsewhere → 400', async () => {
    errorBody(await echo('{"iterations": -Infinity}'), 400, 'POOL_ERR_MALFORMED_JSON')
  })

  test('a huge integer arrives as its exact decimal string', async () => {
    assert.deepEqual((await echo('{"amount_units": 18446744073709551615}')).json(), {
      body: { amount_units: '18446744073709551615' },
    })
  })

  test('__proto__ is dropped', async () => {
    assert.deepEqual((await echo('{"__proto__": {"polluted": true}, "a": 1}')).json(), { body: { a: 1 } })
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })
})
