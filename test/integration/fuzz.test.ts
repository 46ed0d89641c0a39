// Fuzzing the HTTP surface (SPEC §2, §3): whatever a client sends, the pool answers below 500, every error
// is JSON `{detail, code}` with the status its code documents, nothing is left unhandled, and the pool
// still answers /health afterwards.
//   1. Schema-driven: every operation of the served /openapi.json, with bodies generated from its request
//      schema, mutated, and sent unsigned, signed by real miners, or with spoiled auth headers.
//   2. Hand-made: malformed JSON, content types, empty bodies, the body limit, header garbage, duplicate
//      headers, long URLs, prototype keys, and raw HTTP on a real socket.
// FUZZ_RUNS (runs per operation, default 80) and FUZZ_SEED make longer or reproducible runs.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import fc from 'fast-check'
import { keyFromSecret, signedHeaders } from '../../src/crypto/keys.ts'
import {
  describeRequest,
  Harvest,
  MALFORMED_BODIES,
  operationKey,
  operationsOf,
  OTHER_CONTENT_TYPES,
  requestArb,
  responseProblem,
  send,
  shortText,
  startFuzzPool,
  toJsonText,
  type FuzzPool,
  type OpenApiDocument,
  type Operation,
  type SchemaContext,
} from '../support/fuzz.ts'
import { TestMiner } from '../support/miner.ts'
import { twoBytePrefixSpelling } from '../support/ss58.ts'
import { closeThrough, earnByEvaluating, randomAddress } from '../support/epochs.ts'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'

// --- 3. nothing unhandled ---------------------------------------------------------------------------------
const incidents: string[] = []
const describeError = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e))
process.on('unhandledRejection', (reason) => {
  incidents.push(`unhandledRejection: ${describeError(reason)}`)
})
process.on('uncaughtException', (err) => {
  incidents.push(`uncaughtException: ${describeError(err)}`)
})

const RUNS = Number(process.env.FUZZ_RUNS ?? 80)
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED)
/** FUZZ_SURVEY=1: record every broken answer (one per operation and problem) instead of stopping at the first. */
const SURVEY = process.env.FUZZ_SURVEY === '1'
const SMALL_BODY = 2048
let requests = 0
const survey = new Map<string, string>()

/** Fails with the request, the answer and the last error logged when the answer breaks the rules. */
function check(
  fp: FuzzPool,
  op: Operation | undefined,
  request: InjectOptions & { url: string },
  response: LightMyRequestResponse,
): void {
  requests++
  const problem = responseProblem(response, op)
  if (problem === undefined) return
  const logged = fp.errorLogs.at(-1)
  const report =
    `${problem}\nrequest: ${describeRequest(request)}\nresponse: ${response.statusCode} ${response.body.slice(0, 600)}` +
    (logged === undefined ? '' : `\nlogged: ${logged.slice(0, 4000)}`)
  if (!SURVEY) throw new Error(report)
  const key = `${op === undefined ? request.url.slice(0, 40) : operationKey(op)} | ${problem.replace(/\d+/g, 'N').slice(0, 80)}`
  if (!survey.has(key)) survey.set(key, report)
}

/** fc.assert with a report that names the seed and path to replay, the failure, and a readable counterexample. */
async function assertProperty<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  const details = await fc.check(property, { numRuns, seed: SEED })
  if (!details.failed) return
  const error = details.errorInstance
  throw new Error(
    `property failed after ${details.numRuns} run(s); replay with FUZZ_SEED=${details.seed} (path ${details.counterexamplePath ?? '?'})\n` +
      `${error instanceof Error ? error.message : String(error)}\ncounterexample: ${shortText(details.counterexample)}`,
  )
}

async function inject(
  fp: FuzzPool,
  op: Operation | undefined,
  request: InjectOptions & { url: string },
): Promise<LightMyRequestResponse> {
  const response = await fp.app.inject(request)
  check(fp, op, request, response)
  return response
}

async function healthy(fp: FuzzPool): Promise<void> {
  const response = await fp.app.inject({ url: '/health' })
  assert.equal(response.statusCode, 200, response.body)
  assert.equal(response.json().status, 'healthy')
}

