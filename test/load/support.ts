/**
 * Shared helpers of the reliability runs (`npm run test:scale`, `npm run test:crash`) and of the quick
 * in-suite version (test/integration/invariants.test.ts):
 *
 * - stores: a fresh PostgreSQL database (created and dropped through `pg`) or a temp-file SQLite database;
 * - `sotapool serve` processes: spawn with an environment, wait for /health, stop (SIGTERM) or kill -9;
 * - load: signed miners over real HTTP that remember every lease and every submit answer, so the
 *   database can be checked against what the pool acknowledged;
 * - `checkInvariants(db)`: the SQL invariants of SPEC §5.3, §5.5, §6.2, §8 and §11 as a list of
 *   {name, ok, detail}.
 *
 * Everything here talks to loopback only and is bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Keyring } from '@polkadot/keyring'
import { blake2AsU8a, cryptoWaitReady } from '@polkadot/util-crypto'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { signedHeaders, type MinerKey } from '../../src/crypto/keys.ts'
import { SS58_PREFIX } from '../../src/crypto/sr25519.ts'
import type { DB } from '../../src/db/schema.ts'
import {
  mutate,
  percentile,
  SimulatedMiner,
  trueScore,
  type CallRecord,
  type SimAlgorithm,
} from '../../src/simulation/miner.ts'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = join(REPO_ROOT, 'bin', 'sotapool.mjs')
export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

// --- command line ---------------------------------------------------------------------------------

/** `--name value`, `--name=value` and bare `--flag` (true); unknown names are refused. */
export function parseFlags<T extends Record<string, string | number | boolean>>(argv: string[], defaults: T): T {
  const out: Record<string, string | number | boolean> = { ...defaults }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`)
    const [rawName, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    const name = rawName.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    if (!(name in defaults))
      throw new Error(
        `unknown flag --${rawName} (known: ${Object.keys(defaults)
          .map((k) => `--${k}`)
          .join(', ')})`,
      )
    const kind = typeof defaults[name]
    if (kind === 'boolean') {
      out[name] = inline === undefined ? true : inline !== 'false'
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined) throw new Error(`--${rawName} needs a value`)
    if (kind === 'number') {
      const n = Number(value)
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${rawName} must be a non-negative number, got ${value}`)
      out[name] = n
    } else {
      out[name] = value
    }
  }
  return out as T
}

// --- stores ---------------------------------------------------------------------------------------

export interface Store {
  kind: 'sqlite' | 'postgres'
  url: string
  drop(): Promise<void>
}

