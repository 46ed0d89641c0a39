// The JSON body parser: plain JSON, plus the two tolerances clients need (NaN/-Infinity as a score,
// integers beyond 2^53 − 1 kept exact) and prototype-poisoning keys removed.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PoolError } from '../../src/errors.ts'
import { parseJsonBody } from '../../src/http/json-body.ts'

const malformed = (text: string, detail?: RegExp): void => {
  assert.throws(
    () => parseJsonBody(text),
    (err: unknown) => {
      assert.ok(err instanceof PoolError, `expected a PoolError for ${text}`)
      assert.equal(err.code, 'POOL_ERR_MALFORMED_JSON')
      assert.equal(err.statusCode, 400)
      assert.match(String(err.detail), detail ?? /^Malformed JSON body: /)
      return true
    },
    text,
  )
}

describe('plain JSON', () => {
  test('objects, arrays and scalars parse as JSON.parse would', () => {
    for (const text of [
      '{}',
      '[]',
      '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
      '"text"',
      '0',
      '-1.5e3',
      '  {"a" : 1 }\n',
    ]) {
      assert.deepEqual(parseJsonBody(text), JSON.parse(text), text)
    }
  })

  test('an empty or blank body reads as no body', () => {
    assert.equal(parseJsonBody(''), undefined)
    assert.equal(parseJsonBody(' \n\t'), undefined)
  })

  test('broken JSON → PoolError 400 POOL_ERR_MALFORMED_JSON', () => {
    for (const text of ['{', '{"a":}', "{'a':1}", '{"a":1,}', 'undefined', '{"a":1}x', '[1 2]', '{"a":"unterminated}'])
      malformed(text)
  })
})

describe('NaN and -Infinity only as a score', () => {
  test('in score position they read as null', () => {
    assert.deepEqual(parseJsonBody('{"score": NaN}'), { score: null })
    assert.deepEqual(parseJsonBody('{"score":-Infinity}'), { score: null })
    assert.deepEqual(
      parseJsonBody(
        '{"evaluations": [{"algorithm_id": 1, "score": -Infinity}, {"algorithm_id": 2, "score": NaN}, {"algorithm_id": 3, "score": 0.5}]}',
      ),
      {
        evaluations: [
          { algorithm_id: 1, score: null },
          { algorithm_id: 2, score: null },
          { algorithm_id: 3, score: 0.5 },
        ],
      },
    )
    assert.deepEqual(parseJsonBody('{"score"\n:\n  NaN\n, "x": "NaN"}'), { score: null, x: 'NaN' })
  })

  test('anywhere else they stay malformed, naming the token', () => {
    const cases = [
      '{"value": NaN}',
      '{"scores": [NaN]}',
      '{"score": [NaN]}',
      '[NaN]',
      'NaN',
      '-Infinity',
      '{"score": 1, "other": -Infinity}',
      '{"a": {"score": 1}, "b": NaN}',
      '["score", NaN]',
      '{"x": "score", "y": NaN}',
    ]
    for (const text of cases)
      malformed(text, /^Malformed JSON body: (NaN|-Infinity) is accepted only as a score, at position \d+$/)
  })

  test('positive Infinity is not tolerated, not even as a score', () => {
    malformed('{"score": Infinity}')
  })

  test('strings containing NaN or Infinity are left alone', () => {
    const text = '{"name": "NaN", "dsl": "x = -Infinity; y = NaN", "score": 0.25, "k\\"NaN": "\\"NaN\\""}'
    assert.deepEqual(parseJsonBody(text), JSON.parse(text))
  })

  test('a key that only contains "score" is not a score', () => {
    malformed('{"best_score": NaN}')
    malformed('{"score_s": -Infinity}')
  })
})

