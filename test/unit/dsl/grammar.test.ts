// What the pool accepts, how it reads it, and what it refuses, beyond the miners' corpus: each refusal is
// a leniency of the miners' parser that would drop tokens or change meaning.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DslError, parseDsl, validateAlgorithm, type DslProgram } from '../../../src/domain/dsl/index.ts'

const hash = (text: string, inputDim = 16): string => validateAlgorithm(text, { inputDim }).hash
const read = (text: string, inputDim = 16): DslProgram => parseDsl(text, { inputDim })
const ops = (program: DslProgram, phase: 'setup' | 'predict' | 'learn') =>
  program[phase].map((x) => [x.op, x.in1, x.in2, x.out, x.const1, x.const2])

describe('one program, several spellings', () => {
  const same: Array<[string, string, string]> = [
    ['a constant and its float32 spelling', 's2 = 0.1\ns0 = s2', 's2 = 0.10000000149011612\ns0 = s2'],
    ['digits the float32 cannot hold', 's2 = 0.1\ns0 = s2', 's2 = 0.100000001\ns0 = s2'],
    ['dot(m, v) and matmul(m, v)', 'v1 = dot(m0, v0)\ns0 = norm(v1)', 'v1 = matmul(m0, v0)\ns0 = norm(v1)'],
    ['dot(m, m) and matmul(m, m)', 'm1 = dot(m0, m2)\ns0 = s1', 'm1 = matmul(m0, m2)\ns0 = s1'],
    ['gaussian() and its defaults', 's3 = gaussian()\ns0 = s3', 's3 = gaussian(0, 1)\ns0 = s3'],
    ['uniform(a) and uniform(a, 1)', 's3 = uniform(0.5)\ns0 = s3', 's3 = uniform(0.5, 1.0)\ns0 = s3'],
    ['heaviside with and without 1.0', 's0 = heaviside(s2)', 's0 = heaviside(s2, 1.0)'],
    ['the CONST arrow', 's2 = -1.5e-3\ns0 = s2', 'CONST -0.0015 -> s2\ns0 = s2'],
    [
      'caps, comments, headers and layout',
      '# meta: scalar_count=20\n# predict\ns0 = s1 + s2',
      '# meta: setup_max_ops=99\ndef Setup():\n  NoOp()\ndef Predict():  # the model\n\ts0=s1+s2\r\n',
    ],
    ['an element index with leading zeros', 'v1[3] = 2\ns0 = s1', 'v1[003] = 2.0\ns0 = s1'],
    ['vector_dim below the input dimension', '# meta: vector_dim=4\ns0 = s1', '# meta: vector_dim=16\ns0 = s1'],
  ]
  for (const [name, a, b] of same) {
    it(name, () => assert.equal(hash(a), hash(b)))
  }

  const different: Array<[string, string, string]> = [
    ['dot(v, m) is not a matrix product', 's0 = dot(v1, m0)', 'v0 = dot(m0, v1)'],
    ["0.0 and -0.0 (distinct float32 bits, as in the miners' fingerprint)", 's2 = 0.0\ns0 = s2', 's2 = -0.0\ns0 = s2'],
    ['a different register file', '# meta: scalar_count=20\ns0 = s1', '# meta: scalar_count=19\ns0 = s1'],
    ['a different phase', 'def Setup():\n  s0 = s1', 'def Learn():\n  s0 = s1'],
    ['constants one float32 step apart', 's2 = 1.0\ns0 = s2', 's2 = 1.0000001\ns0 = s2'],
  ]
  for (const [name, a, b] of different) {
    it(`different: ${name}`, () => assert.notEqual(hash(a), hash(b)))
  }

  it("the task's input dimension is part of the identity, as in the miners' fingerprint", () => {
    assert.notEqual(hash('s0 = s1', 16), hash('s0 = s1', 4))
    assert.equal(read('s0 = s1', 32).meta.vector_dim, 32)
    assert.equal(read('# meta: vector_dim=8\ns0 = s1', 4).meta.vector_dim, 8)
  })
})

