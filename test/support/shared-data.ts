// Test data made by independent implementations, copied into test/fixtures/ (see its README for where
// each file came from). test/unit/fixtures.test.ts keeps the copies equal to their originals.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Path of a fixture file, `name` including its extension (e.g. `merkle-vectors.json`). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
}

/** Parsed JSON of the fixture `name`. */
export function sharedTestdata(name: string): unknown {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8'))
}
