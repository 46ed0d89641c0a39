/** Shared pieces of the benchmark scripts: flags, result files, tables. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { percentile, type SimulatedMiner } from '../src/simulation/miner.ts'
import { createPostgresStore, createSqliteStore, freePort, spawnServer, waitForHealth } from '../test/load/support.ts'

export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(process.argv[i + 1])
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} expects a positive number`)
  return value
}

export const hasFlag = (name: string): boolean => process.argv.includes(`--${name}`)

/** The stores to run on: `--store sqlite|postgres|both` (default both). */
export function stores(): Array<'sqlite' | 'postgres'> {
  const i = process.argv.indexOf('--store')
  const value = i < 0 ? 'both' : process.argv[i + 1]
  if (value === 'both') return ['sqlite', 'postgres']
  if (value === 'sqlite' || value === 'postgres') return [value]
  throw new Error('--store expects sqlite, postgres or both')
}

/** PostgreSQL's Unix socket on this host, when the benchmarks' database is the local default one. */
const LOCAL_SOCKET_DIR = '/var/run/postgresql'
const localSocket = (): string | undefined =>
  process.env.TEST_POSTGRES_URL === undefined && existsSync(`${LOCAL_SOCKET_DIR}/.s.PGSQL.5432`)
    ? LOCAL_SOCKET_DIR
    : undefined

/**
 * How the pool server reaches PostgreSQL: over the Unix socket when the database is on this host (what the
 * README advises an operator to do), or `tcp` to measure the loopback instead.
 */
export function postgresUrl(url: string, transport: 'socket' | 'tcp' = 'socket'): string {
  const dir = localSocket()
  if (transport === 'tcp' || dir === undefined) return url
  const parsed = new URL(url)
  parsed.hostname = 'localhost'
  parsed.port = ''
  parsed.searchParams.set('host', dir)
  return parsed.toString()
}

export const machine = () => ({
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  postgres_transport: localSocket() === undefined ? 'tcp' : 'unix socket',
})

export function writeResult(name: string, data: unknown): void {
  mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true })
  writeFileSync(
    new URL(`../bench-results/${name}.json`, import.meta.url),
    `${JSON.stringify({ machine: machine(), at: new Date().toISOString(), ...(data as object) }, null, 2)}\n`,
  )
}

export function printTable(title: string, rows: ReadonlyArray<object>): void {
  if (rows.length === 0) return
  const headers = Object.keys(rows[0]!)
  const cell = (r: object, h: string): string => String((r as Record<string, unknown>)[h])
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => cell(r, h).length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
  process.stdout.write(`\n${title}\n${line(headers)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`)
  for (const r of rows) process.stdout.write(`${line(headers.map((h) => cell(r, h)))}\n`)
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

/** Starts a node script (with tsx) that listens on `port`, and waits until GET /health answers. */
export async function startScript(
  script: string,
  args: string[],
  port: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`)
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    ) {
      return {
        url,
        stop: async () => {
          child.kill('SIGTERM')
          await new Promise((r) => child.once('exit', r))
        },
      }
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`${script} did not start`)
}

/** Runs lease → submit cycles with every miner until `seconds` pass; cycles/s and cycle latency. */
export async function runCycles(
  miners: SimulatedMiner[],
  seconds: number,
): Promise<{ cycles: number; cycles_per_s: number; p50_ms: number; p99_ms: number; p99_over_p50: number }> {
  const cycleMs: number[] = []
  const deadline = Date.now() + seconds * 1000
  const started = performance.now()
  await Promise.all(
    miners.map(async (m) => {
      while (Date.now() < deadline) {
        const t0 = performance.now()
        if (await m.cycle()) cycleMs.push(performance.now() - t0)
        else await new Promise((r) => setTimeout(r, 100)) // no work: back off as clients do
      }
    }),
  )
  cycleMs.sort((a, b) => a - b)
  const elapsed = (performance.now() - started) / 1000
  const p50 = percentile(cycleMs, 50)
  const p99 = percentile(cycleMs, 99)
  return {
    cycles: cycleMs.length,
    cycles_per_s: round(cycleMs.length / elapsed),
    p50_ms: round(p50),
    p99_ms: round(p99),
    p99_over_p50: p50 === 0 ? 0 : round(p99 / p50, 2),
  }
}

/**
 * Runs `fn` against a `sotapool serve` process (no rate limits, warnings only) on a fresh store of `kind`,
 * then stops the server and drops the store. `seed` prepares the store before the server starts.
 */
export async function withPoolServer<T>(
  kind: 'sqlite' | 'postgres',
  fn: (server: { url: string; port: number }) => Promise<T>,
  options: { env?: Record<string, string>; seed?: (url: string) => Promise<void>; transport?: 'socket' | 'tcp' } = {},
): Promise<T> {
  const store = kind === 'sqlite' ? createSqliteStore('sotapool-bench-') : await createPostgresStore('sotapool_bench')
  try {
    await options.seed?.(store.url)
    const server = spawnServer(
      0,
      await freePort(),
      {
        DATABASE_URL: kind === 'postgres' ? postgresUrl(store.url, options.transport) : store.url,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        ...options.env,
      },
      join(tmpdir(), 'sotapool-bench-logs'),
    )
    try {
      await waitForHealth(server)
      return await fn(server)
    } finally {
      await server.stop()
    }
  } finally {
    await store.drop()
  }
}
