// Every program of the miners' own corpus (test/fixtures/dsl-upstream.json, see its README row): the pool
// accepts exactly what their parser accepts, reads it as they do, and hashes by their identity.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import {
  DslError,
  type PHASES,
  identityBytes,
  parseDsl,
  printCanonical,
  validateAlgorithm,
  type DslProgram,
} from '../../../src/domain/dsl/index.ts'

interface Reading {
  meta: { scalar_count: number; vector_count: number; matrix_count: number; vector_dim: number }
  caps: { setup: number; predict: number; learn: number }
  setup: Array<[string, number, number, number, number, number]>
  predict: Array<[string, number, number, number, number, number]>
  learn: Array<[string, number, number, number, number, number]>
}

interface Entry {
  id: string
  source: string
  group: string | null
  input_dim: number
  text: string
  reference: { accepted: boolean; parses: boolean; identity: string | null; program: Reading | null }
}

const CORPUS = JSON.parse(readFileSync(new URL('../../fixtures/dsl-upstream.json', import.meta.url), 'utf8')) as {
  programs: Entry[]
}
const CURRENT_FORMAT = 'upstream to_dsl (current format)'

/** The pool's reading in the corpus's layout: [op, in1, in2, out, const1, const2] per instruction. */
function asReading(program: DslProgram): Reading {
  const phase = (name: (typeof PHASES)[number]) =>
    program[name].map(
      (x) => [x.op, x.in1, x.in2, x.out, x.const1, x.const2] as [string, number, number, number, number, number],
    )
  return {
    meta: { ...program.meta },
    caps: { ...program.caps },
    setup: phase('setup'),
    predict: phase('predict'),
    learn: phase('learn'),
  }
}

describe("the miners' corpus, case by case", () => {
  it('holds programs of every kind', () => {
    const sources = new Set(CORPUS.programs.map((e) => e.source))
    assert.ok(sources.has(CURRENT_FORMAT) && sources.size >= 4, [...sources].join(', '))
    assert.ok(CORPUS.programs.some((e) => !e.reference.accepted))
  })

  for (const entry of CORPUS.programs) {
    const { reference } = entry
    if (reference.accepted) {
      it(`${entry.id} (${entry.source}) is accepted and read as the miners read it`, () => {
        const validated = validateAlgorithm(entry.text, { inputDim: entry.input_dim })
        assert.deepEqual(asReading(validated.program), reference.program)
        // Their fingerprint is SHA-1 over the same bytes the pool hashes with SHA-256.
        assert.equal(createHash('sha1').update(identityBytes(validated.program)).digest('hex'), reference.identity)
        const again = validateAlgorithm(validated.canonical, { inputDim: entry.input_dim })
        assert.deepEqual(again.program, validated.program)
        assert.equal(again.canonical, validated.canonical)
        if (entry.source === CURRENT_FORMAT) assert.equal(validated.canonical, entry.text)
      })
    } else {
      it(`${entry.id} (${entry.source}) is refused with the line named`, () => {
        assert.throws(
          () => parseDsl(entry.text, { inputDim: entry.input_dim }),
          (err: unknown) => {
            assert.ok(err instanceof DslError, String(err))
            assert.ok(err.line >= 1, `no line named: ${err.message}`)
            return true
          },
        )
      })
    }
  }

  it('texts with the same identity hash the same, different identities differently', () => {
    const byIdentity = new Map<string, Set<string>>()
    const byHash = new Map<string, Set<string>>()
    for (const entry of CORPUS.programs) {
      if (!entry.reference.accepted) continue
      const { hash } = validateAlgorithm(entry.text, { inputDim: entry.input_dim })
      const identity = entry.reference.identity as string
      byIdentity.set(identity, (byIdentity.get(identity) ?? new Set()).add(hash))
      byHash.set(hash, (byHash.get(hash) ?? new Set()).add(identity))
    }
    for (const hashes of byIdentity.values()) assert.equal(hashes.size, 1)
    for (const identities of byHash.values()) assert.equal(identities.size, 1)
    assert.ok(byIdentity.size > 100 && [...byIdentity.values()].length < CORPUS.programs.length)
  })

  it("canonical texts print as the miners' serializer writes them", () => {
    for (const entry of CORPUS.programs.filter((e) => e.source === CURRENT_FORMAT)) {
      assert.equal(printCanonical(parseDsl(entry.text, { inputDim: entry.input_dim })), entry.text)
    }
  })
})