describe('integers beyond 2^53 − 1 keep every digit as decimal strings', () => {
  test('unsafe integers become strings, safe ones stay numbers', () => {
    assert.deepEqual(parseJsonBody('{"amount_units": 9007199254740991}'), { amount_units: 9007199254740991 })
    assert.deepEqual(parseJsonBody('{"amount_units": 9007199254740992}'), { amount_units: '9007199254740992' })
    assert.deepEqual(parseJsonBody('{"amount_units": 18446744073709551615}'), { amount_units: '18446744073709551615' })
    assert.deepEqual(parseJsonBody('[12345678901234567890, -12345678901234567890, 1]'), [
      '12345678901234567890',
      '-12345678901234567890',
      1,
    ])
    assert.deepEqual(parseJsonBody('{"a":{"b":[99999999999999999999]}}'), { a: { b: ['99999999999999999999'] } })
  })

  test('fractions and exponents stay numbers; digits inside strings are untouched', () => {
    // biome-ignore lint/correctness/noPrecisionLoss: the literal is the point: a client may send it
    assert.deepEqual(parseJsonBody('{"x": 12345678901234567.5, "y": 1e21}'), { x: 12345678901234567.5, y: 1e21 })
    assert.deepEqual(parseJsonBody('{"id": "12345678901234567890"}'), { id: '12345678901234567890' })
  })

  test('a huge integer next to a score token: both rewrites in one body', () => {
    assert.deepEqual(parseJsonBody('{"amount": 18446744073709551615, "score": NaN}'), {
      amount: '18446744073709551615',
      score: null,
    })
  })
})

describe('prototype poisoning', () => {
  test('__proto__ keys are removed, at any depth', () => {
    const parsed = parseJsonBody(
      '{"a": 1, "__proto__": {"admin": true}, "b": {"__proto__": {"x": 1}, "c": 2}}',
    ) as Record<string, unknown>
    assert.deepEqual(parsed, { a: 1, b: { c: 2 } })
    assert.equal(Object.hasOwn(parsed, '__proto__'), false)
    assert.equal(({} as Record<string, unknown>).admin, undefined)
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype)
  })

  test('constructor.prototype is removed', () => {
    const parsed = parseJsonBody('{"constructor": {"prototype": {"admin": true}}, "ok": 1}') as Record<string, unknown>
    assert.equal(parsed.ok, 1)
    assert.equal((parsed.constructor as { prototype?: unknown } | undefined)?.prototype, Object.prototype)
    assert.equal(({} as Record<string, unknown>).admin, undefined)
  })

  test('also when the body went through the NaN / big-integer rewrite', () => {
    assert.deepEqual(parseJsonBody('{"score": NaN, "__proto__": {"admin": true}, "n": 99999999999999999}'), {
      score: null,
      n: '99999999999999999',
    })
  })
})

describe('deep nesting', () => {
  test('10,000 nested arrays around "\\u0000" are refused as too deep (400), not a stack overflow', () => {
    malformed(`${'['.repeat(10_000)}"\\u0000"${']'.repeat(10_000)}`, /nested deeper than 64 levels/)
    malformed(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, /nested deeper than 64 levels/)
  })

  test('64 levels parse; brackets inside strings do not count', () => {
    const deep = `${'['.repeat(64)}1${']'.repeat(64)}`
    assert.doesNotThrow(() => parseJsonBody(deep))
    malformed(`[${deep}]`, /nested deeper than 64/)
    assert.deepEqual(parseJsonBody(`{"s": "${'['.repeat(1000)}"}`), { s: '['.repeat(1000) })
  })

  test('a NUL character is found at any allowed depth and in keys', () => {
    malformed(`${'['.repeat(60)}"a\\u0000"${']'.repeat(60)}`, /NUL characters/)
    malformed('{"ok": 1, "k\\u0000": 2}', /NUL characters/)
  })

  test('a wide array of 200,000 strings is checked without recursion', () => {
    const wide = JSON.stringify(Array.from({ length: 200_000 }, () => 'x')).replace(/]$/, ',"\\u0000"]')
    malformed(wide, /NUL characters/)
  })
})
