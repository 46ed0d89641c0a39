import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultMeta, parseDsl, validateAlgorithm, type Statement } from '../../../src/domain/dsl/index.ts'
import { DEF_STYLE_SAMPLE, HASH_STYLE_SAMPLE } from './samples.ts'

const s = (index: number) => ({ kind: 's', index }) as const
const v = (index: number) => ({ kind: 'v', index }) as const
const m = (index: number) => ({ kind: 'm', index }) as const

function predictOf(text: string): Statement[] {
  return parseDsl(text).predict
}

describe('parseDsl: spec samples', () => {
  it('parses the # header sample', () => {
    assert.deepEqual(parseDsl(HASH_STYLE_SAMPLE), {
      meta: {
        scalar_count: 20,
        vector_count: 10,
        matrix_count: 5,
        vector_dim: 26,
        setup_max_ops: 30,
        predict_max_ops: 30,
        learn_max_ops: 30,
      },
      setup: [{ kind: 'const', dest: s(1), value: 0.1 }],
      predict: [
        { kind: 'call', dest: s(2), fn: 'dot', args: [v(0), v(1)] },
        { kind: 'binary', dest: s(0), op: '+', left: s(1), right: s(2) },
      ],
      learn: [{ kind: 'binary', dest: s(3), op: '-', left: s(1), right: s(0) }],
    })
  })

  it('parses the def sample, dropping NoOp', () => {
    assert.deepEqual(parseDsl(DEF_STYLE_SAMPLE), {
      meta: { ...defaultMeta(), scalar_count: 5, vector_count: 9, matrix_count: 2, vector_dim: 16 },
      setup: [],
      predict: [
        { kind: 'call', dest: v(2), fn: 'dot', args: [m(0), v(0)] },
        { kind: 'call', dest: s(0), fn: 'dot', args: [v(2), v(0)] },
      ],
      learn: [],
    })
  })

  it('validateAlgorithm reports inputDim = vector_dim', () => {
    assert.equal(validateAlgorithm(HASH_STYLE_SAMPLE).inputDim, 26)
    assert.equal(validateAlgorithm('s0 = 1').inputDim, 16)
  })
})

describe('parseDsl: statements', () => {
  it('parses every statement shape', () => {
    assert.deepEqual(
      predictOf(
        ['s0 = -2.5', 'v1[3] = 7', 's2 = s3', 'm1 = m0 * 2', 's4 = 1 / s5', 's6 = gaussian()', 'v2 = uniform(-1, s1)'].join(
          '\n',
        ),
      ),
      [
        { kind: 'const', dest: s(0), value: -2.5 },
        { kind: 'set_element', dest: v(1), index: 3, value: 7 },
        { kind: 'copy', dest: s(2), src: s(3) },
        { kind: 'binary', dest: m(1), op: '*', left: m(0), right: 2 },
        { kind: 'binary', dest: s(4), op: '/', left: 1, right: s(5) },
        { kind: 'call', dest: s(6), fn: 'gaussian', args: [] },
        { kind: 'call', dest: v(2), fn: 'uniform', args: [-1, s(1)] },
      ],
    )
  })

  it('maps the arrow form onto the same statements', () => {
    assert.deepEqual(
      predictOf(
        ['CONST 0.5 -> s0', 'COPY s1 -> s2', 'SUB s1 -1 -> s3', 'DOT v0 v1 -> s4', 'abs s4 -> s5', 'Uniform -> v3'].join(
          '\n',
        ),
      ),
      [
        { kind: 'const', dest: s(0), value: 0.5 },
        { kind: 'copy', dest: s(2), src: s(1) },
        { kind: 'binary', dest: s(3), op: '-', left: s(1), right: -1 },
        { kind: 'call', dest: s(4), fn: 'dot', args: [v(0), v(1)] },
        { kind: 'call', dest: s(5), fn: 'abs', args: [s(4)] },
        { kind: 'call', dest: v(3), fn: 'uniform', args: [] },
      ],
    )
  })

  it('accepts tight spacing and signed literals', () => {
    assert.deepEqual(predictOf('s0=s1--1\ns2=dot(v0,v1)\ns3=+4'), [
      { kind: 'binary', dest: s(0), op: '-', left: s(1), right: -1 },
      { kind: 'call', dest: s(2), fn: 'dot', args: [v(0), v(1)] },
      { kind: 'const', dest: s(3), value: 4 },
    ])
  })

  it('normalises number spellings', () => {
    const values = predictOf(['s0 = .5', 's0 = 5.', 's0 = 1E3', 's0 = -0', 's0 = 1.50', 's0 = 15e-1', 's0 = 1e-400'].join('\n'))
    assert.deepEqual(
      values.map((st) => (st.kind === 'const' ? st.value : NaN)),
      [0.5, 5, 1000, 0, 1.5, 1.5, 0],
    )
    assert.ok(values.every((st) => st.kind === 'const' && !Object.is(st.value, -0)))
  })
})

