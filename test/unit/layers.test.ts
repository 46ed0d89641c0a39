// Dependency direction: every source file under src/ (.ts, .mjs, and the dashboard's .js) imports only
// from its own layer or a lower one, the sibling parts of a layer never import each other, domain/ stays
// pure, and no files import each other in a circle. README.md ("How it fits together") shows the layers.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, posix, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/** A part of src/: a folder (ending in `/`) or one root file. */
type Place = string

interface Layer {
  name: string
  places: Place[]
  /** The places of this layer never import each other. */
  separate?: boolean
}

/** Top to bottom: a file may import from its own layer or any layer below it. */
export const LAYERS: Layer[] = [
  { name: 'command line', places: ['cli/'] },
  { name: 'servers', places: ['server.ts', 'app.ts'] },
  {
    name: 'routes, plugins, jobs and simulations',
    places: ['routes/', 'plugins/', 'jobs/', 'simulation/'],
    separate: true,
  },
  { name: 'HTTP helpers', places: ['http/'] },
  { name: 'use cases', places: ['services/'] },
  { name: 'storage and chain', places: ['db/', 'chain/'] },
  {
    name: 'core',
    places: ['domain/', 'schemas/', 'config.ts', 'errors.ts', 'clock.ts', 'metrics.ts', 'version.ts'],
  },
  { name: 'primitives', places: ['crypto/', 'dashboard/'], separate: true },
]

/**
 * What domain/ may import from src/: itself, the schemas (pure TypeBox declarations its types derive from),
 * the error table, the time format (clock.ts holds no I/O), the sr25519/SS58 functions over bytes and the
 * dashboard's plain claim verifier (the independent check of an epoch artifact).
 */
export const DOMAIN_MAY_IMPORT: Place[] = [
  'domain/',
  'schemas/',
  'errors.ts',
  'clock.ts',
  'crypto/sr25519.ts',
  'dashboard/verify.js',
]

/** Packages that do I/O or belong to the database or HTTP layers, which domain/ must not import. */
const IMPURE_PACKAGE =
  /^((node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|worker_threads|cluster|readline|os)|pg|better-sqlite3|kysely|fastify|fastify-plugin|@fastify\/.+|prom-client|ws|@polkadot\/(api|rpc-provider))$/

interface Import {
  from: string
  spec: string
  line: number
  /** The file under src/ a relative import names; undefined for a package. */
  to?: string
}

export interface Problem {
  file: string
  message: string
}

const placeOf = (file: string, places: readonly Place[]): Place | undefined =>
  places.find((p) => (p.endsWith('/') ? file.startsWith(p) : file === p))

function layerOf(file: string): { index: number; place: Place } | undefined {
  for (const [index, layer] of LAYERS.entries()) {
    const place = placeOf(file, layer.places)
    if (place !== undefined) return { index, place }
  }
  return undefined
}

/** Every import of a file (static, type-only, re-export, dynamic), with relative ones resolved under src/. */
export function importsOf(file: string, text: string): Import[] {
  const { importedFiles } = ts.preProcessFile(text, true, true)
  return importedFiles.map(({ fileName: spec, pos }) => {
    const line = text.slice(0, pos).split('\n').length
    if (!spec.startsWith('.')) return { from: file, spec, line }
    return { from: file, spec, line, to: posix.normalize(posix.join(posix.dirname(file), spec)) }
  })
}

