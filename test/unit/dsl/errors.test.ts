import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DSL_DEFAULT_MAX_BYTES, DslError, parseDsl, validateAlgorithm } from '../../../src/domain/dsl/index.ts'

interface Case {
  name: string
  text: string
  line: number
  reason: string
  maxBytes?: number
}

const META = '# meta: scalar_count=4 vector_count=3 matrix_count=2 vector_dim=8 predict_max_ops=2 setup_max_ops=1'

const CASES: Case[] = [
  // registers
  { name: 'scalar index past scalar_count', text: 's0 = s20', line: 1, reason: 'register "s20" out of range (scalar_count=20)' },
  { name: 'destination past its count', text: `${META}\ns4 = 1`, line: 2, reason: 'out of range (scalar_count=4)' },
  { name: 'vector index past vector_count', text: `${META}\ns0 = norm(v3)`, line: 2, reason: '"v3" out of range (vector_count=3)' },
  { name: 'matrix index past matrix_count', text: `${META}\nMATMUL m2 v0 -> v1`, line: 2, reason: '"m2" out of range (matrix_count=2)' },
  { name: 'register with a leading zero', text: 's0 = s01', line: 1, reason: 'expected a register, got "s01"' },
  { name: 'unknown register letter', text: 'x0 = 1', line: 1, reason: 'expected a register, got "x0"' },
  { name: 'huge register index', text: 's0 = s99999999999999999999999', line: 1, reason: 'out of range' },

  // op caps
  { name: 'predict over its cap', text: `${META}\ns0 = 1\ns1 = 2\ns2 = 3`, line: 4, reason: 'predict phase exceeds predict_max_ops=2' },
  { name: 'setup over its cap', text: `${META}\n# setup:\ns1 = 1\n\ns2 = 1\n# predict:\ns0 = 1`, line: 5, reason: 'setup phase exceeds setup_max_ops=1' },
  { name: 'default cap of 30', text: Array.from({ length: 31 }, () => 's0 = 1').join('\n'), line: 31, reason: 'predict_max_ops=30' },

  // functions and arity
  { name: 'unknown function', text: 's0 = relu(s1)', line: 1, reason: 'unknown function "relu"' },
  { name: 'function names are lowercase in the = form', text: 's0 = ABS(s1)', line: 1, reason: 'unknown function "ABS"' },
  { name: 'unary with two arguments', text: 's0 = abs(s1, s2)', line: 1, reason: 'abs takes 1 argument, got 2' },
  { name: 'binary with one argument', text: 's0 = dot(v1)', line: 1, reason: 'dot takes 2 arguments, got 1' },
  { name: 'random with one argument', text: 's0 = gaussian(1)', line: 1, reason: 'gaussian takes 0 or 2 arguments, got 1' },
  { name: 'random with a vector argument', text: 'v1 = uniform(v0, 1)', line: 1, reason: 'uniform arguments must be numbers or scalar registers' },
  { name: 'arrow unary with no operand', text: 'EXP -> s0', line: 1, reason: 'exp takes 1 argument, got 0' },
  { name: 'arrow ADD with one operand', text: 'ADD s1 -> s0', line: 1, reason: 'ADD takes 2 operands, got 1' },
  { name: 'arrow CONST of a register', text: 'CONST s1 -> s0', line: 1, reason: 'CONST takes exactly one number' },
  { name: 'arrow COPY of a number', text: 'COPY 1 -> s0', line: 1, reason: 'COPY takes exactly one register' },
  { name: 'unknown arrow operation', text: 'FOO s1 -> s0', line: 1, reason: 'unknown operation "FOO"' },
  { name: 'arrow without destination', text: 'ADD s1 s2 ->', line: 1, reason: 'expected a register, got end of line' },
  { name: 'arrow destination not a register', text: 'ADD s1 s2 -> 3', line: 1, reason: 'expected a register, got "3"' },

  // garbage
  { name: 'unexpected character', text: 's0 = s1 $ s2', line: 1, reason: 'unexpected character "$"' },
  { name: 'non-ASCII character', text: 's0 = s1 × s2', line: 1, reason: 'unexpected character "×"' },
  { name: 'missing operator', text: 's0 = s1 s2', line: 1, reason: 'expected an operator (+ - * /), got "s2"' },
  { name: 'trailing operator', text: 's0 = s1 +', line: 1, reason: 'expected a register or number, got end of line' },
  { name: 'chained operators', text: 's0 = s1 + s2 + s3', line: 1, reason: 'unexpected "+" after end of statement' },
  { name: 'double equals', text: 's0 == s1', line: 1, reason: 'expected a register or number, got "="' },
  { name: 'missing equals', text: 's0 s1', line: 1, reason: 'expected "=", got "s1"' },
  { name: 'parenthesised operand', text: 's0 = (s1)', line: 1, reason: 'expected a register or number, got "("' },
  { name: 'unterminated call', text: 's0 = abs(s1', line: 1, reason: 'expected ")", got end of line' },
  { name: 'empty right-hand side', text: 's0 =', line: 1, reason: 'expected a register or number, got end of line' },
  { name: 'negated register', text: 's0 = -s1', line: 1, reason: 'expected a number, got "s1"' },
  { name: 'prose', text: 'hello world', line: 1, reason: 'expected a register, got "hello"' },
  { name: 'number glued to a name', text: 's0 = 2x', line: 1, reason: 'expected an operator (+ - * /), got "x"' },
  { name: 'garbage after a call', text: 's0 = abs(s1) s2', line: 1, reason: 'unexpected "s2" after end of statement' },
  { name: 'error line counts blank and comment lines', text: '# c\n\n# predict:\n  s0 = 1\n\ns1 = ?', line: 6, reason: 'unexpected character "?"' },
  { name: 'error line with CRLF endings', text: 's0 = 1\r\ns1 = 2\r\ns2 = @', line: 3, reason: 'unexpected character "@"' },
  { name: 'misspelt def header', text: 'def Lern():\n  s0 = 1', line: 1, reason: 'def header must be one of' },
  { name: 'def header without parentheses', text: 'def Predict:\n  s0 = 1', line: 1, reason: 'def header must be one of' },

  // element assignment
  { name: 'element index at vector_dim', text: 'v1[16] = 1', line: 1, reason: 'element index 16 out of range (vector_dim=16)' },
  { name: 'element index past a custom vector_dim', text: `${META}\nv1[8] = 1`, line: 2, reason: '(vector_dim=8)' },
  { name: 'indexing a scalar', text: 's1[0] = 1', line: 1, reason: 'only vector registers can be indexed' },
  { name: 'fractional element index', text: 'v1[1.5] = 1', line: 1, reason: 'vector element index must be a non-negative integer, got "1.5"' },
  { name: 'negative element index', text: 'v1[-1] = 1', line: 1, reason: 'must be a non-negative integer, got "-"' },
  { name: 'element set from a register', text: 'v1[0] = s1', line: 1, reason: 'expected a number, got "s1"' },
  { name: 'unclosed element index', text: 'v1[0 = 1', line: 1, reason: 'expected "]", got "="' },

  // numbers
  { name: 'overflowing literal', text: 's0 = 1e999', line: 1, reason: 'non-finite number "1e999" is not allowed' },
  { name: 'negative overflowing literal', text: 's0 = -1e999', line: 1, reason: 'non-finite number' },
  { name: 'overflowing operand', text: 's0 = s1 * 1e309', line: 1, reason: 'non-finite number' },
  { name: 'overflowing arrow constant', text: 'CONST 1e400 -> s0', line: 1, reason: 'non-finite number' },
  { name: 'overflowing element value', text: 'v1[0] = 1e400', line: 1, reason: 'non-finite number' },
  { name: 'inf literal', text: 's0 = inf', line: 1, reason: 'non-finite number "inf" is not allowed' },
  { name: 'negative Infinity literal', text: 's0 = -Infinity', line: 1, reason: 'non-finite number "Infinity"' },
  { name: 'NaN argument', text: 's0 = maximum(s1, NaN)', line: 1, reason: 'non-finite number "NaN"' },

  // meta
  { name: 'unknown meta key', text: '# meta: foo=1\ns0 = 1', line: 1, reason: 'unknown meta key "foo"' },
  { name: 'meta key in wrong case', text: '# meta: Vector_Dim=8\ns0 = 1', line: 1, reason: 'unknown meta key "Vector_Dim"' },
  { name: 'zero count', text: '# meta: vector_count=0\ns0 = 1', line: 1, reason: 'meta vector_count must be an integer from 1 to 1000, got "0"' },
  { name: 'scalar_count below 2', text: '# meta: scalar_count=1\ns0 = 1', line: 1, reason: 'scalar_count must be an integer from 2 to 1000' },
  { name: 'vector_dim too large', text: '# meta: vector_dim=4097\ns0 = 1', line: 1, reason: 'vector_dim must be an integer from 1 to 4096, got "4097"' },
  { name: 'op cap too large', text: '# meta: learn_max_ops=10001\ns0 = 1', line: 1, reason: 'learn_max_ops must be an integer from 1 to 10000' },
  { name: 'fractional meta value', text: '# meta: vector_dim=1.5\ns0 = 1', line: 1, reason: 'got "1.5"' },
  { name: 'negative meta value', text: '# meta: vector_dim=-3\ns0 = 1', line: 1, reason: 'got "-"' },
  { name: 'exponent meta value', text: '# meta: vector_dim=1e3\ns0 = 1', line: 1, reason: 'got "1e3"' },
  { name: 'word meta value', text: '# meta: vector_dim=big\ns0 = 1', line: 1, reason: 'got "big"' },
  { name: 'meta key without value', text: '# meta: vector_dim\ns0 = 1', line: 1, reason: 'expected "=" after meta key vector_dim' },
  { name: 'meta value missing', text: '# meta: vector_dim=\ns0 = 1', line: 1, reason: 'got end of line' },
  { name: 'meta pair without key', text: '# meta: =5\ns0 = 1', line: 1, reason: 'expected a meta key, got "="' },
  { name: 'duplicate meta key', text: '# meta: vector_dim=8 vector_dim=8\ns0 = 1', line: 1, reason: 'duplicate meta key vector_dim' },
  { name: 'duplicate meta line', text: '# meta: vector_dim=8\n# meta: vector_dim=8\ns0 = 1', line: 2, reason: 'duplicate meta line (first on line 1)' },
  { name: 'meta after a statement', text: 's0 = 1\n# meta: vector_dim=8', line: 2, reason: 'meta line must come before phase headers and statements' },
  { name: 'meta after a header', text: '# predict:\n# meta: vector_dim=8\ns0 = 1', line: 2, reason: 'meta line must come before' },

  // whole program
  { name: 'empty text', text: '', line: 0, reason: 'program has no statements' },
  { name: 'only comments and headers', text: '# meta: vector_dim=8\n# setup:\n# hi\n# predict:', line: 0, reason: 'program has no statements' },
  { name: 'only NoOp', text: 'def Setup():\n  NoOp()\ndef Predict():\n  NoOp()', line: 0, reason: 'program has no statements' },
  { name: 'empty predict', text: '# setup:\ns1 = 1\n# learn:\ns2 = 1', line: 0, reason: 'predict phase has no statements' },
  { name: 'over the default size', text: `s0 = 1\n#${'x'.repeat(DSL_DEFAULT_MAX_BYTES)}`, line: 0, reason: `over the limit of ${DSL_DEFAULT_MAX_BYTES} bytes` },
  { name: 'over a custom size', text: 's0 = 1', maxBytes: 5, line: 0, reason: 'program is 6 bytes, over the limit of 5 bytes' },
  { name: 'size counts UTF-8 bytes', text: `s0 = 1#${'é'.repeat(5000)}`, maxBytes: 10000, line: 0, reason: 'program is 10007 bytes' },
]

