// Shared test data lives outside the repository (produced by independent implementations), so tests
// read it in place instead of keeping copies that could drift.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Parsed JSON of `<shared>/testdata/<name>`, `name` including its extension (e.g. `merkle-vectors.json`).
 * `<shared>` is `SOTAPOOL_SHARED_DIR` when set, else the folder `shared` next to the repository root.
 */
export function sharedTestdata(name: string): unknown {
  const dir = process.env['SOTAPOOL_SHARED_DIR']
  const file = dir
    ? join(dir, 'testdata', name)
    : fileURLToPath(new URL(`../../../shared/testdata/${name}`, import.meta.url))
  return JSON.parse(readFileSync(file, 'utf8'))
}
