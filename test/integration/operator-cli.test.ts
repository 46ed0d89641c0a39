// The operator commands as operators run them (spawned CLI) against a pool's store, with a Pool API
// over the same store answering miners: bans, leases, maintenance, backup and its restore check,
// prune, and commands whose errors must name what they were about.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { sql } from 'kysely'
import { buildApp } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig } from '../../src/config.ts'
import { pgToolFor } from '../../src/db/pg-tools.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { createSharedTestStore, testDialect, type SharedTestStore } from '../support/database.ts'
import { baseEnv, runCli, type Run } from '../support/cli.ts'
import { addPoints, craftMiner, randomAddress, WINDOW_MS } from '../support/epochs.ts'
import { TestMiner } from '../support/miner.ts'

const json = (run: Run): any => {
  try {
    return JSON.parse(run.stdout)
  } catch {
    assert.fail(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`)
  }
}
const REFRESH_MS = 2100
const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

describe('operator commands', { concurrency: false }, () => {
  let store: SharedTestStore
  let workDir = ''
  let env: Record<string, string> = {}
  let pool: PoolContext
  let app: FastifyInstance
  let miner: TestMiner
  const cli = async (...args: string[]): Promise<Run> => await runCli(workDir, env, ...args)

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'sotapool-opcli-'))
    store = await createSharedTestStore()
    env = { ...baseEnv(), DATABASE_URL: store.url, LOG_LEVEL: 'silent' }
    // Started two and a half windows ago; epochs 0 and 1 close with three paid miners.
    const config = loadConfig({
      BACKGROUND_JOBS: 'false',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_IP_PER_MINUTE: '0',
      DATABASE_URL: store.url,
    })
    const start = await createPoolContext(config, { clock: new ManualClock(Date.now() - 2.5 * WINDOW_MS) })
    for (let i = 0; i < 3; i++) {
      const m = await craftMiner(start, { recipient: await randomAddress() })
      await addPoints(start, 0, m.hotkey, i + 1)
      await addPoints(start, 1, m.hotkey, 1)
    }
    await start.close()
    pool = await createPoolContext(config, { clock: new ManualClock(Date.now()) })
    assert.deepEqual(await pool.epochs.closeReady(), [0, 1])
    app = await buildApp(pool)
    miner = await TestMiner.create(app, '//operator-cli')
  })

  after(async () => {
    await app?.close()
    await pool?.close()
    await store?.drop()
    rmSync(workDir, { recursive: true, force: true })
  })

  it('leases lists who holds what; miner ban refuses the key with 403 and expires its lease; show and unban', async () => {
    const lease = await miner.lease()
    assert.equal(lease.statusCode, 200, lease.body)
    const listed = await cli('leases')
    assert.equal(listed.code, 0, listed.stderr)
    const active = json(listed)
    assert.equal(active.count, 1)
    assert.equal(active.leases[0].id, lease.json().lease_id)
    assert.equal(active.leases[0].miner_hotkey, miner.hotkey)
    assert.equal(active.leases[0].status, 'active')

    const banned = await cli('miner', 'ban', miner.hotkey, '--reason', 'scores at random')
    assert.equal(banned.code, 0, banned.stderr)
    assert.equal(json(banned).note, 'banned now')
    await sleep(REFRESH_MS)
    const refused = await miner.lease()
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.json().code, 'POOL_ERR_MINER_BANNED')
    assert.match(refused.json().detail, /scores at random/)

    const [expired, shown, bans, bad] = await Promise.all([
      cli('leases', '--status', 'expired', '--miner', miner.hotkey),
      cli('miner', 'show', miner.hotkey),
      cli('miner', 'bans'),
      cli('miner', 'ban', 'not-a-key', '--reason', 'x'),
    ])
    assert.equal(json(expired).leases[0].id, lease.json().lease_id)
    assert.equal(json(shown).banned.reason, 'scores at random')
    assert.equal(json(shown).hotkey, miner.hotkey)
    // A miner with no decided evaluation yet votes with a newcomer's weight.
    assert.deepEqual(json(shown).trust, { agreements: 0, disagreements: 0, vote_weight: 0.5 })
    assert.deepEqual(
      json(bans).bans.map((b: { hotkey: string }) => b.hotkey),
      [miner.hotkey],
    )
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /not-a-key is not an SS58 hotkey with prefix 42/)

    const unbanned = await cli('miner', 'unban', miner.hotkey)
    assert.equal(json(unbanned).note, 'unbanned now')
    await sleep(REFRESH_MS)
    assert.equal((await miner.stats()).statusCode, 200)
  })

  it('maintenance on answers signed writes 503 with Retry-After in the running API; off ends it', async () => {
    const on = await cli('maintenance', 'on', '--retry-after', '90', '--message', 'upgrading')
    assert.equal(on.code, 0, on.stderr)
    assert.equal(json(on).maintenance.on, true)
    await sleep(REFRESH_MS)
    const refused = await miner.send('POST', '/api/v1/miners/register', {})
    assert.equal(refused.statusCode, 503)
    assert.equal(refused.headers['retry-after'], '90')
    assert.match(refused.json().detail, /maintenance: upgrading/)
    assert.equal((await miner.stats()).statusCode, 200)
    assert.equal(json(await cli('maintenance', 'status')).maintenance.retryAfterS, 90)
    assert.equal(json(await cli('maintenance', 'off')).maintenance.on, false)
    await sleep(REFRESH_MS)
    assert.equal((await miner.send('POST', '/api/v1/miners/register', {})).statusCode, 200)
  })

  it('backup writes a copy whose every closed epoch verifies; a restore check verifies every epoch', async (t) => {
    let restoreTool = 'pg_restore'
    if (testDialect() === 'postgres') {
      // pg_dump refuses a newer server: the backup picks a fitting installed copy, the test needs one to exist.
      const major = Math.floor(
        Number(
          (await sql<{ v: string }>`select current_setting('server_version_num') as v`.execute(pool.database.db))
            .rows[0]?.v,
        ) / 10000,
      )
      const tool = await pgToolFor('pg_restore', major).catch((err: Error) => err)
      if (tool instanceof Error) {
        t.skip(tool.message)
        return
      }
      restoreTool = tool.path
    }
    const file = join(workDir, testDialect() === 'sqlite' ? 'backup.db' : 'backup.dump')
    const run = await runCli(workDir, { ...env, SOTAPOOL_PROGRESS: 'always' }, 'backup', file)
    assert.equal(run.code, 0, run.stderr)
    const again = await cli('backup', file)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /exists already; a backup never overwrites/)
    if (testDialect() === 'sqlite') {
      assert.deepEqual(json(run).restore_check, { ok: true, epochs: 2, mismatched: [] })
      assert.match(run.stderr, /verifying epochs/)
      const restored = await runCli(workDir, { ...env, DATABASE_URL: `sqlite:${file}` }, 'epoch', 'verify', '--all')
      assert.deepEqual(json(restored), { ok: true, epochs: 2, mismatched: [] })
      return
    }
    // PostgreSQL: the documented routine, restore into a scratch database and verify every epoch there.
    assert.match(run.stderr, /pg_restore/)
    const scratch = new URL(store.url)
    const name = `${scratch.pathname.slice(1)}_restore`
    const admin = new pg.Client({
      connectionString: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    })
    await admin.connect()
    try {
      await admin.query(`create database ${name}`)
      scratch.pathname = `/${name}`
      await new Promise<void>((resolve, reject) => {
        execFile(restoreTool, ['--no-owner', '-d', scratch.toString(), file], (err, _out, stderr) => {
          if (err === null) resolve()
          else reject(new Error(stderr))
        })
      })
      const restored = await runCli(workDir, { ...env, DATABASE_URL: scratch.toString() }, 'epoch', 'verify', '--all')
      assert.deepEqual(json(restored), { ok: true, epochs: 2, mismatched: [] })
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`)
      await admin.end()
    }
  })

  it('prune reports what a horizon would delete; RETENTION_DAYS=0 needs an explicit --days', async () => {
    const [dry, unset] = await Promise.all([cli('prune', '--days', '0', '--dry-run'), cli('prune')])
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(json(dry).dry_run, true)
    assert.equal(json(dry).through_window, 1)
    assert.equal(unset.code, 1)
    assert.match(unset.stderr, /RETENTION_DAYS is 0/)
  })

  it('simulate fails when nothing succeeded and names the URL; verify-proof explains an epoch artifact and an unreachable URL', async () => {
    const exported = join(workDir, 'epoch-1.json')
    assert.equal((await cli('epoch', 'export', '1', '-o', exported)).code, 0)
    const [sim, badRecipient, artifact, unreachable] = await Promise.all([
      cli('simulate', '--url', 'http://127.0.0.1:59999', '--miners', '1', '--duration', '1', '--json'),
      cli('simulate', '--url', 'http://127.0.0.1:59999', '--recipient', 'nope', '--duration', '1'),
      cli('verify-proof', exported),
      cli('verify-proof', 'http://127.0.0.1:59999/claims/epoch/1/proof/x'),
    ])
    assert.equal(sim.code, 1, sim.stdout)
    assert.match(
      sim.stderr,
      /nothing succeeded: no submission was accepted by http:\/\/127\.0\.0\.1:59999 \(POST http:\/\/127\.0\.0\.1:59999\/api\/v1\/tasks\/lease: .*ECONNREFUSED/,
    )
    assert.notEqual(badRecipient.code, 0)
    assert.match(badRecipient.stderr, /--recipient must be an SS58 address/)
    assert.equal(artifact.code, 1, artifact.stdout + artifact.stderr)
    assert.match(
      artifact.stderr,
      /is an epoch artifact \(epoch 1, 3 leaves\), not a proof package/,
      JSON.stringify(artifact),
    )
    assert.equal(unreachable.code, 1)
    assert.match(
      unreachable.stderr,
      /cannot fetch http:\/\/127\.0\.0\.1:59999\/claims\/epoch\/1\/proof\/x: .*ECONNREFUSED/,
    )
  })
})