/** A fresh PostgreSQL database on the local server (trust auth); `drop` forces off any connection left. */
export async function createPostgresStore(prefix = 'sotapool_load'): Promise<Store> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
  await adminQuery(`create database ${name}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    kind: 'postgres',
    url: url.toString(),
    drop: async () => {
      await adminQuery(`drop database if exists ${name} with (force)`)
    },
  }
}

/** A SQLite database file in a fresh temp directory (removed by `drop`). */
export function createSqliteStore(prefix = 'sotapool-load-'): Store {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    kind: 'sqlite',
    url: `sqlite:${join(dir, 'pool.db')}`,
    drop: async () => {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

// --- processes ------------------------------------------------------------------------------------

/** A free loopback TCP port (bound and released at once). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0)
      })
    })
  })
}

export interface ServerProcess {
  index: number
  port: number
  url: string
  child: ChildProcess
  log: string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM (graceful close), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  /** kill -9, as a crash. */
  kill9(): Promise<void>
}

/** Spawns `node bin/sotapool.mjs serve` with `env` added to this environment, logging to `logDir`. */
export function spawnServer(index: number, port: number, env: Record<string, string>, logDir: string): ServerProcess {
  mkdirSync(logDir, { recursive: true })
  const log = join(logDir, `server-${index}-${Date.now()}.log`)
  const out = createWriteStream(log)
  const child = spawn(process.execPath, [CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, API_HOST: '127.0.0.1', API_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.pipe(out, { end: false })
  child.stderr?.pipe(out, { end: false })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal })
    })
  })
  void exited.then(() => {
    setTimeout(() => {
      out.end()
    }, 100)
  })
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  return {
    index,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    log,
    exited,
    async stop(graceMs = 15_000) {
      if (!running()) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => {
        if (running()) child.kill('SIGKILL')
      }, graceMs)
      await exited
      clearTimeout(timer)
    },
    async kill9() {
      if (!running()) return
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** Polls GET /health until it answers 200; throws after `timeoutMs` or when the process exits. */
export async function waitForHealth(server: ServerProcess, timeoutMs = 90_000): Promise<number> {
  const started = Date.now()
  let exited = false
  void server.exited.then(() => {
    exited = true
  })
  while (Date.now() - started < timeoutMs) {
    if (exited) throw new Error(`server ${server.index} exited before it was healthy; see ${server.log}`)
    try {
      const response = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5_000) })
      if (response.status === 200) return Date.now() - started
    } catch {
      /* not listening yet */
    }
    await sleep(250)
  }
  throw new Error(`server ${server.index} not healthy after ${timeoutMs} ms; see ${server.log}`)
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one `sotapool` subcommand with `env` added; bounded by `timeoutMs`. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  return await new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `sotapool epoch verify <id>`: ok when it prints `"match": true` and exits 0. */
export async function cliVerifyEpoch(
  epoch: number,
  env: Record<string, string>,
): Promise<{ ok: boolean; detail: string }> {
  const r = await runCli(['epoch', 'verify', String(epoch)], env)
  try {
    const parsed = JSON.parse(r.stdout) as { match?: boolean; root?: string; mismatches?: string[] }
    return {
      ok: r.code === 0 && parsed.match === true,
      detail: `match ${String(parsed.match)} root ${parsed.root ?? '?'}${(parsed.mismatches ?? []).length > 0 ? ` mismatches: ${parsed.mismatches!.slice(0, 3).join('; ')}` : ''}`,
    }
  } catch {
    return { ok: false, detail: `exit ${String(r.code)}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` }
  }
}

export const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

// --- load -----------------------------------------------------------------------------------------

/** A lease the pool granted (answered 200). */
export interface LeaseGrant {
  miner: string
  leaseId: string
  server: number
  evaluateIds: number[]
  at: number
}

/** One submit as sent and as answered (status 0: no answer, e.g. the connection died). */
export interface SubmitAttempt {
  miner: string
  leaseId: string
  server: number
  status: number
  sentEvaluations: number
  sentEvolutions: number
  evaluationsAccepted?: number
  evolutionsAccepted?: number
  newAlgorithmIds?: number[]
  at: number
}

/** A submit the pool acknowledged with 200, as `checkInvariants` takes it. */
export interface Acknowledgement {
  leaseId: string
  miner?: string
  evaluations: number
  evolutions: number
  newAlgorithmIds?: number[]
}
/** A submit sent whose answer never arrived: it must be stored completely or not at all. */
export interface UnansweredSubmit {
  leaseId: string
  evaluations: number
  evolutions: number
}

export class LoadRecorder {
  readonly calls: Array<CallRecord & { server: number }> = []
  readonly grants: LeaseGrant[] = []
  readonly attempts: SubmitAttempt[] = []

  acknowledgements(): Acknowledgement[] {
    return this.attempts
      .filter((a) => a.status === 200)
      .map((a) => ({
        leaseId: a.leaseId,
        miner: a.miner,
        evaluations: a.evaluationsAccepted ?? -1,
        evolutions: a.evolutionsAccepted ?? -1,
        newAlgorithmIds: a.newAlgorithmIds ?? [],
      }))
  }

  unanswered(): UnansweredSubmit[] {
    return this.attempts
      .filter((a) => a.status === 0)
      .map((a) => ({ leaseId: a.leaseId, evaluations: a.sentEvaluations, evolutions: a.sentEvolutions }))
  }
}

/**
 * A signed miner over real HTTP, doing what `SimulatedMiner` does (same honest/dishonest scoring and the
 * same mutation, reused from src/simulation/miner.ts) but remembering every lease granted and every
 * submit with its answer, which the invariant checks compare with the database.
 */
export class LoadMiner {
  private readonly sim: SimulatedMiner

  constructor(
    readonly key: MinerKey,
    readonly baseUrl: string,
    readonly server: number,
    readonly honest: boolean,
    private readonly recorder: LoadRecorder,
    private readonly evolveProbability = 0.5,
    private readonly requestTimeoutMs = 30_000,
  ) {
    this.sim = new SimulatedMiner(
      key,
      baseUrl,
      honest,
      (c) => {
        recorder.calls.push({ ...c, server })
      },
      evolveProbability,
    )
  }

  get hotkey(): string {
    return this.key.address
  }

  async setRecipient(recipient: string): Promise<boolean> {
    return await this.sim.setRecipient(recipient)
  }

  private async call(route: CallRecord['route'], path: string, body: unknown): Promise<{ status: number; json: any }> {
    const started = performance.now()
    let status = 0
    let json: any = null
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { ...signedHeaders(this.key, Math.floor(Date.now() / 1000)), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      })
      status = response.status
      json = await response.json().catch(() => null)
    } catch {
      status = 0
    }
    const code = status === 200 ? null : (json?.code ?? (status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}`))
    this.recorder.calls.push({ route, status, code, ms: performance.now() - started, server: this.server })
    return { status, json }
  }

  /** Leases; returns the lease body on 200, else undefined. */
  async lease(body: Record<string, unknown> = { gossip_limit: 5 }): Promise<any> {
    const lease = await this.call('lease', '/api/v1/tasks/lease', body)
    if (lease.status !== 200) return undefined
    this.recorder.grants.push({
      miner: this.hotkey,
      leaseId: lease.json.lease_id,
      server: this.server,
      evaluateIds: (lease.json.evaluate_algorithms as SimAlgorithm[]).map((a) => a.id),
      at: Date.now(),
    })
    return lease.json
  }

  /** One lease → submit cycle; false when there was no lease (no work, busy miner, or an error). */
  async cycle(): Promise<boolean> {
    const lease = await this.lease()
    if (lease === undefined) return false
    const evaluations = (lease.evaluate_algorithms as SimAlgorithm[]).map((a) => ({
      algorithm_id: a.id,
      score: this.honest ? Math.min(1, trueScore(a) + (Math.random() - 0.5) * 0.004) : Math.random(),
    }))
    const evolutions: Array<{ parent_algorithm_ids: number[]; algorithm_dsl: string }> = []
    const seeds = lease.seed_algorithms as SimAlgorithm[]
    if (lease.evolve_budget > 0 && seeds.length > 0 && Math.random() < this.evolveProbability) {
      const parent = seeds[Math.floor(Math.random() * seeds.length)]!
      const dsl = mutate(parent.algorithm_dsl)
      if (dsl !== undefined) evolutions.push({ parent_algorithm_ids: [parent.id], algorithm_dsl: dsl })
    }
    const attempt: SubmitAttempt = {
      miner: this.hotkey,
      leaseId: lease.lease_id,
      server: this.server,
      status: 0,
      sentEvaluations: evaluations.length,
      sentEvolutions: evolutions.length,
      at: Date.now(),
    }
    this.recorder.attempts.push(attempt)
    const submit = await this.call('submit', `/api/v1/tasks/${lease.lease_id as string}/submit_lease`, {
      evaluations,
      evolutions,
      iterations: 1,
    })
    attempt.status = submit.status
    if (submit.status === 200) {
      attempt.evaluationsAccepted = submit.json.evaluations_accepted
      attempt.evolutionsAccepted = submit.json.evolutions_accepted
      attempt.newAlgorithmIds = submit.json.new_algorithm_ids
    }
    return true
  }
}

