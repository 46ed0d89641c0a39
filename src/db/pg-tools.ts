/**
 * PostgreSQL's client tools (`pg_dump`, `pg_restore`) for `sotapool backup`. pg_dump refuses a server of a
 * newer major version than its own, and machines often carry several client versions side by side
 * (Debian/Ubuntu: /usr/lib/postgresql/<major>/bin, RHEL: /usr/pgsql-<major>/bin) with an older one first
 * on PATH. So the tool is picked for the server: the oldest installed version at least as new as the
 * server's major, else a clear error naming both versions.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

export interface PgTool {
  path: string
  major: number
  version: string
}

const VERSION = /\(PostgreSQL\) (\d+)(?:\.(\d+))?/

function versionOf(path: string): Promise<PgTool | null> {
  return new Promise((resolve) => {
    execFile(path, ['--version'], { timeout: 10_000 }, (err, stdout) => {
      const m = err === null ? VERSION.exec(stdout) : null
      resolve(
        m === null ? null : { path, major: Number(m[1]), version: stdout.trim().replace(/^.*\(PostgreSQL\) /, '') },
      )
    })
  })
}

function versionedDirs(): string[] {
  const dirs: string[] = []
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir)
    } catch {
      return []
    }
  }
  for (const v of list('/usr/lib/postgresql')) dirs.push(join('/usr/lib/postgresql', v, 'bin'))
  for (const d of list('/usr')) if (d.startsWith('pgsql-')) dirs.push(join('/usr', d, 'bin'))
  return dirs
}

/** Every installed copy of `tool` that answers `--version`: the versioned folders, then the one on PATH. */
export async function installedPgTools(tool: 'pg_dump' | 'pg_restore'): Promise<PgTool[]> {
  const paths = versionedDirs()
    .map((d) => join(d, tool))
    .filter((p) => existsSync(p))
  const found = await Promise.all([...paths, tool].map(versionOf))
  return found.filter((t): t is PgTool => t !== null)
}

/**
 * The copy of `tool` to use against a server of `serverMajor`: the oldest installed one that is at least as
 * new. Throws an error naming what is installed and what to install when none is.
 */
export async function pgToolFor(tool: 'pg_dump' | 'pg_restore', serverMajor: number): Promise<PgTool> {
  if (!Number.isInteger(serverMajor) || serverMajor < 1)
    throw new Error(`${tool}: the server reported no usable version (${serverMajor})`)
  const installed = await installedPgTools(tool)
  const fit = installed.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major)
  const best = fit[0]
  if (best !== undefined) return best
  const have =
    installed.length === 0
      ? `no ${tool} is installed`
      : `the installed ${tool} (${[...new Set(installed.map((t) => t.version))].join(', ')}) is older than the server`
  throw new Error(
    `${tool} for a PostgreSQL ${serverMajor} server: ${have}; install the PostgreSQL ${serverMajor} client tools (Debian: postgresql-client-${serverMajor}), or run ${tool} on the database server`,
  )
}
