// The operator CLI as operators run it: `node bin/sotapool.mjs …` in a process of its own, against a
// store the test prepared (temp-file SQLite or a fresh PostgreSQL database). Each start costs a second or
// two, so independent commands run side by side.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildApp, buildClaimApp } from '../../src/app.ts'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig } from '../../src/config.ts'
import { decodeHotkey } from '../../src/crypto/sr25519.ts'
import { createPoolContext, type PoolContext } from '../../src/services/context.ts'
import { createSharedTestStore, type SharedTestStore } from '../support/database.ts'
import { startTestPool } from '../support/pool.ts'
import { addPoints, craftMiner, randomAddress, WINDOW_MS, type CraftedMiner } from '../support/epochs.ts'

const BIN = fileURLToPath(new URL('../../bin/sotapool.mjs', import.meta.url))
const PAYOUT_ENV = { EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }

interface Run {
  code: number
  stdout: string
  stderr: string
}

let workDir = ''
let cliEnv: Record<string, string> = {}

// A CLI start loads the whole program (a few CPU seconds): run at most this many at once.
const PARALLEL = 3
let running = 0
const waiting: Array<() => void> = []

/** Runs the CLI in a directory of its own (no stray .env), with the test store and silent logs. */
async function cli(...args: string[]): Promise<Run> {
  return await cliWith({}, ...args)
}

async function cliWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    return await new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: workDir, env: { ...cliEnv, ...env }, timeout: 180_000 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
          resolve({ code, stdout, stderr: err?.killed === true ? `${stderr}\n(killed: timeout)` : stderr })
        },
      )
    })
  } finally {
    running--
    waiting.shift()?.()
  }
}