/**
 * A deterministic sr25519 key from a name: the seed is BLAKE2b-256 of the name. Much cheaper than
 * `keyFromSecret('//name')` (no mnemonic stretching), which matters for hundreds of miners; the key signs
 * exactly like any other.
 */
export async function namedKey(name: string): Promise<MinerKey> {
  await cryptoWaitReady()
  const pair = new Keyring({ type: 'sr25519', ss58Format: SS58_PREFIX }).addFromSeed(
    blake2AsU8a(`sotapool-load:${name}`, 256),
  )
  return {
    address: pair.address,
    publicKey: pair.publicKey,
    sign: (message) => Buffer.from(pair.sign(new TextEncoder().encode(message))).toString('hex'),
  }
}

/** `count` miners named `<prefix><i>`, spread round-robin over `urls`; every fifth (i % 5 === 0) is dishonest. */
export async function makeMiners(
  count: number,
  urls: string[],
  recorder: LoadRecorder,
  prefix: string,
): Promise<LoadMiner[]> {
  const miners: LoadMiner[] = []
  for (let i = 0; i < count; i++) {
    const server = i % urls.length
    miners.push(new LoadMiner(await namedKey(`${prefix}${i}`), urls[server]!, server, i % 5 !== 0, recorder))
  }
  return miners
}

/** Sets a distinct recipient coldkey (`<prefix>-recipient<i>`) for every miner, a few at a time; returns how many succeeded. */
export async function setRecipients(miners: LoadMiner[], prefix: string, parallel = 20): Promise<number> {
  const recipients = await Promise.all(miners.map(async (_, i) => (await namedKey(`${prefix}-recipient${i}`)).address))
  let ok = 0
  for (let i = 0; i < miners.length; i += parallel) {
    const results = await Promise.all(
      miners.slice(i, i + parallel).map(async (m, j) => await m.setRecipient(recipients[i + j]!)),
    )
    ok += results.filter(Boolean).length
  }
  return ok
}

/**
 * Runs every miner's lease → submit loop until `shouldStop()` (checked between cycles, so each miner
 * ends after its current cycle). No work or a refused lease: back off `backoffMs`, as real clients do.
 */
export async function runMiners(miners: LoadMiner[], shouldStop: () => boolean, backoffMs = 500): Promise<void> {
  await Promise.all(
    miners.map(async (m, i) => {
      await sleep((i * 7) % 250) // stagger the first requests
      while (!shouldStop()) {
        if (!(await m.cycle())) await sleep(backoffMs)
      }
    }),
  )
}

export interface LoadFigures {
  seconds: number
  miners: number
  requests: number
  requests_per_second: number
  leases: number
  submissions: number
  cycles_per_second: number
  errors_by_code: Record<string, number>
  latency_ms: Record<string, { count: number; p50: number; p90: number; p99: number; max: number }>
}

export function loadFigures(recorder: LoadRecorder, seconds: number, miners: number, from = 0): LoadFigures {
  const calls = recorder.calls.slice(from)
  const errors: Record<string, number> = {}
  for (const c of calls) if (c.code !== null) errors[c.code] = (errors[c.code] ?? 0) + 1
  const latency: LoadFigures['latency_ms'] = {}
  for (const route of ['lease', 'submit'] as const) {
    const ms = calls
      .filter((c) => c.route === route && c.status !== 0)
      .map((c) => c.ms)
      .sort((a, b) => a - b)
    latency[route] = {
      count: ms.length,
      p50: round(percentile(ms, 50)),
      p90: round(percentile(ms, 90)),
      p99: round(percentile(ms, 99)),
      max: round(ms.at(-1) ?? 0),
    }
  }
  const submissions = calls.filter((c) => c.route === 'submit' && c.status === 200).length
  return {
    seconds: round(seconds),
    miners,
    requests: calls.length,
    requests_per_second: round(calls.length / seconds),
    leases: calls.filter((c) => c.route === 'lease' && c.status === 200).length,
    submissions,
    cycles_per_second: round(submissions / seconds),
    errors_by_code: errors,
    latency_ms: latency,
  }
}