const openapi = async (fp: FuzzPool): Promise<OpenApiDocument> => {
  const response = await fp.app.inject({ url: '/openapi.json' })
  assert.equal(response.statusCode, 200)
  return response.json() as OpenApiDocument
}

describe('schema-driven fuzzing of every OpenAPI operation', () => {
  let fp: FuzzPool
  let miners: TestMiner[]
  let ops: Operation[]
  let ctx: SchemaContext
  const harvest = new Harvest()
  const statuses = new Map<string, Map<number, number>>()

  before(async () => {
    // miner 0 may verify results, so /results/verify gets past its 403
    fp = await startFuzzPool({ VERIFIER_HOTKEYS: (await keyFromSecret('//fuzz0')).address })
    miners = await Promise.all([0, 1, 2, 3].map(async (i) => await TestMiner.create(fp.app, `//fuzz${i}`)))
    // Something to find: recipients, scored algorithms, a closed epoch with claim leaves, then live work.
    const recipients = await Promise.all(miners.map(async () => await randomAddress()))
    for (const [i, m] of miners.entries()) assert.equal((await m.setRecipient(recipients[i]!)).statusCode, 200)
    await earnByEvaluating(miners.slice(0, 3))
    assert.deepEqual(await closeThrough(fp, 0), [0])
    const claims: unknown[] = []
    for (const m of miners.slice(0, 3)) {
      const proof = await fp.app.inject({ url: `/claims/epoch/0/proof/${m.hotkey}` })
      assert.equal(proof.statusCode, 200, proof.body)
      const p = proof.json() as Record<string, unknown>
      claims.push({
        index: p.index,
        hotkey: p.hotkey,
        recipient_coldkey: p.recipient_coldkey,
        amount_units: p.amount_units,
        proof: p.proof,
      })
      harvest.learn(p)
    }
    for (const [m, r] of [
      [miners[1]!, await miners[1]!.lease({ eval_batch_size: 64 })],
      [miners[2]!, await miners[2]!.requestBatch({ task_type: 'evolve' })],
      [miners[3]!, await miners[3]!.requestBatch({})],
    ] as const) {
      assert.equal(r.statusCode, 200, r.body)
      harvest.learn(r.json())
      harvest.learnOwn(m.hotkey, r.json())
    }
    const doc = await openapi(fp)
    ops = operationsOf(doc)
    ctx = {
      doc,
      // Every key's other valid SS58 spelling too: the pool must refuse it wherever an address enters.
      addresses: [
        ...miners.map((m) => m.hotkey),
        ...recipients,
        ...[miners[0]!.hotkey, recipients[0]!].map((a) => twoBytePrefixSpelling(a)),
      ],
      taskTypes: fp.pool.config.taskTypes,
      examples: { 'POST /claims/epoch/claim': claims, 'POST /claims/epoch/{epoch_id}/claim': claims },
    }
  })

  after(async () => {
    const table = [...statuses].map(
      ([op, s]) =>
        `${op}: ${[...s]
          .sort((a, b) => a[0] - b[0])
          .map(([k, n]) => `${k}×${n}`)
          .join(' ')}`,
    )
    console.log(
      `fuzz seed ${SEED}, ${RUNS} runs per operation${SURVEY ? `; statuses per operation:\n  ${table.join('\n  ')}` : ''}`,
    )
    await fp?.close()
  })

  test('the document lists the routes of SPEC §2–§10 (sanity check of what gets fuzzed)', () => {
    const keys = new Set(ops.map(operationKey))
    for (const key of [
      'POST /api/v1/tasks/lease',
      'POST /api/v1/tasks/{lease_id}/submit_lease',
      'PUT /api/v1/miners/recipient-coldkey',
      'POST /claims/epoch/{epoch_id}/claim',
      'GET /health',
      'GET /api/v1/disclaimer.md',
    ]) {
      assert.ok(keys.has(key), `${key} is in /openapi.json`)
    }
    assert.ok(ops.length >= 30, `${ops.length} operations`)
  })

  test('every operation: no 5xx, every error is {detail, code}', async (t) => {
    for (const op of ops) {
      await t.test(operationKey(op), async () => {
        const seen = new Map<number, number>()
        statuses.set(operationKey(op), seen)
        await assertProperty(
          fc.asyncProperty(requestArb(op, ctx, miners.length), async (req) => {
            const { request, response, prepared } = await send(fp.app, op, req, miners, harvest)
            for (const p of prepared) check(fp, undefined, p.request, p.response)
            seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1)
            check(fp, op, request, response)
          }),
          RUNS,
        )
      })
    }
  })

  test('routes outside the document (docs, metrics, dashboard, unknown paths) with any method', async () => {
    const prefixes = [
      '/',
      '/docs',
      '/docs/',
      '/docs/static/',
      '/docs/json',
      '/redoc',
      '/redoc/',
      '/metrics',
      '/openapi.json',
      '/dashboard',
      '/dashboard/',
      '/dashboard/vendor/',
      '/api',
      '/api/v1',
      '/api/v1/',
      '/api/v1/tasks/',
      '/api/v1/miners/',
      '/claims',
      '/claims/',
      '/claims/epoch/0/',
      '/status/',
    ]
    const suffixes = [
      '',
      'index.html',
      'app.js',
      'styles.css',
      'verify.d.ts',
      '../package.json',
      '..%2f..%2fpackage.json',
      '%2e%2e/%2e%2e/etc/passwd',
      '....//....//etc/passwd',
      `${'a'.repeat(300)}.js`,
      `${'a'.repeat(5000)}`,
      '%00.js',
      'a%00.css',
      '%',
      '%zz',
      '💥',
      '?x=1',
      '/',
      '//',
      'preact.mjs',
      'swagger-ui.css',
    ]
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.constantFrom(...prefixes),
        fc.constantFrom(...suffixes),
        fc.boolean(),
        async (method, prefix, suffix, withBody) => {
          const request = {
            method: method as InjectOptions['method'],
            url: `${prefix}${encodeURI(suffix).replace(/%25/g, '%')}`,
            ...(withBody ? { payload: '{}', headers: { 'content-type': 'application/json' } } : {}),
          }
          const response = await fp.app.inject(request)
          if (method === 'HEAD') {
            requests++
            assert.ok(response.statusCode < 500, `${method} ${request.url}: ${response.statusCode}`)
          } else {
            check(fp, undefined, request, response)
          }
        },
      ),
      RUNS * 4,
    )
  })

  test('inputs the fuzzer found answering 500 or the wrong error shape, pinned', async () => {
    const m = miners[1]!
    const expect = async (r: LightMyRequestResponse, status: number, code: string, what: string): Promise<unknown> => {
      assert.equal(r.statusCode, status, `${what}: ${r.body}`)
      assert.equal(r.json().code, code, what)
      return r.json()
    }
    // A NUL byte in text that reaches PostgreSQL ("invalid byte sequence for encoding UTF8: 0x00") was a 500;
    // now NUL is refused wherever it can arrive: percent-encoded in the URL, escaped in a JSON string.
    const nulUrls = [
      '/api/v1/miners/recipient-coldkey/a%00b',
      '/claims/epoch/proof/a%00b',
      '/claims/epoch/claim/a%00b',
      '/claims/epoch/0/proof/%00',
      '/claims/epoch/0/claim/%00',
    ]
    for (const url of nulUrls) await expect(await fp.app.inject({ url }), 400, 'POOL_ERR_BAD_REQUEST', url)
    for (const verb of ['submit_lease', 'submit_evaluation', 'submit_evolution']) {
      await expect(
        await m.send('POST', `/api/v1/tasks/a%00b/${verb}`, { evaluations: [] }),
        400,
        'POOL_ERR_BAD_REQUEST',
        verb,
      )
    }
    await expect(await m.send('GET', '/api/v1/results/?task_type=%00'), 400, 'POOL_ERR_BAD_REQUEST', 'NUL in a query')
    await expect(
      await m.send('POST', '/api/v1/tasks/lease', '{"task_type": "a\\u0000b"}'),
      400,
      'POOL_ERR_MALFORMED_JSON',
      'NUL in a JSON string',
    )
    await expect(
      await m.send('POST', '/api/v1/tasks/lease', '{"a\\u0000": 1}'),
      400,
      'POOL_ERR_MALFORMED_JSON',
      'NUL in a JSON key',
    )
    // sim_window_number had no upper bound: 1e300 reached BigInt() and the BIGINT column (500 on both stores).
    for (const value of ['1e300', '1e309', '9223372036854775807', '1.7976931348623157e308', '9007199254740992']) {
      const r = await m.send('POST', '/api/v1/tasks/lease', `{"sim_window_number": ${value}}`)
      const body = (await expect(r, 422, 'POOL_ERR_VALIDATION', `sim_window_number ${value}`)) as {
        detail: Array<{ loc: unknown[] }>
      }
      assert.deepEqual(body.detail[0]!.loc, ['body', 'sim_window_number'])
    }
    // The router's own refusals used Fastify's {error, message, statusCode} shape.
    await expect(
      await fp.app.inject({ url: '/api/v1/miners/recipient-coldkey/%zz' }),
      400,
      'POOL_ERR_BAD_REQUEST',
      'bad percent-encoding',
    )
    await expect(
      await fp.app.inject({ url: '/claims/epoch/%ED%A0%80' }),
      400,
      'POOL_ERR_BAD_REQUEST',
      'encoded lone surrogate',
    )
    // One key had two valid addresses (the two-byte form of prefix 42): the other spelling is refused everywhere.
    const other = twoBytePrefixSpelling(m.hotkey)
    await expect(
      await fp.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...signedHeaders(m.key, Math.floor(fp.clock.now() / 1000)), 'X-Key': other },
        payload: {},
      }),
      401,
      'POOL_ERR_AUTH_BAD_ADDRESS',
      'X-Key in the other spelling',
    )
    for (const url of [`/claims/epoch/proof/${other}`, `/api/v1/miners/recipient-coldkey/${other}`])
      await expect(await fp.app.inject({ url }), 422, 'POOL_ERR_VALIDATION', url)
    // 10,000 nested arrays around an escaped NUL overflowed the recursive NUL check: a 500 before authentication.
    await expect(
      await fp.app.inject({
        method: 'POST',
        url: '/api/v1/tasks/lease',
        headers: { 'content-type': 'application/json' },
        payload: `${'['.repeat(10_000)}"\\u0000"${']'.repeat(10_000)}`,
      }),
      400,
      'POOL_ERR_MALFORMED_JSON',
      'deep nesting',
    )
    // Loosely coerced integers: " " was epoch 0, "+1" and "00001" were 1, "0x10" was 16.
    for (const url of [
      '/claims/epoch/%20',
      '/claims/epoch/+1',
      '/claims/epoch/00001',
      '/api/v1/miners/leaderboard?limit=0x10',
    ]) {
      await expect(await fp.app.inject({ url }), 422, 'POOL_ERR_VALIDATION', url)
    }
    const long = await expect(
      await fp.app.inject({ url: `/claims/epoch/${'9'.repeat(201)}` }),
      422,
      'POOL_ERR_VALIDATION',
      'path parameter over 200 characters',
    )
    assert.deepEqual((long as { detail: Array<{ loc: unknown[] }> }).detail[0]!.loc, ['path'])
  })

  test('the pool is healthy afterwards', async () => {
    await healthy(fp)
  })
})