describe('parseDsl: headers, comments and layout', () => {
  it('puts statements before any header into predict', () => {
    const program = parseDsl('s0 = 1\n# learn:\ns2 = 3')
    assert.equal(program.predict.length, 1)
    assert.equal(program.learn.length, 1)
  })

  it('accepts header spellings in any case, with or without #, colon or def', () => {
    const text = ['#SETUP', 's1 = 1', 'Predict:', 's0 = 2', 'def learn():', 's2 = 3'].join('\n')
    const program = parseDsl(text)
    assert.equal(program.setup.length, 1)
    assert.equal(program.predict.length, 1)
    assert.equal(program.learn.length, 1)
  })

  it('treats non-phase # lines and non-phase colon lines as comments', () => {
    const text = ['# setup phase follows', 'notes:', '# def Setup():', 's0 = 1  # inline', '## learn'].join('\n')
    const program = parseDsl(text)
    assert.deepEqual(program.predict, [{ kind: 'const', dest: s(0), value: 1 }])
    assert.deepEqual(program.setup, [])
    assert.deepEqual(program.learn, [])
  })

  it('appends to a phase whose header appears again', () => {
    const program = parseDsl('# predict:\ns0 = 1\n# learn:\ns1 = 1\n# predict:\ns0 = 2')
    assert.equal(program.predict.length, 2)
  })

  it('ignores indentation, blank lines, CRLF and a leading BOM', () => {
    const program = parseDsl('\uFEFF\r\n   \r\n\t# predict:\r\n\t\ts0 = 1\r\n')
    assert.deepEqual(program.predict, [{ kind: 'const', dest: s(0), value: 1 }])
  })

  it('does not count NoOp toward the op cap', () => {
    const program = parseDsl('# meta: predict_max_ops=1\nNoOp()\nnoop()\ns0 = 1\nNOOP ( )')
    assert.equal(program.predict.length, 1)
  })

  it('allows comments and blank lines before the meta line, and an empty meta', () => {
    assert.equal(parseDsl('# hello\n\n# meta: vector_dim=8\ns0 = 1').meta.vector_dim, 8)
    assert.deepEqual(parseDsl('# meta:\ns0 = 1').meta, defaultMeta())
  })

  it('accepts registers and caps exactly at their limits', () => {
    const text = ['# meta: scalar_count=3 vector_count=2 matrix_count=1 vector_dim=4 predict_max_ops=2', 's2 = m0', 'v1[3] = 1']
    assert.equal(parseDsl(text.join('\n')).predict.length, 2)
  })

  it('accepts a program at exactly maxBytes, counting UTF-8 bytes', () => {
    const comment = '# é\n' // 5 bytes, 4 UTF-16 units
    const text = `${comment}s0 = 1`
    assert.equal(parseDsl(text, { maxBytes: 11 }).predict.length, 1)
    assert.throws(() => parseDsl(text, { maxBytes: 10 }), /over the limit/)
  })
})