/** The problems of a set of files (paths relative to src/, posix separators) and their text. */
export function checkSources(sources: ReadonlyMap<string, string>): Problem[] {
  const problems: Problem[] = []
  const graph = new Map<string, Set<string>>()
  for (const [file, text] of sources) {
    const own = layerOf(file)
    if (own === undefined) {
      problems.push({ file, message: `${file} is in no layer: add its folder or name to LAYERS` })
      continue
    }
    graph.set(file, new Set())
    for (const imp of importsOf(file, text)) {
      const at = `${file}:${imp.line} imports '${imp.spec}'`
      if (imp.to === undefined) {
        if (own.place === 'domain/' && IMPURE_PACKAGE.test(imp.spec))
          problems.push({
            file,
            message: `${at}: domain/ is pure logic and must not import I/O, database or HTTP packages`,
          })
        continue
      }
      if (!sources.has(imp.to)) {
        problems.push({ file, message: `${at}: it names ${imp.to}, which is not a source file under src/` })
        continue
      }
      graph.get(file)!.add(imp.to)
      const target = layerOf(imp.to)
      if (target === undefined) continue // reported as a file in no layer
      if (own.place === 'domain/' && placeOf(imp.to, DOMAIN_MAY_IMPORT) === undefined) {
        problems.push({
          file,
          message: `${at}: domain/ is pure logic and may import only ${DOMAIN_MAY_IMPORT.join(', ')}`,
        })
      } else if (target.index < own.index) {
        problems.push({
          file,
          message: `${at}: upward import, from layer "${LAYERS[own.index]!.name}" to the higher layer "${LAYERS[target.index]!.name}" (a file imports only its own layer or lower ones)`,
        })
      } else if (target.index === own.index && target.place !== own.place && LAYERS[own.index]!.separate === true) {
        problems.push({
          file,
          message: `${at}: ${own.place} and ${target.place} are siblings in layer "${LAYERS[own.index]!.name}" and must not import each other (move what they share to a lower layer)`,
        })
      }
    }
  }
  for (const cycle of importCycles(graph))
    problems.push({ file: cycle[0]!, message: `import cycle: ${cycle.join(' → ')}` })
  return problems
}

/** One cycle (first file repeated at the end) per group of files that import each other in a circle. */
export function importCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's strongly connected components: a component of two or more files, or a file importing
  // itself, holds a cycle.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (v: string): void => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      components.push(component)
    }
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v)
  return components
    .filter((c) => c.length > 1 || graph.get(c[0]!)?.has(c[0]!) === true)
    .map((component) => {
      // The shortest way from the component's first file (by name) back to itself, staying inside it.
      const members = new Set(component)
      const start = [...component].sort()[0]!
      const previous = new Map<string, string>()
      const queue = [start]
      while (queue.length > 0) {
        const v = queue.shift()!
        for (const w of [...(graph.get(v) ?? [])].sort()) {
          if (!members.has(w)) continue
          if (w === start) {
            const path = [start]
            for (let u: string | undefined = v; u !== start && u !== undefined; u = previous.get(u))
              path.splice(1, 0, u)
            return [...path, start]
          }
          if (!previous.has(w)) {
            previous.set(w, v)
            queue.push(w)
          }
        }
      }
      return [...component, component[0]!]
    })
}

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

function readSources(): Map<string, string> {
  const sources = new Map<string, string>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|mjs|js)$/.test(entry.name))
        sources.set(relative(SRC, path).split('\\').join('/'), readFileSync(path, 'utf8'))
    }
  }
  walk(SRC)
  return sources
}