describe('hand-made malformed inputs', () => {
  let fp: FuzzPool
  let miner: TestMiner
  let writes: Operation[]
  let signedOps: Operation[]
  let recipient: string

  before(async () => {
    fp = await startFuzzPool({ MAX_BODY_BYTES: String(SMALL_BODY) })
    miner = await TestMiner.create(fp.app, '//fuzz-malformed')
    recipient = await randomAddress()
    const ops = operationsOf(await openapi(fp))
    writes = ops.filter((op) => op.method === 'POST' || op.method === 'PUT')
    signedOps = ops.filter((op) => op.signed)
  })
  after(async () => {
    await fp?.close()
  })

  /** A concrete URL for the operation (path parameters filled with plausible values). */
  const urlOf = (op: Operation): string =>
    op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      /epoch|result/.test(name) ? '1' : /hotkey/.test(name) ? miner.hotkey : '00000000-0000-4000-8000-000000000000',
    )

  const kept = new Map<string, Record<string, string>>()
  /**
   * Auth headers for `op` as a real client would send them (recipient updates bind the body's recipient).
   * Fresh by default (POST and PUT signatures are single use); `reuse` keeps one per operation and recipient
   * for requests refused before the signature could be consumed, since signing costs ~2 ms.
   */
  const authFor = (op: Operation, body: unknown = {}, reuse = false): Record<string, string> => {
    if (!op.signed) return {}
    const b = body as Record<string, unknown> | null
    const named = b !== null && typeof b === 'object' ? (b.recipient_coldkey ?? b.coldkey_address) : undefined
    const recipientText = op.recipientSigned ? (typeof named === 'string' ? named.trim() : '') : undefined
    const key = `${op.method} ${op.path} ${recipientText ?? ''}`
    const headers =
      (reuse ? kept.get(key) : undefined) ?? signedHeaders(miner.key, Math.floor(fp.clock.now() / 1000), recipientText)
    if (reuse) kept.set(key, headers)
    return headers
  }
  const parses = (text: string): boolean => {
    try {
      JSON.parse(text)
      return true
    } catch {
      return /score/.test(text)
    }
  }

  test('not JSON, truncated JSON, trailing garbage, NaN/Infinity outside a score → 4xx JSON, never 5xx', async () => {
    for (const op of writes) {
      for (const text of MALFORMED_BODIES) {
        // The body is parsed before authentication: signing matters only for bodies that parse.
        for (const signed of parses(text) ? [false, true] : [false]) {
          const r = await inject(fp, op, {
            method: op.method,
            url: urlOf(op),
            headers: { ...(signed ? authFor(op) : {}), 'content-type': 'application/json' },
            payload: text,
          })
          if (
            /^\{"a": (NaN|-Infinity|Infinity)\}$|^(NaN|-Infinity)$/.test(text) ||
            text === '{"a": 1} trailing' ||
            text === '{'
          ) {
            assert.equal(
              r.statusCode,
              text.length > SMALL_BODY ? 413 : 400,
              `${op.method} ${op.path} ${text}: ${r.body}`,
            )
          }
        }
      }
    }
  })

  test('NaN and -Infinity are tolerated only as a score', async () => {
    const op = writes.find((o) => o.path === '/api/v1/tasks/{batch_id}/submit_evaluation')!
    for (const [text, malformed] of [
      ['{"evaluations": [{"algorithm_id": 1, "score": NaN}]}', false],
      ['{"evaluations": [{"algorithm_id": 1, "score": -Infinity}]}', false],
      ['{"evaluations": [{"algorithm_id": NaN, "score": 1}]}', true],
      ['{"evaluations": [{"algorithm_id": 1, "score": 1}], "x": -Infinity}', true],
      ['{"evaluations": [{"algorithm_id": 1, "scores": NaN}]}', true],
      ['{"evaluations": [{"algorithm_id": 1, "score": [NaN]}]}', true],
    ] as const) {
      const r = await inject(fp, op, {
        method: 'POST',
        url: urlOf(op),
        headers: { ...authFor(op), 'content-type': 'application/json' },
        payload: text,
      })
      if (malformed) assert.equal(r.statusCode, 400, `${text}: ${r.body}`)
      else assert.notEqual(r.statusCode, 400, `${text}: ${r.body}`)
    }
  })

  test('content types other than JSON → 415; JSON with parameters is JSON', async () => {
    const bodies: Record<string, string> = {
      'application/x-www-form-urlencoded': 'recipient_coldkey=x&eval_batch_size=8',
      'multipart/form-data; boundary=----x':
        '------x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n------x--\r\n',
    }
    for (const op of writes) {
      for (const type of OTHER_CONTENT_TYPES) {
        for (const signed of /json/i.test(type) ? [false, true] : [false]) {
          const r = await inject(fp, op, {
            method: op.method,
            url: urlOf(op),
            headers: { ...(signed ? authFor(op) : {}), 'content-type': type },
            payload: bodies[type] ?? '{}',
          })
          if (
            ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/octet-stream'].includes(
              type,
            ) ||
            type.startsWith('multipart/')
          ) {
            assert.equal(r.statusCode, 415, `${op.method} ${op.path} as ${type}: ${r.body}`)
          }
        }
      }
      // a body without any content type
      await inject(fp, op, { method: op.method, url: urlOf(op), headers: authFor(op), payload: '{"a": 1}' })
      await inject(fp, op, {
        method: op.method,
        url: urlOf(op),
        headers: { ...authFor(op), 'content-type': undefined as unknown as string },
        payload: 'a=1',
      })
    }
  })

  test('an empty body on every POST and PUT', async () => {
    for (const op of writes) {
      for (const headers of [
        {},
        { 'content-type': 'application/json' },
        { 'content-type': 'application/json', 'content-length': '0' },
        { 'content-type': 'text/plain' },
      ]) {
        for (const signed of [false, true]) {
          await inject(fp, op, {
            method: op.method,
            url: urlOf(op),
            headers: { ...(signed ? authFor(op) : {}), ...headers },
            payload: '',
          })
          await inject(fp, op, {
            method: op.method,
            url: urlOf(op),
            headers: { ...(signed ? authFor(op) : {}), ...headers },
          })
        }
      }
    }
  })

  test(`a body of exactly MAX_BODY_BYTES (${SMALL_BODY}) is read; one byte more → 413`, async () => {
    const bodyOf = (size: number, fields: Record<string, unknown>): string => {
      const text = toJsonText({ ...fields, pad: '' })
      return toJsonText({ ...fields, pad: 'x'.repeat(size - Buffer.byteLength(text)) })
    }
    for (const op of writes) {
      const fields = op.recipientSigned ? { recipient_coldkey: recipient } : {}
      for (const pad of ['x', 'é']) {
        const at = bodyOf(SMALL_BODY, fields)
        const exact = pad === 'x' ? at : at.replace(/x{2}"}$/, 'é"}')
        assert.equal(Buffer.byteLength(exact), SMALL_BODY)
        const r = await inject(fp, op, {
          method: op.method,
          url: urlOf(op),
          headers: { ...authFor(op, fields), 'content-type': 'application/json' },
          payload: exact,
        })
        assert.notEqual(r.statusCode, 413, `${op.method} ${op.path}: ${r.body}`)
        const over = bodyOf(SMALL_BODY + 1, fields)
        const o = await inject(fp, op, {
          method: op.method,
          url: urlOf(op),
          headers: { ...authFor(op, fields), 'content-type': 'application/json' },
          payload: over,
        })
        assert.equal(o.statusCode, 413, `${op.method} ${op.path}: ${o.body}`)
      }
      // a Content-Length that lies, either way
      for (const length of ['1', String(SMALL_BODY + 1), '99999999999999999999', '-1', 'abc']) {
        await inject(fp, op, {
          method: op.method,
          url: urlOf(op),
          headers: { ...authFor(op, {}, true), 'content-type': 'application/json', 'content-length': length },
          payload: '{"a": 1}',
        })
      }
    }
  })

  test('header garbage → 401 naming what is wrong, never 5xx', async () => {
    const nowS = Math.floor(fp.clock.now() / 1000)
    const spoiled: Array<[string, string, string]> = [
      ['X-Key', '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQYä', 'POOL_ERR_AUTH_BAD_ADDRESS'],
      ['X-Key', '💥'.repeat(30), 'POOL_ERR_AUTH_BAD_ADDRESS'],
      ['X-Key', miner.hotkey.slice(0, -1), 'POOL_ERR_AUTH_BAD_ADDRESS'],
      ['X-Key', 'a'.repeat(10_000), 'POOL_ERR_AUTH_BAD_ADDRESS'],
      ['X-Key', '\u0000', 'POOL_ERR_AUTH_BAD_ADDRESS'],
      ['X-Key', '', 'POOL_ERR_AUTH_MISSING_HEADER'],
      ['X-Timestamp', '1e3', 'POOL_ERR_AUTH_BAD_TIMESTAMP'],
      ['X-Timestamp', '-1', 'POOL_ERR_AUTH_BAD_TIMESTAMP'],
      ['X-Timestamp', '0x10', 'POOL_ERR_AUTH_BAD_TIMESTAMP'],
      ['X-Timestamp', '9'.repeat(20), 'POOL_ERR_AUTH_BAD_TIMESTAMP'],
      ['X-Timestamp', `${nowS}.5`, 'POOL_ERR_AUTH_BAD_TIMESTAMP'],
      ['X-Timestamp', '١٧٠٠٠٠٠٠٠٠', 'POOL_ERR_AUTH_BAD_TIMESTAMP'],
      ['X-Timestamp', '0', 'POOL_ERR_AUTH_STALE_TIMESTAMP'],
      ['X-Timestamp', '9'.repeat(15), 'POOL_ERR_AUTH_STALE_TIMESTAMP'],
      ['X-Signature', '0'.repeat(128), 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', 'zz'.repeat(64), 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', `0x${'0'.repeat(128)}`, 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', '00 '.repeat(64), 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', `${'ab'.repeat(32)} ${'ab'.repeat(32)}`, 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', 'f'.repeat(127), 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', 'ff'.repeat(64), 'POOL_ERR_AUTH_BAD_SIGNATURE'],
      ['X-Signature', '💥'.repeat(64), 'POOL_ERR_AUTH_BAD_SIGNATURE'],
    ]
    // bodies that pass validation, so that authentication is what decides (validation runs first)
    const minimal: Record<string, unknown> = {
      '/api/v1/tasks/{batch_id}/submit_evolution': { evolved_function: 'x', parent_functions: [1] },
      '/api/v1/tasks/{batch_id}/submit_evaluation': { evaluations: [] },
    }
    for (const op of signedOps) {
      const body = op.recipientSigned
        ? { recipient_coldkey: recipient }
        : op.body === undefined
          ? undefined
          : (minimal[op.path] ?? {})
      for (const [name, value, code] of spoiled) {
        const headers = {
          ...authFor(op, body ?? {}, true),
          [name]: value,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        }
        const r = await inject(fp, op, {
          method: op.method,
          url: urlOf(op),
          headers,
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        })
        assert.equal(r.statusCode, 401, `${op.method} ${op.path} ${name}=${value.slice(0, 40)}: ${r.body}`)
        assert.equal(r.json().code, code, `${op.method} ${op.path} ${name}=${value.slice(0, 40)}`)
      }
      // duplicated headers (an array after parsing) and headers that differ only in case
      const h = authFor(op, body ?? {}, true)
      for (const headers of [
        Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v, v]])),
        Object.fromEntries(Object.entries(h).map(([k, v]) => [k, ['garbage', v]])),
        { ...h, 'x-key': [h['X-Key']!, miner.hotkey] },
        { ...Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v])), 'X-KEY': 'garbage' },
      ]) {
        await inject(fp, op, {
          method: op.method,
          url: urlOf(op),
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
        })
      }
    }
  })

  test('very long URLs and query strings', async () => {
    const long = 'a'.repeat(100_000)
    for (const op of new Set([...signedOps, ...writes])) {
      const url = urlOf(op)
      for (const u of [
        `${url}?${long}`,
        `${url}?limit=${long}`,
        `${url}?${'a=1&'.repeat(20_000)}`,
        `${url}/${long}`,
        `${url.replace(/[^/]+$/, long)}`,
        `/${long}${url}`,
      ]) {
        await inject(fp, undefined, { method: op.method, url: u, headers: authFor(op, {}, true) })
      }
    }
  })

  test('__proto__ and constructor keys are ignored and pollute nothing', async () => {
    const poisons = [
      '{"__proto__": {"polluted": "yes", "eval_batch_size": 64}}',
      '{"constructor": {"prototype": {"polluted": "yes"}}}',
      '{"evaluations": [{"__proto__": {"polluted": "yes"}, "algorithm_id": 1, "score": 0.5}], "evolutions": []}',
      '{"a": {"b": {"__proto__": {"polluted": "yes"}}}, "recipient_coldkey": "RECIPIENT"}',
      '{"recipient_coldkey": "RECIPIENT", "__proto__": {"recipient_coldkey": "x"}, "constructor": {"prototype": {"polluted": "yes"}}}',
      '[{"__proto__": {"polluted": "yes"}}]',
    ]
    for (const op of writes) {
      for (const poison of poisons) {
        const text = poison.replace('RECIPIENT', recipient)
        const r = await inject(fp, op, {
          method: op.method,
          url: urlOf(op),
          headers: { ...authFor(op, JSON.parse(text)), 'content-type': 'application/json' },
          payload: text,
        })
        assert.notEqual(
          r.json().code,
          'POOL_ERR_MALFORMED_JSON',
          `${op.method} ${op.path} ${text}: prototype keys are removed, not refused: ${r.body}`,
        )
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
  })

  test('raw HTTP on a real socket: duplicate headers, long URLs, NUL bytes, lying lengths, broken chunking', async () => {
    await fp.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = fp.app.server.address() as { port: number }
    const nowS = Math.floor(fp.clock.now() / 1000)
    const h = signedHeaders(miner.key, nowS)
    const auth = `X-Key: ${h['X-Key']}\r\nX-Timestamp: ${h['X-Timestamp']}\r\nX-Signature: ${h['X-Signature']}\r\n`
    const rawRequests: Array<string | Buffer> = [
      `GET /api/v1/miners/stats HTTP/1.1\r\nHost: x\r\n${auth}X-Key: ${h['X-Key']}\r\nConnection: close\r\n\r\n`,
      `GET /api/v1/miners/stats HTTP/1.1\r\nHost: x\r\n${auth}X-Signature: ${'0'.repeat(128)}\r\nConnection: close\r\n\r\n`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"a": 1}`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${`400\r\n${'x'.repeat(1024)}\r\n`}${`400\r\n${'x'.repeat(1024)}\r\n`}${`400\r\n${'x'.repeat(1024)}\r\n`}0\r\n\r\n`,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}`,
      `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /health?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /api/v1/miners/recipient-coldkey/a\u0000b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /api/v1/miners/recipient-coldkey/a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      Buffer.concat([
        Buffer.from(`GET /api/v1/miners/stats HTTP/1.1\r\nHost: x\r\nX-Key: `),
        Buffer.from([0xff, 0xfe, 0x80]),
        Buffer.from(`\r\nX-Timestamp: ${nowS}\r\nX-Signature: ${'0'.repeat(128)}\r\nConnection: close\r\n\r\n`),
      ]),
      `GET /api/v1/miners/stats HTTP/1.1\r\nHost: x\r\nX-Key: ${h['X-Key']}\r\n  folded\r\nConnection: close\r\n\r\n`,
      `GET /health HTTP/1.1\r\nHost: x\r\n${'X-Junk: y\r\n'.repeat(2000)}Connection: close\r\n\r\n`,
      `BREW /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /health HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n`,
      'GET /health\r\n\r\n',
      '\r\n\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]
    for (const text of rawRequests) {
      const answer = await rawExchange(port, text)
      requests++
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0)
      assert.ok(status < 500, `${String(text).slice(0, 120)} → ${answer.slice(0, 300)}`)
      if (status >= 400 && /content-type: application\/json/i.test(answer)) {
        const body = JSON.parse(
          answer.slice(answer.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''),
        ) as Record<string, unknown>
        // Requests Node's HTTP parser refuses (bad framing, duplicate Content-Length, NUL in the request line,
        // headers over 16 KB) are answered by the app's clientErrorHandler in the same shape.
        assert.deepEqual(
          Object.keys(body).sort(),
          ['code', 'detail'],
          `${String(text).slice(0, 120)} → ${answer.slice(0, 300)}`,
        )
      }
    }
    // a body that never finishes: the client gives up half way
    await rawExchange(
      port,
      `POST /api/v1/miners/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a": `,
      200,
    )
  })

  test('the pool is healthy afterwards', async () => {
    await healthy(fp)
  })
})

/** Writes `text` to a fresh connection and returns what came back until the server closed it (or `giveUpMs`). */
async function rawExchange(port: number, text: string | Buffer, giveUpMs = 5000): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(text)
    })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(Buffer.concat(chunks).toString('latin1'))
    }, giveUpMs)
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', (err) => {
      clearTimeout(timer)
      ;(err as NodeJS.ErrnoException).code === 'ECONNRESET'
        ? resolve(Buffer.concat(chunks).toString('latin1'))
        : reject(err)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
  })
}

test('no unhandled rejection and no uncaught exception during the fuzzing', async () => {
  await new Promise((resolve) => setImmediate(resolve))
  const cpu = process.cpuUsage()
  console.log(`fuzz: ${requests} requests checked, ${Math.round((cpu.user + cpu.system) / 1000)} ms of CPU`)
  if (SURVEY)
    console.log(
      `survey: ${survey.size} distinct problems\n\n${[...survey].map(([k, v]) => `## ${k}\n${v}`).join('\n\n')}`,
    )
  assert.deepEqual(incidents, [])
})