export function printFigures(title: string, f: LoadFigures): void {
  const lines = [
    `${title}: ${f.miners} miners, ${f.seconds} s, ${f.requests} requests (${f.requests_per_second}/s), ${f.leases} leases, ${f.submissions} submits accepted (${f.cycles_per_second} cycles/s)`,
    `  non-200 answers by code: ${
      Object.keys(f.errors_by_code).length === 0
        ? 'none'
        : Object.entries(f.errors_by_code)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
    }`,
    '  latency        count    p50 ms   p90 ms   p99 ms   max ms',
    ...Object.entries(f.latency_ms).map(
      ([route, l]) =>
        `  ${route.padEnd(12)}${String(l.count).padStart(8)}${String(l.p50).padStart(10)}${String(l.p90).padStart(9)}${String(l.p99).padStart(9)}${String(l.max).padStart(9)}`,
    ),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

const round = (n: number): number => Math.round(n * 100) / 100

// --- invariants -----------------------------------------------------------------------------------

export interface Check {
  name: string
  ok: boolean
  detail: string
}

export interface InvariantOptions {
  /** CONSENSUS_SAMPLE_SIZE the pool ran with (default 3). */
  sampleSize?: number
  /** Submits answered 200: each must be stored completely, once. */
  acknowledged?: Acknowledgement[]
  /** Submits sent whose answer never came (crash): each stored completely or not at all. */
  unanswered?: UnansweredSubmit[]
  /** Recomputes a closed epoch (e.g. `sotapool epoch verify`); checked for every closed epoch. */
  verifyEpoch?: (epoch: number) => Promise<{ ok: boolean; detail: string }>
  /** The pool's time now (its clock may be pinned): active hand-outs past their timeout no longer hold a slot. */
  nowMs?: number
}

const n = (v: bigint | number | string | null | undefined): number => (v === null || v === undefined ? 0 : Number(v))

/** Lists up to `max` problems, and how many there were. */
function summary(problems: string[], okText: string, max = 5): string {
  if (problems.length === 0) return okText
  return `${problems.length} problem(s): ${problems.slice(0, max).join('; ')}${problems.length > max ? '; …' : ''}`
}

/**
 * The invariants that must hold on any sotapool database, however many processes wrote it and
 * whatever crashed: SQL on the store, compared with what the pool acknowledged when that is given.
 */
export async function checkInvariants(db: Kysely<DB>, options: InvariantOptions = {}): Promise<Check[]> {
  const sampleSize = options.sampleSize ?? 3
  const checks: Check[] = []
  const add = (name: string, problems: string[], okText: string): void => {
    checks.push({ name, ok: problems.length === 0, detail: summary(problems, okText) })
  }

  // §5.3 one active assignment per miner (the partial unique index must have held).
  const doubleActive = await db
    .selectFrom('assignments')
    .select(['miner_hotkey', (eb) => eb.fn.countAll<bigint>().as('c')])
    .where('status', '=', 'active')
    .groupBy('miner_hotkey')
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute()
  const activeCount = await db
    .selectFrom('assignments')
    .select((eb) => eb.fn.countAll<bigint>().as('c'))
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow()
  add(
    'at most one active assignment per miner',
    doubleActive.map((r) => `${r.miner_hotkey} has ${n(r.c)} active`),
    `${n(activeCount.c)} active assignments, none shared`,
  )

  // §5.3 enforced-window mode: one lease per miner per window.
  const leaseWindowDupes = await db
    .selectFrom('lease_windows')
    .select(['miner_hotkey', 'window_number', (eb) => eb.fn.countAll<bigint>().as('c')])
    .groupBy(['miner_hotkey', 'window_number'])
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute()
  add(
    'lease_windows has no duplicates',
    leaseWindowDupes.map((r) => `${r.miner_hotkey} window ${n(r.window_number)} ×${n(r.c)}`),
    'no (miner, window) twice',
  )

  // §5.5 an evaluation stored once per (algorithm, miner).
  const evalDupes = await db
    .selectFrom('evaluations')
    .select(['algorithm_id', 'miner_hotkey', (eb) => eb.fn.countAll<bigint>().as('c')])
    .groupBy(['algorithm_id', 'miner_hotkey'])
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute()
  const evalTotal = await db
    .selectFrom('evaluations')
    .select((eb) => eb.fn.countAll<bigint>().as('c'))
    .executeTakeFirstOrThrow()
  add(
    'no evaluation duplicated (algorithm_id, miner_hotkey)',
    evalDupes.map((r) => `algorithm ${n(r.algorithm_id)} by ${r.miner_hotkey} ×${n(r.c)}`),
    `${n(evalTotal.c)} evaluations, all distinct`,
  )

  // Everything below is easier to compare in memory; the tables stay small in these runs.
  const assignments = new Map(
    (
      await db
        .selectFrom('assignments')
        .select(['id', 'miner_hotkey', 'status', 'kind', 'evolve_budget', 'timeout_at'])
        .execute()
    ).map((a) => [a.id, a]),
  )
  // The evaluate set a miner was shown: slots (`evaluate`) and decided seeds topping it up (`recheck`).
  const evaluateItems = new Map<string, Set<number>>()
  const slotItems: Array<{ assignment_id: string; algorithm_id: bigint }> = []
  for (const i of await db
    .selectFrom('assignment_items')
    .select(['assignment_id', 'algorithm_id', 'role'])
    .where('role', 'in', ['evaluate', 'recheck'])
    .execute()) {
    const set = evaluateItems.get(i.assignment_id) ?? new Set<number>()
    set.add(n(i.algorithm_id))
    evaluateItems.set(i.assignment_id, set)
    if (i.role === 'evaluate') slotItems.push(i)
  }
  const evaluations = await db
    .selectFrom('evaluations')
    .select(['id', 'algorithm_id', 'miner_hotkey', 'assignment_id', 'outcome'])
    .execute()
  const algorithms = await db
    .selectFrom('algorithms')
    .select([
      'id',
      'state',
      'evaluation_count',
      'sample_target',
      'source_assignment_id',
      'miner_hotkey',
      'is_seed',
      'decided_window',
      'decided_at',
      'reject_reason',
    ])
    .execute()
  const evalsByAssignment = new Map<string, typeof evaluations>()
  const evalsByAlgorithm = new Map<number, typeof evaluations>()
  const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
    const list = map.get(key)
    if (list === undefined) map.set(key, [value])
    else list.push(value)
  }
  for (const e of evaluations) {
    push(evalsByAssignment, e.assignment_id, e)
    push(evalsByAlgorithm, n(e.algorithm_id), e)
  }
  const algoById = new Map(algorithms.map((a) => [n(a.id), a]))
  const evolutionsByAssignment = new Map<string, number[]>()
  for (const a of algorithms) {
    if (a.source_assignment_id !== null) push(evolutionsByAssignment, a.source_assignment_id, n(a.id))
  }

  // §5.5 all of a submission or none: evaluation rows exist only for submitted assignments, by their owner,
  // on algorithms of their evaluate set (so nothing of an active or expired lease is half-written).
  const strayEvals: string[] = []
  for (const [id, rows] of evalsByAssignment) {
    const a = assignments.get(id)
    if (a === undefined) {
      strayEvals.push(`${rows.length} evaluation(s) of unknown assignment ${id}`)
      continue
    }
    if (a.status !== 'submitted') strayEvals.push(`${rows.length} evaluation(s) of ${a.status} assignment ${id}`)
    for (const e of rows) {
      if (e.miner_hotkey !== a.miner_hotkey)
        strayEvals.push(`evaluation ${n(e.id)} by ${e.miner_hotkey} on ${id} owned by ${a.miner_hotkey}`)
      if (!(evaluateItems.get(id)?.has(n(e.algorithm_id)) ?? false))
        strayEvals.push(`evaluation ${n(e.id)} names algorithm ${n(e.algorithm_id)} outside the evaluate set of ${id}`)
    }
  }
  add(
    'evaluations only on submitted assignments (owner, evaluate set)',
    strayEvals,
    `${evalsByAssignment.size} assignments carry evaluations, all submitted`,
  )

  // §5.4 never more evaluators than the sample: the slots an algorithm was handed out through (`evaluate`
  // items) that were evaluated, plus those still open, never exceed its sample target (n unless adaptive n
  // raised it), however many processes leased at once. Top-ups of decided algorithms (`recheck`) take no slot.
  const nowMs = BigInt(options.nowMs ?? Date.now())
  const evaluatedPairs = new Set(evaluations.map((e) => `${e.assignment_id}:${n(e.algorithm_id)}`))
  const evaluators = new Map<number, number>()
  for (const i of slotItems) {
    const a = assignments.get(i.assignment_id)
    const open = a?.status === 'active' && BigInt(a.timeout_at) > nowMs
    if (open || evaluatedPairs.has(`${i.assignment_id}:${n(i.algorithm_id)}`))
      evaluators.set(n(i.algorithm_id), (evaluators.get(n(i.algorithm_id)) ?? 0) + 1)
  }
  const targetOf = (id: number): number => {
    const target = algoById.get(id)?.sample_target
    return target === null || target === undefined ? sampleSize : n(target)
  }
  const overHanded = [...evaluators]
    .filter(([id, count]) => count > targetOf(id))
    .map(([id, count]) => `algorithm ${id} handed to ${count} evaluators, its sample is ${targetOf(id)}`)
  add(
    'never more evaluators per algorithm than its sample (n, or what adaptive n raised it to)',
    overHanded,
    `${evaluators.size} algorithms handed out, none to more than its sample`,
  )

  const strayEvolutions: string[] = []
  for (const [id, ids] of evolutionsByAssignment) {
    const a = assignments.get(id)
    if (a === undefined) {
      strayEvolutions.push(`algorithms ${ids.join(',')} from unknown assignment ${id}`)
      continue
    }
    if (a.status !== 'submitted') strayEvolutions.push(`${ids.length} evolution(s) from ${a.status} assignment ${id}`)
    if (ids.length > n(a.evolve_budget))
      strayEvolutions.push(`${ids.length} evolutions from ${id}, budget ${n(a.evolve_budget)}`)
    for (const algoId of ids) {
      const algo = algoById.get(algoId)
      if (algo?.miner_hotkey !== a.miner_hotkey)
        strayEvolutions.push(
          `algorithm ${algoId} authored by ${String(algo?.miner_hotkey)} from ${id} owned by ${a.miner_hotkey}`,
        )
    }
  }
  add(
    'evolutions only from submitted assignments (owner, budget)',
    strayEvolutions,
    `${[...evolutionsByAssignment.values()].reduce((s, l) => s + l.length, 0)} evolved algorithms, all from submitted assignments`,
  )

  // What the pool acknowledged is stored, completely and once.
  if (options.acknowledged !== undefined) {
    const problems: string[] = []
    const seen = new Set<string>()
    for (const ack of options.acknowledged) {
      if (seen.has(ack.leaseId)) problems.push(`lease ${ack.leaseId} acknowledged twice`)
      seen.add(ack.leaseId)
      const a = assignments.get(ack.leaseId)
      if (a === undefined) {
        problems.push(`acknowledged lease ${ack.leaseId} missing`)
        continue
      }
      if (a.status !== 'submitted') problems.push(`acknowledged lease ${ack.leaseId} is ${a.status}`)
      if (ack.miner !== undefined && a.miner_hotkey !== ack.miner)
        problems.push(`lease ${ack.leaseId} owned by ${a.miner_hotkey}, acknowledged to ${ack.miner}`)
      const evals = evalsByAssignment.get(ack.leaseId)?.length ?? 0
      if (evals !== ack.evaluations)
        problems.push(`lease ${ack.leaseId}: ${evals} evaluation rows, acknowledged ${ack.evaluations}`)
      const evolved = evolutionsByAssignment.get(ack.leaseId) ?? []
      if (evolved.length !== ack.evolutions)
        problems.push(`lease ${ack.leaseId}: ${evolved.length} evolutions stored, acknowledged ${ack.evolutions}`)
      if (
        ack.newAlgorithmIds !== undefined &&
        [...ack.newAlgorithmIds].sort((x, y) => x - y).join(',') !== [...evolved].sort((x, y) => x - y).join(',')
      ) {
        problems.push(
          `lease ${ack.leaseId}: new algorithms [${ack.newAlgorithmIds.join(',')}] acknowledged, [${evolved.join(',')}] stored`,
        )
      }
    }
    add(
      'every acknowledged submit stored completely, once',
      problems,
      `${options.acknowledged.length} acknowledged submits, all submitted with exactly their evaluations and evolutions`,
    )
  }
  if (options.unanswered !== undefined) {
    const problems: string[] = []
    let stored = 0
    for (const u of options.unanswered) {
      const a = assignments.get(u.leaseId)
      const evals = evalsByAssignment.get(u.leaseId)?.length ?? 0
      const evolved = evolutionsByAssignment.get(u.leaseId)?.length ?? 0
      if (a?.status === 'submitted') {
        stored++
        if (evals !== u.evaluations || evolved !== u.evolutions)
          problems.push(
            `lease ${u.leaseId} submitted with ${evals}/${u.evaluations} evaluations, ${evolved}/${u.evolutions} evolutions`,
          )
      } else if (evals !== 0 || evolved !== 0) {
        problems.push(
          `lease ${u.leaseId} is ${String(a?.status)} but holds ${evals} evaluations, ${evolved} evolutions`,
        )
      }
    }
    add(
      'unanswered submits all-or-nothing',
      problems,
      `${options.unanswered.length} submits without an answer: ${stored} stored whole, ${options.unanswered.length - stored} not at all`,
    )
  }

  // §6.1 counting: an evaluating algorithm counts every evaluation row, at most its sample target; a
  // decided one counts exactly the votes its decision used (outcome set): its sample target (n, or what
  // adaptive n raised it to), or none when it was rejected as a duplicate.
  const countProblems: string[] = []
  let counted = 0
  for (const a of algorithms) {
    const rows = evalsByAlgorithm.get(n(a.id)) ?? []
    const count = n(a.evaluation_count)
    const withOutcome = rows.filter((e) => e.outcome !== null).length
    if (a.state === 'evaluating') {
      counted++
      if (count !== rows.length)
        countProblems.push(`evaluating ${n(a.id)}: evaluation_count ${count}, ${rows.length} rows`)
      const target = a.sample_target === null ? sampleSize : n(a.sample_target)
      // A full sample may be parked (judged again as weights move), never over-full.
      if (count > target) countProblems.push(`evaluating ${n(a.id)} has ${count} > its sample of ${target} evaluations`)
      if (withOutcome > 0) countProblems.push(`evaluating ${n(a.id)} has ${withOutcome} evaluations with an outcome`)
    } else {
      counted++
      if (count !== withOutcome)
        countProblems.push(
          `${a.state} ${n(a.id)}: evaluation_count ${count}, ${withOutcome} counted rows (of ${rows.length})`,
        )
      const expected = a.reject_reason === 'duplicate' ? 0 : a.sample_target === null ? sampleSize : n(a.sample_target)
      if (count !== expected)
        countProblems.push(
          `${a.state} ${n(a.id)} (${String(a.reject_reason)}): evaluation_count ${count}, expected ${expected}`,
        )
      if (a.decided_window === null) countProblems.push(`${a.state} ${n(a.id)} has no decided_window`)
    }
  }
  add(
    'evaluation_count equals counted evaluation rows',
    countProblems,
    `${counted} algorithms (${algorithms.filter((a) => a.state === 'evaluating').length} evaluating, ${algorithms.filter((a) => a.state === 'scored').length} scored, ${algorithms.filter((a) => a.state === 'rejected').length} rejected)`,
  )

  // §6.2 / §8.1 windows: each closed once, no gaps from the pool's first window.
  const closeRows = await db
    .selectFrom('window_closes')
    .select(['window_number', 'closed_at'])
    .orderBy('window_number')
    .execute()
  const closes = closeRows.map((w) => n(w.window_number))
  const closedAt = new Map(closeRows.map((w) => [n(w.window_number), n(w.closed_at)]))
  const firstWindow = n(
    (await db.selectFrom('pool_meta').select('value').where('key', '=', 'first_window').executeTakeFirst())?.value ?? 0,
  )
  const windowProblems: string[] = []
  if (new Set(closes).size !== closes.length) windowProblems.push('a window closed twice')
  closes.forEach((w, i) => {
    if (w !== firstWindow + i) windowProblems.push(`window ${firstWindow + i} missing before ${w}`)
  })
  add(
    'each window closed once, none skipped',
    windowProblems.slice(0, 1),
    closes.length === 0 ? 'no window closed yet' : `windows ${closes[0]}..${closes.at(-1)} closed once each`,
  )

  // Window points hold every fact decided in the window: a decision committed after its window was
  // closed would be missing here, and its evaluators and evolver never paid.
  const points = await db
    .selectFrom('window_points')
    .select(['window_number', 'miner_hotkey', 'agreements', 'disagreements', 'evaluations', 'evolutions'])
    .execute()
  const closedSet = new Set(closes)
  const facts = new Map<
    string,
    { agreements: number; disagreements: number; evaluations: number; evolutions: number }
  >()
  const factOf = (w: number, miner: string) => {
    const key = `${w}|${miner}`
    let f = facts.get(key)
    if (f === undefined) {
      f = { agreements: 0, disagreements: 0, evaluations: 0, evolutions: 0 }
      facts.set(key, f)
    }
    return f
  }
  for (const e of evaluations) {
    const a = algoById.get(n(e.algorithm_id))
    if (e.outcome === null || a?.decided_window === null || a === undefined || !closedSet.has(n(a.decided_window)))
      continue
    const f = factOf(n(a.decided_window), e.miner_hotkey)
    f.evaluations++
    if (e.outcome === 'agree') f.agreements++
    if (e.outcome === 'disagree') f.disagreements++
  }
  for (const a of algorithms) {
    if (
      a.decided_window === null ||
      n(a.is_seed) !== 0 ||
      a.miner_hotkey === null ||
      !closedSet.has(n(a.decided_window))
    )
      continue
    factOf(n(a.decided_window), a.miner_hotkey).evolutions++
  }
  const pointProblems: string[] = []
  const late = new Map<number, number>()
  const stored = new Map(points.map((p) => [`${n(p.window_number)}|${p.miner_hotkey}`, p]))
  for (const [key, f] of facts) {
    const p = stored.get(key)
    const got =
      p === undefined
        ? { agreements: 0, disagreements: 0, evaluations: 0, evolutions: 0 }
        : {
            agreements: n(p.agreements),
            disagreements: n(p.disagreements),
            evaluations: n(p.evaluations),
            evolutions: n(p.evolutions),
          }
    if (
      got.evaluations !== f.evaluations ||
      got.agreements !== f.agreements ||
      got.disagreements !== f.disagreements ||
      got.evolutions !== f.evolutions
    ) {
      const w = Number(key.split('|')[0])
      late.set(w, (late.get(w) ?? 0) + (f.evaluations - got.evaluations) + (f.evolutions - got.evolutions))
      pointProblems.push(
        `window ${key.replace('|', ' miner ')}: stored eval ${got.evaluations}/agree ${got.agreements}/disagree ${got.disagreements}/evol ${got.evolutions}, decided facts ${f.evaluations}/${f.agreements}/${f.disagreements}/${f.evolutions}`,
      )
    }
  }
  for (const [key, p] of stored) {
    if (!facts.has(key) && (n(p.evaluations) > 0 || n(p.evolutions) > 0))
      pointProblems.push(`window ${key.replace('|', ' miner ')}: stored facts nobody decided`)
  }
  const iso = (ms: number): string => new Date(ms).toISOString().slice(11, 23)
  const lateText =
    late.size === 0
      ? ''
      : ` [missing from the points of their closed window (decisions committed after the close read the window): ${[
          ...late,
        ]
          .map(([w, c]) => {
            const stamped = algorithms
              .filter((a) => a.decided_window !== null && n(a.decided_window) === w)
              .map((a) => n(a.decided_at))
            return `window ${w}: ${c} facts; closed at ${iso(closedAt.get(w) ?? 0)}, last decision stamped ${iso(Math.max(0, ...stamped))}`
          })
          .join('; ')}]`
  checks.push({
    name: 'window points hold every fact decided in the window',
    ok: pointProblems.length === 0,
    detail:
      pointProblems.length === 0
        ? `${points.length} window point rows match the decided facts`
        : summary(pointProblems, '', 3) + lateText,
  })

  // §8.1 / §8.2 epochs.
  const epochs = await db.selectFrom('epochs').selectAll().orderBy('epoch_id').execute()
  const payouts = await db.selectFrom('epoch_payouts').select(['epoch_id', 'hotkey', 'units']).execute()
  const leaves = await db.selectFrom('epoch_leaves').select(['epoch_id', 'hotkey', 'amount_units']).execute()
  const epochDupes = await db
    .selectFrom('epochs')
    .select(['epoch_id', (eb) => eb.fn.countAll<bigint>().as('c')])
    .groupBy('epoch_id')
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute()
  const epochProblems = epochDupes.map((e) => `epoch ${n(e.epoch_id)} ×${n(e.c)}`)
  for (const [i, e] of epochs.entries()) {
    if (i > 0 && n(e.epoch_id) !== n(epochs[i - 1]!.epoch_id) + 1)
      epochProblems.push(`epoch ${n(epochs[i - 1]!.epoch_id) + 1} missing`)
    for (let w = n(e.window_start); w <= n(e.window_end); w++)
      if (!closedSet.has(w)) epochProblems.push(`epoch ${n(e.epoch_id)} closed before its window ${w}`)
  }
  add(
    'each closed epoch appears once, its windows closed',
    epochProblems,
    epochs.length === 0
      ? 'no epoch closed'
      : `epochs ${n(epochs[0]!.epoch_id)}..${n(epochs.at(-1)!.epoch_id)} closed once each`,
  )

  const moneyProblems: string[] = []
  let withPoints = 0
  const credit = new Map<string, bigint>()
  const leafProblems: string[] = []
  for (const e of epochs) {
    const id = n(e.epoch_id)
    const mine = payouts.filter((p) => n(p.epoch_id) === id)
    const paid = mine.reduce((s, p) => s + BigInt(p.units), 0n)
    if (paid !== BigInt(e.epoch_units))
      moneyProblems.push(`epoch ${id}: payouts sum ${paid}, epoch_units ${e.epoch_units}`)
    // §8.2: every closed epoch balances, the empty one too; without points there is no fee.
    const total = BigInt(e.epoch_units) + BigInt(e.fee_units) + BigInt(e.undistributed_units)
    if (total !== BigInt(e.budget_units))
      moneyProblems.push(
        `epoch ${id}: payouts ${e.epoch_units} + fee ${e.fee_units} + undistributed ${e.undistributed_units} = ${total} ≠ budget ${e.budget_units}`,
      )
    if (mine.length > 0) withPoints++
    else if (BigInt(e.fee_units) !== 0n) moneyProblems.push(`epoch ${id} had no points but took fee ${e.fee_units}`)
    for (const p of mine) credit.set(p.hotkey, (credit.get(p.hotkey) ?? 0n) + BigInt(p.units))
    const epochLeaves = leaves.filter((l) => n(l.epoch_id) === id)
    if (epochLeaves.length !== n(e.num_of_leaves))
      leafProblems.push(`epoch ${id}: ${epochLeaves.length} leaves stored, num_of_leaves ${n(e.num_of_leaves)}`)
    const sum = epochLeaves.reduce((s, l) => s + BigInt(l.amount_units), 0n)
    if (sum !== BigInt(e.total_units)) leafProblems.push(`epoch ${id}: leaves sum ${sum}, total_units ${e.total_units}`)
    for (const l of epochLeaves) {
      if (BigInt(l.amount_units) !== (credit.get(l.hotkey) ?? 0n))
        leafProblems.push(
          `epoch ${id} leaf of ${l.hotkey}: ${l.amount_units}, cumulative credit ${credit.get(l.hotkey) ?? 0n}`,
        )
    }
  }
  add(
    'payouts + fee + undistributed = budget',
    moneyProblems,
    `${epochs.length} closed epochs (${withPoints} with points, ${epochs.length - withPoints} without): every one balances`,
  )
  add(
    'leaves carry cumulative credit',
    leafProblems,
    `${leaves.length} leaves over ${epochs.length} epochs match payouts to date`,
  )

  if (options.verifyEpoch !== undefined) {
    const problems: string[] = []
    const details: string[] = []
    for (const e of epochs) {
      const r = await options.verifyEpoch(n(e.epoch_id))
      if (!r.ok) problems.push(`epoch ${n(e.epoch_id)}: ${r.detail}`)
      else details.push(String(n(e.epoch_id)))
    }
    add(
      'epoch verify recomputes every closed epoch',
      problems,
      epochs.length === 0 ? 'no closed epoch to verify' : `match true for epochs ${details.join(', ')}`,
    )
  }
  return checks
}

// --- reporting ------------------------------------------------------------------------------------

export function printChecks(checks: Check[], title = 'checks'): void {
  const width = Math.max(...checks.map((c) => c.name.length), 10)
  const lines = [`${title}:`, ...checks.map((c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`)]
  process.stdout.write(`${lines.join('\n')}\n`)
}

export function writeJson(relativePath: string, value: unknown): string {
  const path = join(REPO_ROOT, relativePath)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`)
  return path
}

/** Current block, window and epoch of a clock-driven pool, from its stored genesis. */
export async function poolTime(
  db: Kysely<DB>,
  tempo: { blockTimeS: number; windowBlocks: number; epochWindows: number },
  nowMs = Date.now(),
) {
  const genesis = n(
    (await db.selectFrom('pool_meta').select('value').where('key', '=', 'genesis_ms').executeTakeFirstOrThrow()).value,
  )
  const block = Math.max(0, Math.floor((nowMs - genesis) / (tempo.blockTimeS * 1000)))
  const window = Math.floor(block / tempo.windowBlocks)
  const epoch = Math.floor(window / tempo.epochWindows)
  /** Unix ms at which `epoch` has ended (its last window's last block is over). */
  const epochEndMs = (e: number): number =>
    genesis + (e + 1) * tempo.epochWindows * tempo.windowBlocks * tempo.blockTimeS * 1000
  return { genesis, block, window, epoch, epochEndMs }
}