const json = (run: Run): any => {
  try {
    return JSON.parse(run.stdout)
  } catch {
    assert.fail(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`)
  }
}

describe('sotapool CLI', { concurrency: false }, () => {
  let store: SharedTestStore
  const miners: CraftedMiner[] = []
  let storeUrl = ''

  /** A pool context on the test store, its clock at `nowMs` (real time by default, as the CLI sees it). */
  const openStore = async (nowMs = Date.now()): Promise<PoolContext> =>
    await createPoolContext(
      loadConfig({ BACKGROUND_JOBS: 'false', LOG_LEVEL: 'silent', ...PAYOUT_ENV, DATABASE_URL: storeUrl }),
      { clock: new ManualClock(nowMs) },
    )

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'sotapool-cli-'))
    store = await createSharedTestStore()
    storeUrl = store.url
    const passthrough = Object.fromEntries(
      ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT'].flatMap((k) =>
        process.env[k] === undefined ? [] : [[k, process.env[k]!]],
      ),
    )
    cliEnv = { ...passthrough, DATABASE_URL: storeUrl, LOG_LEVEL: 'silent', ...PAYOUT_ENV }
    // The pool started two and a half windows ago (the CLI uses the real clock): windows 0 and 1 have ended.
    const pool = await openStore(Date.now() - 2.5 * WINDOW_MS)
    try {
      for (let i = 0; i < 3; i++) miners.push(await craftMiner(pool, { recipient: await randomAddress() }))
      for (const [i, m] of miners.entries()) {
        await addPoints(pool, 0, m.hotkey, i + 1)
        await addPoints(pool, 1, m.hotkey, 1)
      }
    } finally {
      await pool.close()
    }
  })

  after(async () => {
    await store?.drop()
    rmSync(workDir, { recursive: true, force: true })
  })

  it('--help of every operator command lists its options; bad arguments fail clearly', async () => {
    const helps: Array<[string[], RegExp[]]> = [
      [['window', 'close', '--help'], [/--window <number>/]],
      [['epoch', 'close', '--help'], [/\[epoch\]/]],
      [
        ['epoch', 'verify', '--help'],
        [/\[epoch\]/, /--all/, /--url <url>/, /--epoch <number>/, /--root <hex>/],
      ],
      [['epoch', 'export', '--help'], [/-o, --output <file>/]],
      [
        ['verify-proof', '--help'],
        [/<source>/, /--root <hex>/],
      ],
      [['keygen', '--help'], [/--json/]],
      [
        ['sign', '--help'],
        [/--mnemonic <phrase>/, /--recipient <ss58>/, /--timestamp <unix-seconds>/, /--json/],
      ],
    ]
    const bad: Array<[string[], RegExp]> = [
      [['epoch', 'verify', 'abc'], /epoch must be an integer/],
      [['epoch', 'verify'], /epoch verify needs an EPOCH or --all \(from the database\), or --url \(over HTTP\)/],
      [['epoch', 'verify', '--url', 'http://127.0.0.1:1'], /http:\/\/127\.0\.0\.1:1 serves no claim app/],
      [['sign'], /give --mnemonic or set SOTAPOOL_MNEMONIC/],
    ]
    const [helpRuns, badRuns] = await Promise.all([
      Promise.all(helps.map(async ([args]) => await cli(...args))),
      Promise.all(bad.map(async ([args]) => await cli(...args))),
    ])
    helps.forEach(([args, patterns], i) => {
      const run = helpRuns[i]!
      assert.equal(run.code, 0, args.join(' '))
      assert.match(run.stdout, /Usage: sotapool/, args.join(' '))
      assert.match(run.stdout, /Options:/)
      assert.match(run.stdout, /-h, --help/)
      for (const p of patterns) assert.match(run.stdout, p, `${args.join(' ')} lists ${p}`)
    })
    bad.forEach(([args, message], i) => {
      const run = badRuns[i]!
      assert.notEqual(run.code, 0, `${args.join(' ')} should fail`)
      assert.match(run.stderr, message, `${args.join(' ')}: ${run.stderr}`)
      assert.doesNotMatch(run.stderr, /\n\s+at /, `${args.join(' ')} prints no stack trace`)
    })
  })

  it('window close, epoch close, verify, export and verify-proof work on the store', async () => {
    // Windows first: both ended windows close, once.
    const windows = await cli('window', 'close')
    assert.equal(windows.code, 0, windows.stderr)
    assert.deepEqual(json(windows), { closed: [0, 1], current_window: 2 })

    const closed = await cli('epoch', 'close')
    assert.equal(closed.code, 0, closed.stderr)
    assert.deepEqual(json(closed), { closed: [0, 1], current_epoch: 2 })

    const [closeOne, verify0, verify1, notClosed, exported] = await Promise.all([
      cli('epoch', 'close', '1'),
      cli('epoch', 'verify', '0'),
      cli('epoch', 'verify', '1'),
      cli('epoch', 'export', '42'),
      cli('epoch', 'export', '1', '-o', join(workDir, 'epoch-1.json')),
    ])
    assert.equal(closeOne.code, 0, closeOne.stderr)
    const one = json(closeOne)
    assert.equal(one.closed, false)
    assert.equal(one.note, 'was already closed')
    assert.equal(one.num_of_leaves, 3)
    assert.equal(one.epoch_units, 1000)

    const pool = await openStore()
    try {
      const roots = new Map(
        (await pool.database.db.selectFrom('epochs').select(['epoch_id', 'root']).execute()).map((r) => [
          Number(r.epoch_id),
          r.root,
        ]),
      )
      for (const [e, run] of [
        [0, verify0],
        [1, verify1],
      ] as const) {
        assert.equal(run.code, 0, run.stderr)
        const v = json(run)
        assert.deepEqual(v, {
          epoch: e,
          match: true,
          root: roots.get(e),
          recomputed_root: roots.get(e),
          mismatches: [],
        })
      }
      assert.notEqual(notClosed.code, 0)
      assert.match(notClosed.stderr, /epoch 42 not found \(unknown or not closed yet\)/)

      assert.equal(exported.code, 0, exported.stderr)
      assert.equal(exported.stdout, '')
      assert.match(exported.stderr, /wrote epoch 1 \(3 leaves, root 0x[0-9a-f]{64}\)/)
      const artifact = JSON.parse(readFileSync(join(workDir, 'epoch-1.json'), 'utf8'))
      assert.equal(artifact.root, roots.get(1))
      assert.equal(artifact.epoch, 1)
      assert.equal(artifact.num_of_leaves, 3)
      assert.equal(artifact.total_units, 2000)
      assert.equal(artifact.leaves.length, 3)

      // A proof package as the claim app serves it, checked offline by the CLI.
      const claimApp = await buildClaimApp(pool)
      let pkg: any
      try {
        pkg = (await claimApp.inject({ method: 'GET', url: `/epoch/1/proof/${miners[2]!.hotkey}` })).json()
      } finally {
        await claimApp.close()
      }
      const good = join(workDir, 'proof.json')
      const tamperedAmount = join(workDir, 'proof-amount.json')
      writeFileSync(good, JSON.stringify(pkg))
      writeFileSync(
        tamperedAmount,
        JSON.stringify({ ...pkg, amount_units: pkg.amount_units + 1, amount: pkg.amount + 1 }),
      )
      const [ok, badAmount] = await Promise.all([
        cli('verify-proof', good, '--root', roots.get(1)!),
        cli('verify-proof', tamperedAmount),
      ])
      assert.equal(ok.code, 0, ok.stdout + ok.stderr)
      assert.deepEqual(json(ok), { valid: true, leaf: pkg.leaf, folded_root: roots.get(1), problems: [] })
      assert.equal(badAmount.code, 1, badAmount.stdout + badAmount.stderr)
      const result = json(badAmount)
      assert.equal(result.valid, false)
      assert.ok(
        result.problems.some((p: string) => /folds to/.test(p)),
        JSON.stringify(result.problems),
      )

      // Tampering with the stored root is what verify exists to catch.
      await pool.database.db
        .updateTable('epochs')
        .set({ root: `0x${'cd'.repeat(32)}` })
        .where('epoch_id', '=', 0n)
        .execute()
    } finally {
      await pool.close()
    }
    const tampered = await cli('epoch', 'verify', '0')
    assert.equal(tampered.code, 1)
    const v = json(tampered)
    assert.equal(v.match, false)
    assert.equal(v.root, `0x${'cd'.repeat(32)}`)
    assert.ok(v.mismatches.some((m: string) => m.startsWith('root')))
  })

  it('epoch verify --url checks a pool over HTTP with no database, and names the first mismatch', async () => {
    const pool = await openStore()
    // The test before tampered with epoch 0's root; put back the one its leaves give.
    await pool.database.db
      .updateTable('epochs')
      .set({ root: (await pool.epochs.verify(0)).recomputedRoot })
      .where('epoch_id', '=', 0n)
      .execute()
    const root1 = (await pool.claims.epochMeta(1)).root
    const claimApp = await buildClaimApp(pool)
    const poolApp = await buildApp(pool)
    // Serves what the claim server serves, except one amount of epoch 1's artifact raised by one unit.
    const tamperer = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${claimUrl}${req.url ?? '/'}`)
        let body = await upstream.text()
        if (req.url === '/epoch/1/artifact') {
          const a = JSON.parse(body)
          a.leaves[2].amount_units += 1
          body = JSON.stringify(a)
        }
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body)
      })()
    })
    let claimUrl = ''
    try {
      claimUrl = await claimApp.listen({ host: '127.0.0.1', port: 0 })
      const poolUrl = await poolApp.listen({ host: '127.0.0.1', port: 0 })
      await new Promise<void>((resolve) => tamperer.listen(0, '127.0.0.1', resolve))
      const tampererUrl = `http://127.0.0.1:${(tamperer.address() as AddressInfo).port}`
      // No database: the store the CLI would open does not exist.
      const noDb = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }
      const [all, one, viaPool, wrongRoot, tampered, unknown] = await Promise.all([
        cliWith(noDb, 'epoch', 'verify', '--url', claimUrl),
        cliWith(noDb, 'epoch', 'verify', '--url', claimUrl, '--epoch', '1', '--root', root1),
        cliWith(noDb, 'epoch', 'verify', '--url', `${poolUrl}/`),
        cliWith(noDb, 'epoch', 'verify', '--url', claimUrl, '--epoch', '1', '--root', `0x${'ab'.repeat(32)}`),
        cliWith(noDb, 'epoch', 'verify', '--url', tampererUrl),
        cliWith(noDb, 'epoch', 'verify', '--url', claimUrl, '--epoch', '7'),
      ])
      for (const run of [all, viaPool]) {
        assert.equal(run.code, 0, run.stdout + run.stderr)
        assert.match(
          run.stdout,
          /^epoch 0: ok — 3 leaves, root 0x[0-9a-f]{64}, paid 1000 \+ fee 0 \+ undistributed 0 = budget 1000$/m,
        )
        assert.match(run.stdout, /^epoch 1: ok — 3 leaves/m)
        assert.match(run.stdout, /^result: all 2 epochs verify$/m)
      }
      assert.equal(one.code, 0, one.stdout + one.stderr)
      assert.match(one.stdout, /credit before epoch 1 read from epoch 0's artifact/)
      assert.match(one.stdout, /^result: the epoch verifies$/m)
      assert.equal(wrongRoot.code, 1, wrongRoot.stdout)
      assert.match(
        wrongRoot.stdout,
        new RegExp(
          `^epoch 1: MISMATCH — root: the artifact names ${root1}, the root given with --root is 0x(ab){32}$`,
          'm',
        ),
      )

      assert.equal(tampered.code, 1, tampered.stdout + tampered.stderr)
      assert.match(tampered.stdout, /^epoch 0: ok/m)
      const leaf2 = (await pool.epochs.export(1)).leaves[2]!
      assert.match(
        tampered.stdout,
        new RegExp(
          `^result: 1 of 2 epochs does not verify; first mismatch: epoch 1: leaf 2 \\(hotkey ${leaf2.hotkey}\\): cumulative amount ${Number(leaf2.amount_units) + 1}, but earlier credit \\d+ \\(epoch 0\\) \\+ this epoch's payout \\d+ = ${leaf2.amount_units}$`,
          'm',
        ),
      )

      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /epoch 7 is not closed on http:\/\/127\.0\.0\.1:\d+ \(closed: 0\.\.1\)/)
    } finally {
      tamperer.close()
      await claimApp.close()
      await poolApp.close()
      await pool.close()
    }
  })

  it('simulate --strategies plays honest and cheating miners against this configuration and reports each', async () => {
    const run = await cli('simulate', '--strategies', 'honest=8,coalition=4', '--windows', '2', '--seed', '3', '--json')
    assert.equal(run.code, 0, run.stderr)
    const report = JSON.parse(run.stdout) as {
      fakeSotas: number
      strategies: Array<{ strategy: string; miners: number }>
    }
    assert.deepEqual(
      report.strategies.map((s) => [s.strategy, s.miners]),
      [
        ['honest', 8],
        ['coalition', 4],
      ],
    )
    assert.equal(report.fakeSotas, 0)
    // The operator's settings apply: with the defences off the same seed plays out differently.
    const plain = await cliWith(
      { CONSENSUS_MAX_SAMPLE_SIZE: '3', VOTE_WEIGHTING: 'equal', ASSIGNMENT_SPREAD: '0' },
      ...['simulate', '--strategies', 'honest=8,coalition=4', '--windows', '2', '--seed', '3', '--json'],
    )
    assert.equal(plain.code, 0, plain.stderr)
    assert.notDeepEqual(JSON.parse(plain.stdout), report)
    const bad = await cli('simulate', '--strategies', 'honest=5,saboteur=2')
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /unknown strategy "saboteur" \(use honest, noisy, liar, lazy, coalition, sybil\)/)
  })

  it('keygen makes a key; sign prints headers the server accepts', async () => {
    const plain = await cli('keygen')
    assert.equal(plain.code, 0, plain.stderr)
    const mnemonic = plain.stdout.match(/^mnemonic:\s+(.+)$/m)?.[1]?.trim()
    const address = plain.stdout.match(/^address:\s+(\S+)$/m)?.[1]
    assert.ok(mnemonic !== undefined && address !== undefined, plain.stdout)
    assert.equal(mnemonic.split(' ').length, 12)
    assert.ok('publicKey' in decodeHotkey(address), `${address} is an SS58 address`)
    assert.match(plain.stderr, /Keep the mnemonic secret/)

    const t = await startTestPool()
    try {
      const ts = String(Math.floor(t.clock.now() / 1000))
      const recipient = await randomAddress()
      const [auth, update] = await Promise.all([
        cli('sign', '--mnemonic', mnemonic, '--timestamp', ts),
        cli('sign', '--mnemonic', mnemonic, '--timestamp', ts, '--recipient', recipient),
      ])
      const headersOf = (run: Run): Record<string, string> => {
        assert.equal(run.code, 0, run.stderr)
        const lines = run.stdout.trim().split('\n')
        assert.equal(lines.length, 3, run.stdout)
        return Object.fromEntries(
          lines.map((l) => {
            const i = l.indexOf(': ')
            return [l.slice(0, i), l.slice(i + 2)]
          }),
        )
      }
      const authHeaders = headersOf(auth)
      assert.deepEqual(Object.keys(authHeaders), ['X-Key', 'X-Timestamp', 'X-Signature'])
      assert.equal(authHeaders['X-Key'], address)
      assert.equal(authHeaders['X-Timestamp'], ts)
      assert.match(authHeaders['X-Signature']!, /^[0-9a-f]{128}$/)

      const registered = await t.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...authHeaders, 'content-type': 'application/json' },
        payload: '{}',
      })
      assert.equal(registered.statusCode, 200, registered.body)
      assert.equal(registered.json().hotkey, address)
      assert.equal(registered.json().status, 'registered')

      // A GET is not state-changing, so the same signature reads the miner's own stats.
      const stats = await t.app.inject({ method: 'GET', url: '/api/v1/miners/stats', headers: authHeaders })
      assert.equal(stats.statusCode, 200, stats.body)
      assert.equal(stats.json().hotkey, address)

      const updated = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/miners/recipient-coldkey',
        headers: { ...headersOf(update), 'content-type': 'application/json' },
        payload: JSON.stringify({ recipient_coldkey: recipient }),
      })
      assert.equal(updated.statusCode, 200, updated.body)
      assert.equal(updated.json().recipient_coldkey, recipient)

      // The auth signature does not authorise a recipient change.
      const refused = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/miners/recipient-coldkey',
        headers: { ...authHeaders, 'content-type': 'application/json' },
        payload: JSON.stringify({ recipient_coldkey: recipient }),
      })
      assert.equal(refused.statusCode, 401)
    } finally {
      await t.close()
    }
  })
})
