import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { validateAlgorithm } from '../../../src/domain/dsl/index.ts'

const SEED_DIR = fileURLToPath(new URL('../../../seeds/cifar10_binary/', import.meta.url))
const seedFiles = readdirSync(SEED_DIR).filter((name) => name.endsWith('.dsl'))

describe('seeds/cifar10_binary', () => {
  it('holds 5–6 seed programs', () => {
    assert.ok(seedFiles.length >= 5 && seedFiles.length <= 6, `found ${seedFiles.length}`)
  })

  for (const name of seedFiles) {
    it(`${name} validates with input dim 16`, () => {
      const result = validateAlgorithm(readFileSync(`${SEED_DIR}${name}`, 'utf8'))
      assert.equal(result.inputDim, 16)
    })
  }

  it('seeds are pairwise distinct programs', () => {
    const hashes = seedFiles.map((name) => validateAlgorithm(readFileSync(`${SEED_DIR}${name}`, 'utf8')).hash)
    assert.equal(new Set(hashes).size, hashes.length)
  })
})
