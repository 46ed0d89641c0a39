/**
 * Prints the README's generated tables (configuration variables and error codes) from their one source,
 * so the documentation cannot drift: `npm run docs:tables` rewrites them in README.md, and a unit test
 * fails when README.md is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { CONFIG_VARIABLES } from '../src/config.ts'
import { ERROR_TABLE } from '../src/errors.ts'

const cell = (s: string): string => s.replace(/\|/g, '\\|')

export function configTable (): string {
  const rows = Object.values(CONFIG_VARIABLES).map((v) => `| \`${v.name}\` | ${v.default === '' ? '(empty)' : `\`${v.default}\``} | ${cell(v.description)} |`)
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n')
}

export function errorTable (): string {
  const rows = Object.entries(ERROR_TABLE).map(([code, e]) => `| \`${code}\` | ${e.status} | ${cell(e.message)} | ${cell(e.description)} |`)
  return ['| Code | HTTP | `detail` (default) | When |', '|---|---|---|---|', ...rows].join('\n')
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function withTables (readme: string): string {
  const put = (text: string, name: string, table: string): string =>
    text.replace(new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`), `$1${table}\n$2`)
  return put(put(readme, 'config-table', configTable()), 'error-table', errorTable())
}

if (process.argv[1]?.endsWith('doc-tables.ts')) {
  const path = new URL('../README.md', import.meta.url)
  writeFileSync(path, withTables(readFileSync(path, 'utf8')))
  process.stdout.write('README.md tables updated\n')
}