describe("reads as the miners' parser reads", () => {
  it('switches phase on any # line naming a phase, as their parser does', () => {
    const program = read('s2 = 1.0\n# learn: SGD step\ns3 = 2.0\n# a predict note\ns0 = s3')
    assert.deepEqual([program.setup.length, program.predict.length, program.learn.length], [0, 2, 1])
    assert.deepEqual(ops(program, 'learn'), [['CONST', -1, -1, 3, 2, 0]])
  })

  it('a meta line naming setup_max_ops switches to setup, as their parser does', () => {
    const program = read('# meta: scalar_count=8 setup_max_ops=5\ns2 = 1.0\n# predict:\ns0 = s2')
    assert.deepEqual(ops(program, 'setup'), [['CONST', -1, -1, 2, 1, 0]])
    assert.equal(program.caps.setup, 5)
  })

  it('sizes each phase to its declared slots, grown to its lines (NoOp() lines count)', () => {
    const lines = Array.from({ length: 33 }, (_, i) => (i % 3 === 0 ? 'NoOp()' : 's0 = s1'))
    // The meta line names learn_max_ops, so it switches to learn: the predict header is needed.
    const program = read(`# meta: learn_max_ops=2\n# predict\n${lines.join('\n')}`)
    assert.deepEqual(program.caps, { setup: 30, predict: 33, learn: 2 })
    assert.equal(program.predict.length, 22)
  })

  it('reads the meta line wherever it stands', () => {
    assert.equal(read('s0 = s1\n# meta: vector_count=3').meta.vector_count, 3)
  })

  it('accepts an empty phase written as NoOp()', () => {
    const program = read('def Setup():\n  s2 = 1.0\ndef Predict():\n  NoOp()\ndef Learn():\n  NoOp()')
    assert.deepEqual([program.setup.length, program.predict.length, program.learn.length], [1, 0, 0])
  })
})

interface Refusal {
  name: string
  text: string
  line: number
  reason: RegExp
}