describe('parseDsl rejects invalid programs with the line and reason', () => {
  for (const c of CASES) {
    it(c.name, () => {
      assert.throws(
        () => validateAlgorithm(c.text, c.maxBytes === undefined ? undefined : { maxBytes: c.maxBytes }),
        (error: unknown) => {
          assert.ok(error instanceof DslError, `expected DslError, got ${String(error)}`)
          assert.equal(error.line, c.line, error.message)
          assert.ok(error.reason.includes(c.reason), `reason ${JSON.stringify(error.reason)} lacks ${JSON.stringify(c.reason)}`)
          assert.equal(error.message, `line ${c.line}: ${error.reason}`)
          return true
        },
      )
    })
  }
})

describe('parseDsl input guards', () => {
  it('rejects non-string input with a DslError on line 0', () => {
    for (const input of [undefined, null, 42, {}, ['s0 = 1']]) {
      assert.throws(
        () => parseDsl(input as unknown as string),
        (error: unknown) => error instanceof DslError && error.line === 0 && error.reason === 'program must be a string',
      )
    }
  })

  it('rejects a nonsensical maxBytes option as a programming error', () => {
    assert.throws(() => parseDsl('s0 = 1', { maxBytes: 0 }), RangeError)
    assert.throws(() => parseDsl('s0 = 1', { maxBytes: Number.NaN }), RangeError)
  })

  it('cuts hostile tokens short in error messages', () => {
    const long = `s${'9'.repeat(5000)}`
    assert.throws(
      () => parseDsl(`s0 = ${long}`),
      (error: unknown) => error instanceof DslError && error.message.length < 120,
    )
  })
})
