// Operator safety and tools, by spawning the CLI against a real store (temp-file SQLite or a fresh
// PostgreSQL database): the stored tempo, databases that only `serve`/`migrate` create, and configuration
// errors that name every cause.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig } from '../../src/config.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { createSharedTestStore, testDialect, type SharedTestStore } from '../support/database.ts'
import { baseEnv, runCli, type Run } from '../support/cli.ts'
import { WINDOW_MS } from '../support/epochs.ts'

const json = (run: Run): any => {
  try {
    return JSON.parse(run.stdout)
  } catch {
    assert.fail(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`)
  }
}

describe('operator CLI', { concurrency: false }, () => {
  let store: SharedTestStore
  let workDir = ''
  let env: Record<string, string> = {}
  const cli = async (...args: string[]): Promise<Run> => await runCli(workDir, env, ...args)
  const cliWith = async (extra: Record<string, string>, ...args: string[]): Promise<Run> =>
    await runCli(workDir, { ...env, ...extra }, ...args)
  const openStore = async (nowMs = Date.now(), extra: Record<string, string> = {}): Promise<PoolContext> =>
    await createPoolContext(
      loadConfig({ BACKGROUND_JOBS: 'false', LOG_LEVEL: 'silent', DATABASE_URL: store.url, ...extra }),
      { clock: new ManualClock(nowMs) },
    )

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'sotapool-operator-'))
    store = await createSharedTestStore()
    env = { ...baseEnv(), DATABASE_URL: store.url, LOG_LEVEL: 'silent' }
    // The pool started two and a half windows ago: windows 0 and 1 have ended.
    const pool = await openStore(Date.now() - 2.5 * WINDOW_MS)
    await pool.close()
  })

  after(async () => {
    await store?.drop()
    rmSync(workDir, { recursive: true, force: true })
  })

  it('refuses a process whose tempo differs from the stored one, naming both values, unless told to adopt it', async () => {
    const [drift, adoptedFlag, adoptedEnv, same] = await Promise.all([
      cliWith({ WINDOW_BLOCKS: '5', BLOCK_TIME_S: '6' }, 'window', 'close'),
      cliWith({ WINDOW_BLOCKS: '5' }, 'tempo', 'show', '--adopt-stored-tempo'),
      cliWith({ WINDOW_BLOCKS: '5', ADOPT_STORED_TEMPO: 'true' }, 'tempo', 'show'),
      cli('tempo', 'show'),
    ])
    assert.equal(drift.code, 2, drift.stdout)
    assert.match(drift.stderr, /BLOCK_TIME_S is 6 here but 12 in the database/)
    assert.match(drift.stderr, /WINDOW_BLOCKS is 5 here but 360 in the database/)
    assert.match(drift.stderr, /--adopt-stored-tempo/)
    assert.equal(drift.stdout, '', 'nothing was closed under the wrong numbering')
    for (const run of [adoptedFlag, adoptedEnv, same]) {
      assert.equal(run.code, 0, run.stderr)
      const shown = json(run)
      assert.deepEqual(shown.settings, { BLOCK_TIME_S: 12, WINDOW_BLOCKS: 360, EPOCH_WINDOWS: 1 })
      assert.equal(shown.current.window, 2)
    }
  })

  it('tempo set changes the tempo from the next epoch on and window numbers continue', async () => {
    const refused = await cli('tempo', 'set', '--window-blocks', '180', '--from-epoch', '1')
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /--from-epoch 1 has already started \(the pool is in epoch 2\)/)

    const set = await cli('tempo', 'set', '--window-blocks', '180', '--epoch-windows', '2')
    assert.equal(set.code, 0, set.stderr)
    const result = json(set)
    assert.deepEqual(result.settings, { BLOCK_TIME_S: 12, WINDOW_BLOCKS: 180, EPOCH_WINDOWS: 2 })
    assert.deepEqual(result.schedule.at(-1), {
      from_epoch: 3,
      from_window: 3,
      from_block: 3 * 360,
      from_time: result.schedule.at(-1).from_time,
      block_time_s: 12,
      window_blocks: 180,
      epoch_windows: 2,
    })
    assert.match(result.note, /WINDOW_BLOCKS=180/)

    // The old settings are refused now, the new ones accepted; the current window is still 2.
    const [old, current] = await Promise.all([
      cli('window', 'close'),
      cliWith({ WINDOW_BLOCKS: '180', EPOCH_WINDOWS: '2' }, 'window', 'close'),
    ])
    assert.equal(old.code, 2)
    assert.match(old.stderr, /WINDOW_BLOCKS is 360 here but 180 in the database/)
    assert.equal(current.code, 0, current.stderr)
    assert.deepEqual(json(current), { closed: [0, 1], current_window: 2 })

    // Later under the new tempo (window 3 is blocks 1080..1259, window 4 1260..1439): numbering went on from 3, not from block 0.
    const later = await openStore(Date.now() + 1.2 * WINDOW_MS, { WINDOW_BLOCKS: '180', EPOCH_WINDOWS: '2' })
    try {
      assert.equal(later.currentWindow().windowNumber, 4)
      assert.equal(later.currentEpoch(), 3)
    } finally {
      await later.close()
    }
  })

  it('commands other than serve and migrate refuse a missing database; sqlite: alone is refused', async () => {
    const missing = join(workDir, 'nowhere', 'pool.db')
    const runs = await Promise.all([
      cliWith({ DATABASE_URL: `sqlite:${missing}` }, 'epoch', 'verify', '3'),
      cliWith({ DATABASE_URL: `sqlite:${join(workDir, 'absent.db')}` }, 'window', 'close'),
      cliWith({ DATABASE_URL: 'sqlite:' }, 'epoch', 'verify', '3'),
      runCli(workDir, { ...baseEnv(), LOG_LEVEL: 'silent' }, 'epoch', 'verify', '3'),
    ])
    assert.equal(runs[0]!.code, 1)
    assert.match(
      runs[0]!.stderr,
      new RegExp(`no database at ${missing}.*its folder .*nowhere is missing too.*sotapool migrate`),
    )
    assert.match(
      runs[1]!.stderr,
      /absent\.db: DATABASE_URL names a SQLite file that does not exist \(the file is missing\)/,
    )
    assert.equal(runs[2]!.code, 2)
    assert.match(runs[2]!.stderr, /DATABASE_URL names no SQLite file: use sqlite:<file>, or sqlite::memory:/)
    assert.match(runs[3]!.stderr, /data\/pool\.db/, 'the default database is not created either')
    assert.ok(
      !existsSync(join(workDir, 'nowhere')) &&
        !existsSync(join(workDir, 'absent.db')) &&
        !existsSync(join(workDir, 'data')),
      'nothing was created',
    )

    const created = await cliWith({ DATABASE_URL: `sqlite:${join(workDir, 'new', 'pool.db')}` }, 'migrate')
    assert.equal(created.code, 0, created.stderr)
    assert.ok(existsSync(join(workDir, 'new', 'pool.db')))
    const memory = await cliWith({ DATABASE_URL: 'sqlite::memory:' }, 'migrate')
    assert.equal(memory.code, 0, memory.stderr)
    assert.match(memory.stderr, /in memory; it is lost when the process exits/)
  })

  it('configuration errors name every bad variable at once; .env names that are not variables are reported', async () => {
    const bad = await cliWith(
      { API_PORT: 'abc', VERIFIER_HOTKEYS: 'bad', ENVIRONMENT: 'production' },
      'window',
      'close',
    )
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid configuration \(4 problems\)/)
    assert.match(bad.stderr, /API_PORT must be an integer, got "abc"/)
    assert.match(bad.stderr, /VERIFIER_HOTKEYS has "bad"/)
    assert.match(bad.stderr, /MONITOR_TOKEN must be set when ENVIRONMENT=production/)
    assert.match(bad.stderr, /METRICS_TOKEN must be set when ENVIRONMENT=production/)

    const dir = mkdtempSync(join(tmpdir(), 'sotapool-dotenv-'))
    try {
      writeFileSync(join(dir, '.env'), 'WINDOW_BLOKS=5\nLOG_LEVEL=silent\n')
      const run = await runCli(dir, env, 'tempo', 'show')
      assert.equal(run.code, 0, run.stderr)
      assert.match(
        run.stderr,
        /\.env sets WINDOW_BLOKS, which is not a configuration variable \(did you mean WINDOW_BLOCKS\?\)/,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('serve logs one start-up line with the effective configuration and a line on shutdown', async () => {
    const bin = fileURLToPath(new URL('../../bin/sotapool.mjs', import.meta.url))
    // Adopting the stored tempo, so the test holds whether or not the tempo change above ran first.
    const child = spawn(process.execPath, [bin, 'serve', '--adopt-stored-tempo'], {
      cwd: workDir,
      env: { ...env, LOG_LEVEL: 'info', API_PORT: '0', BACKGROUND_JOBS: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const deadline = Date.now() + 120_000
    while (!/Server listening/.test(out) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200))
    child.kill('SIGTERM')
    assert.equal(await exited, 0, out)
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; database?: string; environment?: string })
    const start = lines.filter((l) => /^sotapool Pool API on /.test(l.msg))
    assert.equal(start.length, 1, out)
    assert.match(
      start[0]!.msg,
      /environment development, database (sqlite:\/|postgres:\/\/).*tempo 12 s\/block, \d+ blocks\/window, \d+ windows\/epoch, genesis \d{4}-.*blocks from clock, claim app mounted at \/claims/,
    )
    assert.ok(
      lines.some((l) => l.msg === 'shutting down on SIGTERM: finishing in-flight requests'),
      out,
    )
    assert.ok(
      lines.some((l) => l.msg === 'shut down cleanly'),
      out,
    )
  })

  it('database errors name the database', { skip: testDialect() !== 'postgres' }, async () => {
    const run = await cliWith({ DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/none' }, 'window', 'close')
    assert.equal(run.code, 1)
    assert.match(run.stderr, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none: connect ECONNREFUSED/)
    assert.doesNotMatch(run.stderr, /hunter2/)
  })
})