const REFUSALS: Refusal[] = [
  // tokens their parser would drop
  {
    name: 'trailing tokens after a binary operation',
    text: 's0 = s1 + s2 + s3',
    line: 1,
    reason: /unexpected "\+ s3" after the statement/,
  },
  { name: 'trailing garbage after a binary operation', text: 's0 = s1 * s2 x', line: 1, reason: /unexpected "x"/ },
  {
    name: 'an extra argument to a unary function',
    text: 's0 = abs(s1, s2)',
    line: 1,
    reason: /abs takes 1 argument, got 2/,
  },
  {
    name: 'a third random parameter',
    text: 's0 = gaussian(0, 1, 2)',
    line: 1,
    reason: /gaussian takes 0 to 2 arguments, got 3/,
  },
  { name: 'an empty argument', text: 's0 = gaussian(, 1)', line: 1, reason: /empty argument/ },
  {
    name: 'a second heaviside argument other than 1.0',
    text: 's0 = heaviside(s1, 0.5)',
    line: 1,
    reason: /heaviside's second argument must be 1.0/,
  },
  {
    name: "a register as heaviside's second argument",
    text: 's0 = heaviside(s1, s2)',
    line: 1,
    reason: /heaviside's second argument/,
  },
  // arrow-form operand loss
  {
    name: 'an arrow operation with operands',
    text: 'ADD s1 s2 -> s0',
    line: 1,
    reason: /read only as `CONST <number> -> <register>`/,
  },
  { name: 'an arrow random fill', text: 'GAUSSIAN -> s0', line: 1, reason: /read only as `CONST/ },
  { name: 'CONST without its number', text: 'CONST -> s0', line: 1, reason: /CONST takes exactly one number/ },
  { name: 'CONST with two numbers', text: 'CONST 1 2 -> s0', line: 1, reason: /CONST takes exactly one number/ },
  { name: 'two arrows', text: 'CONST 1 -> s0 -> s1', line: 1, reason: /more than one "->"/ },
  // literal operands and other forms outside their grammar
  {
    name: 'a literal operand in a call',
    text: 'v3 = maximum(v2, 0)',
    line: 1,
    reason: /got the number "0" \(operands are registers/,
  },
  { name: 'a literal operand in arithmetic', text: 's0 = s1 * 0.5', line: 1, reason: /got the number "0.5"/ },
  { name: 'a negated register', text: 's0 = -s1', line: 1, reason: /negated registers/ },
  {
    name: 'a register as a random parameter',
    text: 's0 = uniform(s1, s2)',
    line: 1,
    reason: /expected a number, got "s1"/,
  },
  { name: 'an op the serializer never writes', text: 's0 = add(s1, s2)', line: 1, reason: /write `d = a \+ b`/ },
  { name: 'min instead of minimum', text: 's0 = min(s1, s2)', line: 1, reason: /write `minimum\(a, b\)`/ },
  { name: 'an unknown function', text: 's0 = relu(s1)', line: 1, reason: /unknown function "relu"/ },
  {
    name: 'a blank before the parenthesis',
    text: 's0 = sin (s1)',
    line: 1,
    reason: /expected a register \(sN, vN or mN\), got "sin"/,
  },
  { name: 'nested parentheses', text: 's0 = sin((s1))', line: 1, reason: /nested parentheses/ },
  { name: 'an unclosed call', text: 's0 = sin(s1', line: 1, reason: /missing its closing parenthesis/ },
  {
    name: 'an element index on a scalar',
    text: 's1[0] = 1',
    line: 1,
    reason: /only vector registers take an element index/,
  },
  {
    name: 'an element index past vector_dim',
    text: 'v1[16] = 1',
    line: 1,
    reason: /element index "16" out of range \(vector_dim=16\)/,
  },
  { name: 'blanks inside the element index', text: 'v1[ 2] = 1', line: 1, reason: /element index must be digits/ },
  // case folding
  { name: 'an uppercase register', text: 'S0 = 0.5', line: 1, reason: /registers are lowercase: write "s0"/ },
  {
    name: 'an uppercase function name',
    text: 's0 = SIN(s1)',
    line: 1,
    reason: /function names are lowercase: write sin/,
  },
  {
    name: 'an uppercase meta key',
    text: '# meta: VECTOR_DIM=8\ns0 = s1',
    line: 1,
    reason: /unknown meta key "VECTOR_DIM"/,
  },
  // digits, blanks and line breaks their patterns read differently
  { name: 'non-ASCII digits', text: 's0 = ٣', line: 1, reason: /unexpected character "٣"/ },
  { name: 'a no-break space', text: 's0 =\u00a0s1', line: 1, reason: /U\+00A0/ },
  { name: 'a lone carriage return', text: 's0 = s1\rs2 = s3', line: 1, reason: /unusual line break U\+000D/ },
  { name: 'a vertical tab', text: '# c\x0bs0 = s1', line: 1, reason: /unusual line break U\+000B/ },
  {
    name: 'a line separator in a comment',
    text: 's2 = s1\n# c\u2028s0 = s1',
    line: 2,
    reason: /unusual line break U\+2028/,
  },
  { name: 'a control character', text: 's0 = s1\x00', line: 1, reason: /control character U\+0000/ },
  { name: 'a byte-order mark', text: '\ufeffs0 = s1', line: 1, reason: /byte-order mark/ },
  { name: 'underscores in a number', text: 's0 = 1_000', line: 1, reason: /expected a number, got "1_000"/ },
  { name: 'a non-finite word', text: 's0 = inf', line: 1, reason: /expected a register \(sN, vN or mN\), got "inf"/ },
  { name: 'a float32 overflow', text: 's0 = 1e39', line: 1, reason: /too large for float32/ },
  // registers and meta
  {
    name: 'a register past its count',
    text: '# meta: scalar_count=4\ns0 = s4',
    line: 2,
    reason: /register "s4" out of range \(scalar_count=4\)/,
  },
  {
    name: "a scalar past the miners' scalar bank",
    text: '# meta: scalar_count=30\ns0 = s20',
    line: 2,
    reason: /past the miners' 20 scalar registers/,
  },
  {
    name: "a vector past the miners' vector bank",
    text: '# meta: vector_count=12\nv10 = v1',
    line: 2,
    reason: /past the miners' 10 vector registers/,
  },
  {
    name: 'a matrix past matrix_count',
    text: 'm5 = m1',
    line: 1,
    reason: /register "m5" out of range \(matrix_count=5\)/,
  },
  { name: 'a register with leading zeros', text: 's0 = s01', line: 1, reason: /without leading zeros/ },
  {
    name: 'a near-miss meta line they ignore',
    text: '#meta: vector_dim=8\ns0 = s1',
    line: 1,
    reason: /starts with "# meta:"/,
  },
  {
    name: 'a second meta line',
    text: '# meta: scalar_count=8\n# meta: vector_dim=8\ns0 = s1',
    line: 2,
    reason: /second meta line \(the first is line 1\)/,
  },
  {
    name: 'a repeated meta key',
    text: '# meta: scalar_count=8 scalar_count=9\ns0 = s1',
    line: 1,
    reason: /given twice/,
  },
  {
    name: 'an unknown meta key',
    text: '# meta: vectordim=8\ns0 = s1',
    line: 1,
    reason: /unknown meta key "vectordim"/,
  },
  { name: 'a meta alias', text: '# meta: setup_max=8\ns0 = s1', line: 1, reason: /unknown meta key "setup_max"/ },
  {
    name: 'a blank-separated meta entry',
    text: '# meta: scalar_count = 8\ns0 = s1',
    line: 1,
    reason: /meta entries are key=value, got "scalar_count"/,
  },
  {
    name: 'a comment on the meta line',
    text: '# meta: scalar_count=8 # small\ns0 = s1',
    line: 1,
    reason: /meta entries are key=value, got "#"/,
  },
  {
    name: 'a non-integer meta value',
    text: '# meta: vector_dim=1_6\ns0 = s1',
    line: 1,
    reason: /vector_dim must be an integer from 1 to 4096, got "1_6"/,
  },
  {
    name: 'a meta value out of range',
    text: '# meta: matrix_count=1001\ns0 = s1',
    line: 1,
    reason: /matrix_count must be an integer from 0 to 1000/,
  },
  // headers
  {
    name: 'a statement ending in a colon (they would drop it)',
    text: 's0 = s1:',
    line: 1,
    reason: /a line ending in ":" is a phase header/,
  },
  { name: 'a def header naming no phase', text: 'def Lern():\n  s0 = s1', line: 1, reason: /phase header/ },
  { name: 'a header with extra words', text: 'setup phase:\ns0 = s1', line: 1, reason: /phase header/ },
  // whole program
  { name: 'no instructions', text: '# setup\nNoOp()\n# predict\n', line: 0, reason: /program has no instructions/ },
  {
    name: 'the line counts blank and comment lines',
    text: '# c\n\n# predict:\n  s0 = s1\n\ns2 = ?',
    line: 6,
    reason: /expected a number, got "\?"/,
  },
]

describe('refused, naming the line', () => {
  for (const { name, text, line, reason } of REFUSALS) {
    it(name, () => {
      assert.throws(
        () => read(text),
        (err: unknown) => {
          assert.ok(err instanceof DslError, String(err))
          assert.equal(err.line, line, err.message)
          assert.match(err.reason, reason)
          assert.equal(err.message, `line ${line}: ${err.reason}`)
          return true
        },
      )
    })
  }

  it('refuses a program over the size limit before reading it', () => {
    assert.throws(
      () => read(`s0 = s1\n${'#'.repeat(20000)}`),
      /line 0: program is 20008 bytes, over the limit of 16384 bytes/,
    )
    assert.throws(() => parseDsl('s0 = s1 # é', { maxBytes: 11 }), /12 bytes/)
  })

  it('refuses what is not a string', () => {
    assert.throws(() => read(42 as unknown as string), /line 0: program must be a string/)
  })

  it('keeps error messages short whatever the input', () => {
    assert.throws(
      () => read(`s0 = ${'x'.repeat(10000)}`),
      (err: DslError) => err.message.length < 200,
    )
  })
})
