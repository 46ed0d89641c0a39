import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { withTables } from '../../scripts/doc-tables.ts'

test('the README documents every configuration variable and error code (run npm run docs:tables)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  assert.equal(readme, withTables(readme), 'README.md tables are out of date')
})