describe('layers', () => {
  test('src/ imports only downward, siblings stay apart, domain/ is pure and no imports form a cycle', () => {
    const sources = readSources()
    assert.ok(sources.size > 50, `read ${sources.size} files under src/`)
    const problems = checkSources(sources)
    assert.deepEqual(
      problems.map((p) => p.message),
      [],
      `\n${problems.map((p) => `  ${p.message}`).join('\n')}\n`,
    )
  })

  test('every place LAYERS names exists, once', () => {
    const sources = [...readSources().keys()]
    const places = LAYERS.flatMap((l) => l.places)
    assert.equal(new Set(places).size, places.length, 'a place is listed twice')
    for (const place of [...places, ...DOMAIN_MAY_IMPORT])
      assert.ok(
        sources.some((f) => placeOf(f, [place]) !== undefined),
        `${place} is listed but no file is there`,
      )
  })

  describe('the checker itself', () => {
    const check = (files: Record<string, string>): string[] =>
      checkSources(new Map(Object.entries(files))).map((p) => p.message)

    test('finds an upward import, static, type-only, re-exported or dynamic, naming the file, the import and the rule', () => {
      for (const line of [
        "import { buildApp } from '../app.ts'",
        "import type { FastifyInstance } from '../app.ts'",
        "export { buildApp } from '../app.ts'",
        "const { buildApp } = await import('../app.ts')",
      ]) {
        const problems = check({ 'services/work.ts': `// Work.\n${line}\n`, 'app.ts': '' })
        assert.equal(problems.length, 1, line)
        assert.match(problems[0]!, /^services\/work\.ts:2 imports '\.\.\/app\.ts': upward import/, line)
        assert.match(problems[0]!, /from layer "use cases" to the higher layer "servers"/, line)
      }
    })

    test('allows imports to the same and lower layers, and ignores imports in comments and strings', () => {
      const problems = check({
        'routes/health.ts':
          "import { health } from '../services/health.ts'\nimport { PoolError } from '../errors.ts'\n",
        'services/health.ts':
          "import { version } from '../version.ts'\nimport { x } from './other.ts'\n// import { buildApp } from '../app.ts'\nconst s = \"import('../app.ts')\"\n",
        'services/other.ts': '',
        'version.ts': '',
        'errors.ts': '',
        'app.ts': '',
      })
      assert.deepEqual(problems, [])
    })

    test('finds routes and plugins importing each other', () => {
      const problems = check({
        'routes/api/v1/miners.ts': "import { recipientFromBody } from '../../../plugins/auth.ts'\n",
        'plugins/auth.ts': '',
      })
      assert.equal(problems.length, 1)
      assert.match(problems[0]!, /^routes\/api\/v1\/miners\.ts:1 imports '\.\.\/\.\.\/\.\.\/plugins\/auth\.ts'/)
      assert.match(problems[0]!, /routes\/ and plugins\/ are siblings/)
    })

    test('finds domain/ importing the database, a service or an I/O package', () => {
      const problems = check({
        'domain/points.ts':
          "import type { Database } from '../db/database.ts'\nimport { readFileSync } from 'node:fs'\nimport pg from 'pg'\nimport { createHash } from 'node:crypto'\nimport { U64_MAX } from './units.ts'\n",
        'domain/units.ts': '',
        'db/database.ts': '',
      })
      assert.equal(problems.length, 3, problems.join('\n'))
      assert.match(
        problems[0]!,
        /^domain\/points\.ts:1 imports '\.\.\/db\/database\.ts': domain\/ is pure logic and may import only/,
      )
      assert.match(problems[1]!, /^domain\/points\.ts:2 imports 'node:fs': domain\/ is pure/)
      assert.match(problems[2]!, /^domain\/points\.ts:3 imports 'pg': domain\/ is pure/)
    })

    test('finds a cycle and names its files in order', () => {
      const problems = check({
        'cli/main.ts': "import { registerEpochCommands } from './epochs.ts'\n",
        'cli/epochs.ts': "import { configOrExit } from './main.ts'\nimport { progress } from './progress.ts'\n",
        'cli/progress.ts': '',
      })
      assert.deepEqual(problems, ['import cycle: cli/epochs.ts → cli/main.ts → cli/epochs.ts'])
      const longer = check({
        'domain/a.ts': "export * from './b.ts'",
        'domain/b.ts': "import './c.ts'",
        'domain/c.ts': "const a = await import('./a.ts')",
      })
      assert.deepEqual(longer, ['import cycle: domain/a.ts → domain/b.ts → domain/c.ts → domain/a.ts'])
    })

    test('finds a file in no layer and an import of a missing file', () => {
      const problems = check({ 'tools/x.ts': '', 'services/y.ts': "import './gone.ts'\n" })
      assert.equal(problems.length, 2)
      assert.match(problems[0]!, /tools\/x\.ts is in no layer/)
      assert.match(problems[1]!, /^services\/y\.ts:1 imports '\.\/gone\.ts': it names services\/gone\.ts, which is not/)
    })
  })
})
