import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { canonicalHash, parseDsl, printCanonical, validateAlgorithm } from '../../../src/domain/dsl/index.ts'
import { DEF_STYLE_SAMPLE, HASH_STYLE_SAMPLE } from './samples.ts'

const hashOf = (text: string) => canonicalHash(parseDsl(text))

function assertSameHash(a: string, b: string): void {
  assert.equal(hashOf(a), hashOf(b), `\n${a}\n--- vs ---\n${b}`)
}

describe('printCanonical', () => {
  it('prints every meta key, every phase header and normalised statements', () => {
    const text = 'def Learn():\n  ADD s1 -0.0 -> s3\ndef Predict():\n  s0=maximum( v1 ,1.50e0 )\n  v2[3]=-2E-3\n  s2 = s3'
    assert.equal(
      printCanonical(parseDsl(text)),
      [
        '# meta: scalar_count=20 vector_count=10 matrix_count=5 vector_dim=16 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30',
        '# setup:',
        '# predict:',
        's0 = maximum(v1, 1.5)',
        'v2[3] = -0.002',
        's2 = s3',
        '# learn:',
        's3 = s1 + 0',
        '',
      ].join('\n'),
    )
  })

  it('is what the # sample already is, and the def sample prints with empty phases', () => {
    assert.equal(printCanonical(parseDsl(HASH_STYLE_SAMPLE)), HASH_STYLE_SAMPLE)
    assert.match(printCanonical(parseDsl(DEF_STYLE_SAMPLE)), /^# setup:\n# predict:\n/m)
  })

  it('uses the shortest round-trip number form', () => {
    const canonical = printCanonical(parseDsl('s0 = 0.1\ns1 = 1e21\ns2 = 1000000000000000000000.0\ns3 = 1e-7\ns4 = 100'))
    assert.match(canonical, /s0 = 0\.1\ns1 = 1e\+21\ns2 = 1e\+21\ns3 = 1e-7\ns4 = 100\n/)
  })
})

describe('canonicalHash', () => {
  it('is lowercase sha256 hex and matches validateAlgorithm', () => {
    const result = validateAlgorithm(HASH_STYLE_SAMPLE)
    assert.match(result.hash, /^[0-9a-f]{64}$/)
    assert.equal(result.hash, canonicalHash(result.program))
    assert.equal(result.canonical, printCanonical(result.program))
  })

  it('is the same for the arrow and = forms', () => {
    assertSameHash(
      'CONST 0.5 -> s0\nCOPY s0 -> s1\nADD s1 2 -> s2\nSUB s1 s2 -> s3\nMUL s3 s3 -> s4\nDIV s4 s3 -> s5\nDOT v0 v1 -> s6\nNORM v0 -> s7\nGAUSSIAN 0 1 -> v2\nuniform -> m0',
      's0 = 0.5\ns1 = s0\ns2 = s1 + 2\ns3 = s1 - s2\ns4 = s3 * s3\ns5 = s4 / s3\ns6 = dot(v0, v1)\ns7 = norm(v0)\nv2 = gaussian(0, 1)\nm0 = uniform()',
    )
  })

  it('is the same for the def style and the # style of one program', () => {
    assertSameHash(
      DEF_STYLE_SAMPLE,
      '# meta: scalar_count=5 vector_count=9 matrix_count=2 vector_dim=16\n# setup:\n# predict:\nv2 = dot(m0, v0)\ns0 = dot(v2, v0)\n# learn:\n',
    )
    assertSameHash(
      'def Setup():\n    s1 = 0.1\ndef Predict():\n    s0 = s1\ndef Learn():\n    s2 = s0',
      '# learn:\ns2 = s0\n# setup:\ns1 = 0.1\n# predict:\ns0 = s1',
    )
  })

  it('ignores comments, whitespace, blank lines and number spelling', () => {
    assertSameHash(
      HASH_STYLE_SAMPLE,
      [
        '# An SGD-ish toy model',
        '#   meta:   vector_dim=0026   scalar_count=20   # trailing note',
        '',
        '#setup',
        '\ts1=1e-1',
        'notes:',
        '#Predict:',
        '   s2   =   dot( v0 ,v1 )   # projection',
        '   s0=s1+s2',
        '',
        'LEARN:',
        '  s3 = s1 - s0  # residual',
        '',
      ].join('\r\n'),
    )
    assertSameHash('s0 = 1.5\ns1 = s0 * -0', 's0 = +000150e-2 # x\ns1 = s0 * 0.0E0')
  })

  it('treats omitted meta keys as their defaults', () => {
    assertSameHash(
      '# meta: scalar_count=20 vector_count=10 matrix_count=5 vector_dim=16 setup_max_ops=30 predict_max_ops=30 learn_max_ops=30\ns0 = 1',
      's0 = 1',
    )
    assertSameHash('# meta: learn_max_ops=30 vector_dim=16\ns0 = 1', '# meta:\ns0 = 1')
  })

  it('treats a NoOp-only phase as an empty phase', () => {
    assertSameHash('def Setup():\n  NoOp()\ndef Predict():\n  s0 = 1\n  NoOp()', 's0 = 1')
  })

  it('differs when the program differs', () => {
    const hashes = new Set(
      ['s0 = 1', 's0 = 2', 's1 = 1', '# learn:\ns2 = 1\n# predict:\ns0 = 1', '# meta: vector_dim=8\ns0 = 1', 's0 = s1 - s2', 's0 = s2 - s1'].map(
        hashOf,
      ),
    )
    assert.equal(hashes.size, 7)
  })
})
