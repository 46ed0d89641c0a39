import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { validateAlgorithm } from '../../../src/domain/dsl/index.ts'
import { taskInputDim } from '../../../src/domain/task-types.ts'

const SEED_DIR = fileURLToPath(new URL('../../../seeds/cifar10_binary/', import.meta.url))
const seedFiles = readdirSync(SEED_DIR).filter((name) => name.endsWith('.dsl'))
const read = (name: string) => readFileSync(`${SEED_DIR}${name}`, 'utf8')

describe('seeds/cifar10_binary', () => {
  it('holds 5–6 seed programs', () => {
    assert.ok(seedFiles.length >= 5 && seedFiles.length <= 6, `found ${seedFiles.length}`)
  })

  for (const name of seedFiles) {
    it(`${name} is written exactly as the miners' serializer writes it, for the task's input dimension`, () => {
      const result = validateAlgorithm(read(name), { inputDim: taskInputDim('cifar10_binary') })
      assert.equal(result.canonical, read(name))
      assert.equal(result.inputDim, 16)
      assert.ok(result.program.predict.length > 0 && result.program.learn.length > 0)
    })
  }

  it('seeds are pairwise distinct programs', () => {
    const hashes = seedFiles.map((name) => validateAlgorithm(read(name)).hash)
    assert.equal(new Set(hashes).size, hashes.length)
  })
})
