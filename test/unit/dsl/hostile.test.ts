import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DslError, validateAlgorithm } from '../../../src/domain/dsl/index.ts'
import { HOSTILE, largeValidProgram } from '../../support/hostile-dsl.ts'

// How fast these are is measured by bench/dsl.bench.ts, not here.
describe('hostile input at the size limit', () => {
  for (const [name, text] of Object.entries(HOSTILE)) {
    it(`${name} (${text.length} chars) is rejected with a short DslError`, () => {
      assert.throws(
        () => validateAlgorithm(text),
        (err: unknown) => err instanceof DslError && err.message.length < 300,
      )
    })
  }

  it('a valid program just under the limit validates', () => {
    const validated = validateAlgorithm(largeValidProgram())
    assert.ok(validated.program.predict.length > 500)
    assert.match(validated.hash, /^[0-9a-f]{64}$/)
  })
})
