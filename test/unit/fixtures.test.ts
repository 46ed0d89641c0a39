// The fixtures are copies of data made elsewhere; when the originals are beside the checkout, the copies
// must still equal them byte for byte, so a changed original is noticed instead of silently diverging.
import { strict as assert } from 'node:assert'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { fixturePath } from '../support/shared-data.ts'

const originals =
  process.env.SOTAPOOL_SHARED_DIR !== undefined && process.env.SOTAPOOL_SHARED_DIR !== ''
    ? process.env.SOTAPOOL_SHARED_DIR
    : fileURLToPath(new URL('../../../shared', import.meta.url))

const copies: Array<[fixture: string, original: string]> = [
  ['auth-vectors.json', 'testdata/auth-vectors.json'],
  ['merkle-vectors.json', 'testdata/merkle-vectors.json'],
  ['dsl-upstream.json', 'testdata/dsl-upstream.json'],
  ['pool-backend-routes.txt', 'seed/pool-backend-routes.txt'],
]

describe('test fixtures', () => {
  for (const [fixture, original] of copies) {
    const source = join(originals, original)
    it(`${fixture} equals its original`, {
      skip: existsSync(source) ? false : 'originals not beside this checkout',
    }, () => {
      assert.ok(
        readFileSync(fixturePath(fixture)).equals(readFileSync(source)),
        `${fixture} differs from ${original}: copy it again`,
      )
    })
  }
})
