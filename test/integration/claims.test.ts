// The claim app (SPEC §9): its thirteen routes mounted in the Pool API and standalone, epoch metadata,
// proof packages that verify offline, and the claim simulation with cumulative amounts and its ledger.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { buildClaimApp } from '../../src/app.ts'
import { CLAIM_TREE_FORMAT, initClaimTree } from '../../src/domain/claim-tree.ts'
import { checkProofPackage } from '../../src/domain/proof-package.ts'
import { testDialect } from '../support/database.ts'
import { startTestPool, type TestPool } from '../support/pool.ts'
import {
  addPoints,
  closeThrough,
  craftMiner,
  randomAddress,
  setRecipientRow,
  type CraftedMiner,
} from '../support/epochs.ts'

await initClaimTree()

const ZERO_ROOT = `0x${'00'.repeat(32)}`
// Tests on PostgreSQL mostly wait on the server, so two run side by side; on SQLite they are CPU-bound.
const CONCURRENCY = testDialect() === 'postgres' ? 2 : 1
const FLAT = { EPOCH_BUDGET_UNITS: '1000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' }

interface Scenario {
  t: TestPool
  miners: CraftedMiner[]
  recipients: string[]
}

/**
 * A pool with three miners with recipients; `windows[w]` gives each miner's points in window w (one window
 * per epoch), and every epoch through the last window is closed.
 */
async function scenario(env: Record<string, string>, windows: number[][] = [[1, 2, 3]]): Promise<Scenario> {
  const t = await startTestPool(env)
  const recipients = await Promise.all([0, 1, 2].map(async () => await randomAddress()))
  const miners = await Promise.all(recipients.map(async (recipient) => await craftMiner(t.pool, { recipient })))
  for (const [w, points] of windows.entries()) {
    for (const [i, p] of points.entries()) if (p > 0) await addPoints(t.pool, w, miners[i]!.hotkey, p)
  }
  if (windows.length > 0) await closeThrough(t, windows.length - 1)
  return { t, miners, recipients }
}

async function withScenario(
  env: Record<string, string>,
  windows: number[][],
  fn: (s: Scenario) => Promise<void>,
): Promise<void> {
  const s = await scenario(env, windows)
  try {
    await fn(s)
  } finally {
    await s.t.close()
  }
}

interface Reply {
  status: number
  body: any
}

async function call(app: FastifyInstance, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<Reply> {
  const r = await app.inject({
    method,
    url,
    ...(payload === undefined
      ? {}
      : {
          payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
          headers: { 'content-type': 'application/json' },
        }),
  })
  let body: unknown = r.body
  try {
    body = r.json()
  } catch {}
  return { status: r.statusCode, body }
}

const claimBodyOf = (pkg: any): Record<string, unknown> => ({
  index: pkg.index,
  hotkey: pkg.hotkey,
  recipient_coldkey: pkg.recipient_coldkey,
  amount_units: pkg.amount_units,
  proof: pkg.proof,
})

/** Every route of the claim app under `prefix`, with the status each answered. */
async function allRoutes(app: FastifyInstance, prefix: string, s: Scenario): Promise<Record<string, number>> {
  const [a, b, c] = s.miners as [CraftedMiner, CraftedMiner, CraftedMiner]
  const pkgB = (await call(app, 'GET', `${prefix}/epoch/0/proof/${b.hotkey}`)).body
  const pkgC = (await call(app, 'GET', `${prefix}/epoch/0/proof/${c.hotkey}`)).body
  const routes: Array<[string, 'GET' | 'POST', string, unknown?]> = [
    ['GET /health', 'GET', '/health'],
    ['GET /epochs', 'GET', '/epochs'],
    ['GET /epoch', 'GET', '/epoch'],
    ['GET /epoch/{epoch_id}', 'GET', '/epoch/0'],
    ['GET /epoch/proof/{hotkey}', 'GET', `/epoch/proof/${a.hotkey}`],
    ['GET /epoch/claim/{hotkey}', 'GET', `/epoch/claim/${a.hotkey}`],
    ['GET /epoch/{epoch_id}/proof/{hotkey}', 'GET', `/epoch/0/proof/${a.hotkey}`],
    ['GET /epoch/{epoch_id}/claim/{hotkey}', 'GET', `/epoch/0/claim/${a.hotkey}`],
    ['GET /epoch/{epoch_id}/artifact', 'GET', '/epoch/0/artifact'],
    ['POST /epoch/claim', 'POST', '/epoch/claim', pkgB?.index === undefined ? {} : claimBodyOf(pkgB)],
    ['POST /epoch/{epoch_id}/claim', 'POST', '/epoch/0/claim', pkgC?.index === undefined ? {} : claimBodyOf(pkgC)],
    ['GET /ledger', 'GET', '/ledger'],
    ['GET /ledger/{epoch_id}', 'GET', '/ledger/0'],
  ]
  const out: Record<string, number> = {}
  for (const [name, method, path, body] of routes)
    out[name] = (await call(app, method, `${prefix}${path}`, body)).status
  return out
}

const ALL_200 = {
  'GET /health': 200,
  'GET /epochs': 200,
  'GET /epoch': 200,
  'GET /epoch/{epoch_id}': 200,
  'GET /epoch/proof/{hotkey}': 200,
  'GET /epoch/claim/{hotkey}': 200,
  'GET /epoch/{epoch_id}/proof/{hotkey}': 200,
  'GET /epoch/{epoch_id}/claim/{hotkey}': 200,
  'GET /epoch/{epoch_id}/artifact': 200,
  'POST /epoch/claim': 200,
  'POST /epoch/{epoch_id}/claim': 200,
  'GET /ledger': 200,
  'GET /ledger/{epoch_id}': 200,
}
const all = (status: number): Record<string, number> => Object.fromEntries(Object.keys(ALL_200).map((k) => [k, status]))
const SIMULATION_ROUTES = ['POST /epoch/claim', 'POST /epoch/{epoch_id}/claim', 'GET /ledger', 'GET /ledger/{epoch_id}']

describe('claim routes', { concurrency: CONCURRENCY }, () => {
  it('all thirteen are mounted under /claims, and not at the root of the Pool API', async () => {
    await withScenario(FLAT, [[1, 2, 3]], async (s) => {
      assert.deepEqual(await allRoutes(s.t.app, '/claims', s), ALL_200)
      assert.equal((await call(s.t.app, 'GET', '/epochs')).status, 404)
      assert.equal((await call(s.t.app, 'GET', '/ledger')).status, 404)
      assert.equal((await call(s.t.app, 'GET', `/epoch/proof/${s.miners[0]!.hotkey}`)).status, 404)
    })
  })

  it('MERKLE_CLAIM_PATH_PREFIX moves them', async () => {
    await withScenario({ ...FLAT, MERKLE_CLAIM_PATH_PREFIX: '/other' }, [[1, 2, 3]], async (s) => {
      assert.deepEqual(await allRoutes(s.t.app, '/other', s), ALL_200)
      assert.equal((await call(s.t.app, 'GET', '/claims/epochs')).status, 404)
    })
  })

  it('MERKLE_CLAIM_ENABLED=false removes them (404) while the Pool API serves', async () => {
    await withScenario({ ...FLAT, MERKLE_CLAIM_ENABLED: 'false' }, [[1, 2, 3]], async (s) => {
      assert.deepEqual(await allRoutes(s.t.app, '/claims', s), all(404))
      const notFound = await call(s.t.app, 'GET', '/claims/epochs')
      assert.equal(notFound.body.code, 'POOL_ERR_NOT_FOUND')
      assert.equal((await call(s.t.app, 'GET', '/health')).status, 200)
    })
  })

  it('the standalone claim app serves the same thirteen with no prefix', async () => {
    await withScenario(FLAT, [[1, 2, 3]], async (s) => {
      const standalone = await buildClaimApp(s.t.pool)
      try {
        assert.deepEqual(await allRoutes(standalone, '', s), ALL_200)
        assert.equal((await call(standalone, 'GET', '/claims/epochs')).status, 404)
        assert.equal((await call(standalone, 'GET', '/api/v1/miners/leaderboard')).status, 404)
        // Both apps read the same store: the claims made through the standalone app show in the mounted ledger.
        assert.equal((await call(s.t.app, 'GET', '/claims/ledger/0')).body.claims.length, 2)
      } finally {
        await standalone.close()
      }
    })
  })

  for (const [name, env] of [
    ['MERKLE_CLAIM_SIMULATION_ENABLED=false', { ...FLAT, MERKLE_CLAIM_SIMULATION_ENABLED: 'false' }],
    [
      'ENVIRONMENT=production (simulation off by default)',
      { ...FLAT, ENVIRONMENT: 'production', MONITOR_TOKEN: 'monitor-secret', METRICS_TOKEN: 'scrape-secret' },
    ],
  ] as const) {
    it(`${name}: claim and ledger routes are 404, proofs still serve`, async () => {
      await withScenario(env, [[1, 2, 3]], async (s) => {
        const expected = { ...ALL_200, ...Object.fromEntries(SIMULATION_ROUTES.map((r) => [r, 404])) }
        assert.deepEqual(await allRoutes(s.t.app, '/claims', s), expected)
        const standalone = await buildClaimApp(s.t.pool)
        try {
          assert.deepEqual(await allRoutes(standalone, '', s), expected)
        } finally {
          await standalone.close()
        }
        assert.equal((await call(s.t.app, 'GET', '/claims/health')).body.simulation, false)
        const pkg = (await call(s.t.app, 'GET', `/claims/epoch/proof/${s.miners[0]!.hotkey}`)).body
        assert.equal(checkProofPackage(pkg).ok, true)
      })
    })
  }

  it('ENVIRONMENT=production with MERKLE_CLAIM_SIMULATION_ENABLED=true keeps the simulation', async () => {
    await withScenario(
      {
        ...FLAT,
        ENVIRONMENT: 'production',
        MONITOR_TOKEN: 'monitor-secret',
        METRICS_TOKEN: 'scrape-secret',
        MERKLE_CLAIM_SIMULATION_ENABLED: 'true',
      },
      [[1, 2, 3]],
      async (s) => {
        assert.deepEqual(await allRoutes(s.t.app, '/claims', s), ALL_200)
      },
    )
  })
})

describe('epochs, metadata and proofs', { concurrency: CONCURRENCY }, () => {
  it('before any epoch: empty list, no default, /epoch and proofs 404', async () => {
    await withScenario(FLAT, [], async (s) => {
      const app = s.t.app
      assert.deepEqual((await call(app, 'GET', '/claims/epochs')).body, { epochs: [], default_epoch: null })
      assert.deepEqual((await call(app, 'GET', '/claims/health')).body, {
        status: 'ok',
        epochs: 0,
        default_epoch: null,
        simulation: true,
      })
      for (const url of [
        '/claims/epoch',
        `/claims/epoch/proof/${s.miners[0]!.hotkey}`,
        '/claims/ledger',
        '/claims/epoch/0',
      ]) {
        const r = await call(app, 'GET', url)
        assert.equal(r.status, 404, url)
        assert.equal(r.body.code, 'POOL_ERR_EPOCH_NOT_FOUND', url)
        assert.equal(typeof r.body.detail, 'string')
      }
      const claim = await call(app, 'POST', '/claims/epoch/claim', {
        index: 0,
        hotkey: s.miners[0]!.hotkey,
        recipient_coldkey: s.recipients[0],
        amount_units: 1,
        proof: [],
      })
      assert.equal(claim.status, 404)
    })
  })

  it('/epochs lists every closed epoch newest first; the default is the newest claimable one', async () => {
    // Epoch 0 has no points (empty), epoch 1 pays. Then every recipient is cleared, so epoch 2 has no
    // leaves even though credit exists: it is listed, newest, but the default stays on epoch 1.
    await withScenario(
      FLAT,
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
      async (s) => {
        const app = s.t.app
        assert.deepEqual((await call(app, 'GET', '/claims/epochs')).body, { epochs: [1, 0], default_epoch: 1 })
        assert.equal((await call(app, 'GET', '/claims/epoch')).body.epoch, 1)
        for (const m of s.miners) await setRecipientRow(s.t.pool, m.hotkey, null)
        await addPoints(s.t.pool, 2, s.miners[0]!.hotkey, 1)
        await closeThrough(s.t, 2)
        assert.deepEqual((await call(app, 'GET', '/claims/epochs')).body, { epochs: [2, 1, 0], default_epoch: 1 })
        assert.deepEqual((await call(app, 'GET', '/claims/health')).body, {
          status: 'ok',
          epochs: 3,
          default_epoch: 1,
          simulation: true,
        })
        const meta = (await call(app, 'GET', '/claims/epoch')).body
        assert.equal(meta.epoch, 1)
        assert.equal(meta.status, 'claimable')
        for (const e of [0, 2]) {
          const empty = (await call(app, 'GET', `/claims/epoch/${e}`)).body
          assert.equal(empty.status, 'empty')
          assert.equal(empty.root, ZERO_ROOT)
          assert.equal(empty.num_of_leaves, 0)
        }
        assert.equal(
          (await call(app, 'GET', '/claims/epoch/2')).body.epoch_units,
          1000,
          'paid, but no one has a recipient',
        )
        // The default proof route answers from epoch 1.
        assert.equal((await call(app, 'GET', `/claims/epoch/proof/${s.miners[0]!.hotkey}`)).body.epoch, 1)
      },
    )
  })

  it('epoch metadata has every field with the closed numbers', async () => {
    await withScenario({}, [[1, 2, 3]], async (s) => {
      const r = await call(s.t.app, 'GET', '/claims/epoch/0')
      assert.equal(r.status, 200)
      assert.deepEqual(
        Object.keys(r.body).sort(),
        [
          'awaiting_recipient',
          'block_end',
          'block_start',
          'closed_at',
          'epoch',
          'epoch_units',
          'fee_units',
          'format',
          'num_of_leaves',
          'root',
          'status',
          'total_units',
          'undistributed_units',
          'window_end',
          'window_start',
        ].sort(),
      )
      const artifact = await s.t.pool.epochs.export(0)
      assert.deepEqual(r.body, {
        epoch: 0,
        root: artifact.root,
        num_of_leaves: 3,
        total_units: 150_000_000,
        epoch_units: 150_000_000,
        fee_units: 50_000_000,
        undistributed_units: 800_000_000,
        window_start: 0,
        window_end: 0,
        block_start: 0,
        block_end: 359,
        closed_at: artifact.closed_at,
        format: CLAIM_TREE_FORMAT,
        status: 'claimable',
        awaiting_recipient: { miners: 0, units: 0 },
      })
      assert.match(r.body.root, /^0x[0-9a-f]{64}$/)
      assert.deepEqual((await call(s.t.app, 'GET', '/claims/epoch')).body, r.body)
    })
  })

  it('a proof package has the client fields, verifies offline, and the claim alias answers the same', async () => {
    await withScenario(FLAT, [[1, 2, 3]], async (s) => {
      const app = s.t.app
      for (const [i, m] of s.miners.entries()) {
        const pkg = (await call(app, 'GET', `/claims/epoch/0/proof/${m.hotkey}`)).body
        assert.deepEqual(Object.keys(pkg).sort(), [
          'amount',
          'amount_units',
          'epoch',
          'format',
          'hotkey',
          'index',
          'leaf',
          'proof',
          'recipient_coldkey',
          'root',
        ])
        assert.equal(pkg.epoch, 0)
        assert.equal(pkg.hotkey, m.hotkey)
        assert.equal(pkg.recipient_coldkey, s.recipients[i])
        assert.equal(pkg.amount_units, [167, 333, 500][i])
        assert.equal(pkg.amount, pkg.amount_units)
        assert.equal(pkg.format, CLAIM_TREE_FORMAT)
        assert.equal(pkg.root, (await call(app, 'GET', '/claims/epoch/0')).body.root)
        assert.ok(pkg.proof.every((p: string) => /^0x[0-9a-f]{64}$/.test(p)))
        assert.match(pkg.leaf, /^0x[0-9a-f]{64}$/)
        const check = checkProofPackage(pkg)
        assert.deepEqual(check.problems, [])
        assert.equal(check.leaf, pkg.leaf)
        for (const url of [
          `/claims/epoch/0/claim/${m.hotkey}`,
          `/claims/epoch/proof/${m.hotkey}`,
          `/claims/epoch/claim/${m.hotkey}`,
        ]) {
          assert.deepEqual((await call(app, 'GET', url)).body, pkg, url)
        }
      }
      // 1000 units over 1:2:3 → 166.67, 333.33, 500 → remainders 2:1:0 of 3 → the leftover unit to the first.
      const indexes = await Promise.all(
        s.miners.map(async (m) => (await call(app, 'GET', `/claims/epoch/proof/${m.hotkey}`)).body.index),
      )
      assert.deepEqual([...indexes].sort(), [0, 1, 2])
    })
  })

  it('a hotkey without a leaf, an unknown epoch: 404 with their codes', async () => {
    await withScenario(FLAT, [[1, 2, 0]], async (s) => {
      const app = s.t.app
      const stranger = await randomAddress()
      for (const url of [
        `/claims/epoch/proof/${stranger}`,
        `/claims/epoch/0/claim/${stranger}`,
        `/claims/epoch/0/proof/${s.miners[2]!.hotkey}`,
        '/claims/epoch/0/proof/not-a-hotkey',
      ]) {
        const r = await call(app, 'GET', url)
        assert.equal(r.status, 404, url)
        assert.equal(r.body.code, 'POOL_ERR_LEAF_NOT_FOUND', url)
      }
      for (const url of [
        '/claims/epoch/5',
        `/claims/epoch/5/proof/${s.miners[0]!.hotkey}`,
        `/claims/epoch/5/claim/${s.miners[0]!.hotkey}`,
        '/claims/ledger/5',
      ]) {
        const r = await call(app, 'GET', url)
        assert.equal(r.status, 404, url)
        assert.equal(r.body.code, 'POOL_ERR_EPOCH_NOT_FOUND', url)
      }
      const pkg = (await call(app, 'GET', `/claims/epoch/0/proof/${s.miners[0]!.hotkey}`)).body
      const r = await call(app, 'POST', '/claims/epoch/5/claim', claimBodyOf(pkg))
      assert.equal(r.status, 404)
      assert.equal(r.body.code, 'POOL_ERR_EPOCH_NOT_FOUND')
      for (const url of ['/claims/epoch/abc', '/claims/epoch/-1', '/claims/ledger/1.5'])
        assert.equal((await call(app, 'GET', url)).status, 422, url)
    })
  })
})

describe('claim simulation', { concurrency: CONCURRENCY }, () => {
  it('a valid claim transfers the amount; a second one is refused with 409 already claimed', async () => {
    await withScenario(FLAT, [[1, 2, 3]], async (s) => {
      const app = s.t.app
      const m = s.miners[1]!
      const pkg = (await call(app, 'GET', `/claims/epoch/proof/${m.hotkey}`)).body
      const r = await call(app, 'POST', '/claims/epoch/claim', { ...claimBodyOf(pkg), extra: 'ignored' })
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, {
        status: 'claimed',
        epoch: 0,
        index: pkg.index,
        hotkey: m.hotkey,
        recipient_coldkey: s.recipients[1],
        amount_units: 333,
        transferred_units: 333,
        claimed_cumulative_units: 333,
      })
      for (const url of ['/claims/epoch/claim', '/claims/epoch/0/claim']) {
        const again = await call(app, 'POST', url, claimBodyOf(pkg))
        assert.equal(again.status, 409, url)
        assert.equal(again.body.code, 'POOL_ERR_ALREADY_CLAIMED')
        assert.match(again.body.detail, /already claimed/)
      }
      const ledger = (await call(app, 'GET', '/claims/ledger/0')).body
      assert.equal(ledger.claims.length, 1)
      assert.equal(ledger.claimed_units, 333)
    })
  })

  it('a tampered amount, index, recipient, hotkey or proof is 400 invalid proof and transfers nothing', async () => {
    await withScenario(FLAT, [[1, 2, 3]], async (s) => {
      const app = s.t.app
      const pkg = (await call(app, 'GET', `/claims/epoch/0/proof/${s.miners[0]!.hotkey}`)).body
      const body = claimBodyOf(pkg)
      const other = await randomAddress()
      const flip = (h: string): string => h.slice(0, -1) + (h.endsWith('0') ? '1' : '0')
      const tampered: Array<[string, Record<string, unknown>]> = [
        ['amount + 1', { ...body, amount_units: (body.amount_units as number) + 1 }],
        ['amount - 1', { ...body, amount_units: (body.amount_units as number) - 1 }],
        ['index', { ...body, index: ((body.index as number) + 1) % 3 }],
        ['recipient', { ...body, recipient_coldkey: other }],
        ['recipient of another leaf', { ...body, recipient_coldkey: s.recipients[1] }],
        ['hotkey of another miner', { ...body, hotkey: s.miners[1]!.hotkey }],
        ['proof element', { ...body, proof: (body.proof as string[]).map((p, i) => (i === 0 ? flip(p) : p)) }],
        ['proof shortened', { ...body, proof: (body.proof as string[]).slice(1) }],
        ['proof empty', { ...body, proof: [] }],
      ]
      for (const [what, b] of tampered) {
        const r = await call(app, 'POST', '/claims/epoch/0/claim', b)
        assert.equal(r.status, 400, what)
        assert.equal(r.body.code, 'POOL_ERR_INVALID_PROOF', what)
        assert.equal(r.body.detail, 'invalid proof', what)
      }
      assert.deepEqual((await call(app, 'GET', '/claims/ledger/0')).body.claims, [])
      // The genuine claim still works afterwards.
      assert.equal((await call(app, 'POST', '/claims/epoch/0/claim', body)).status, 200)
    })
  })

  it('malformed claims are 422; the amount may be a decimal string', async () => {
    await withScenario(FLAT, [[1, 2, 3]], async (s) => {
      const app = s.t.app
      const pkg = (await call(app, 'GET', `/claims/epoch/0/proof/${s.miners[2]!.hotkey}`)).body
      const body = claimBodyOf(pkg)
      // Each with the `loc` of its first problem: the schema's, or the claim service's for a field it parses.
      const malformed: Array<[string, unknown, Array<string | number>]> = [
        ['hotkey not SS58', { ...body, hotkey: 'not-a-hotkey' }, ['body', 'hotkey']],
        [
          'hotkey with a bad checksum',
          {
            ...body,
            hotkey: `${(body.hotkey as string).slice(0, -1)}${(body.hotkey as string).endsWith('A') ? 'B' : 'A'}`,
          },
          ['body', 'hotkey'],
        ],
        ['recipient not SS58', { ...body, recipient_coldkey: '0xdeadbeef' }, ['body', 'recipient_coldkey']],
        ['amount negative', { ...body, amount_units: -1 }, ['body', 'amount_units']],
        ['amount fractional', { ...body, amount_units: 1.5 }, ['body', 'amount_units']],
        ['amount not a number', { ...body, amount_units: 'lots' }, ['body', 'amount_units']],
        ['amount above u64', { ...body, amount_units: '18446744073709551616' }, ['body', 'amount_units']],
        ['index negative', { ...body, index: -1 }, ['body', 'index']],
        ['proof element not hex', { ...body, proof: ['0x1234'] }, ['body', 'proof', 0]],
        ['proof missing', { ...body, proof: undefined }, ['body', 'proof']],
        ['hotkey missing', { ...body, hotkey: undefined }, ['body', 'hotkey']],
      ]
      for (const [what, b, loc] of malformed) {
        const r = await call(app, 'POST', '/claims/epoch/0/claim', b)
        assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.body)}`)
        assert.ok(Array.isArray(r.body.detail), what)
        assert.deepEqual(r.body.detail[0].loc, loc, what)
      }
      assert.equal((await call(app, 'POST', '/claims/epoch/0/claim', '{"index": 0,')).status, 400)
      const r = await call(app, 'POST', '/claims/epoch/0/claim', { ...body, amount_units: String(body.amount_units) })
      assert.equal(r.status, 200)
      assert.equal(r.body.transferred_units, 500)
    })
  })

  it('a claim against an epoch with a zero root is 409', async () => {
    await withScenario(
      FLAT,
      [
        [0, 0, 0],
        [1, 2, 3],
      ],
      async (s) => {
        const app = s.t.app
        assert.equal((await call(app, 'GET', '/claims/epoch/0')).body.root, ZERO_ROOT)
        const pkg = (await call(app, 'GET', `/claims/epoch/1/proof/${s.miners[0]!.hotkey}`)).body
        const r = await call(app, 'POST', '/claims/epoch/0/claim', claimBodyOf(pkg))
        assert.equal(r.status, 409)
        assert.equal(r.body.code, 'POOL_ERR_EPOCH_NOT_CLAIMABLE')
        assert.deepEqual((await call(app, 'GET', '/claims/ledger/0')).body, { epoch: 0, claims: [], claimed_units: 0 })
        assert.equal(
          (await call(app, 'POST', '/claims/epoch/1/claim', claimBodyOf(pkg))).status,
          200,
          'the leaf is still claimable in its own epoch',
        )
      },
    )
  })

  it('cumulative: a later epoch transfers only the difference; an older proof is then refused', async () => {
    // Epoch 0: 1:2:3 of 1000. Epoch 1: 1:1:1 of 1000 (+333/+333/+334 by public key).
    await withScenario(
      FLAT,
      [
        [1, 2, 3],
        [1, 1, 1],
      ],
      async (s) => {
        const app = s.t.app
        const [a, b] = s.miners as [CraftedMiner, CraftedMiner]
        const pkgA0 = (await call(app, 'GET', `/claims/epoch/0/proof/${a.hotkey}`)).body
        const pkgA1 = (await call(app, 'GET', `/claims/epoch/1/proof/${a.hotkey}`)).body
        const amountA = BigInt(pkgA0.amount_units)
        const amountB = BigInt(pkgA1.amount_units)
        // Worked out by hand from the rule (floor of the share, units left over to the largest remainders,
        // ties by public key ascending). Epoch 0, 1:2:3 of 1000: floors 166/333/500, the one unit left goes
        // to A (remainder 4/6). Epoch 1, 1:1:1: 333 each, the one unit left goes to the smallest public key.
        const smallestKey = s.miners.map((m) => m.publicKeyHex).sort()[0]
        assert.equal(amountA, 167n)
        assert.equal(amountB, 167n + 333n + (a.publicKeyHex === smallestKey ? 1n : 0n))

        const first = await call(app, 'POST', '/claims/epoch/0/claim', claimBodyOf(pkgA0))
        assert.equal(first.status, 200)
        assert.equal(BigInt(first.body.transferred_units), amountA)
        const second = await call(app, 'POST', '/claims/epoch/claim', claimBodyOf(pkgA1)) // default epoch = 1
        assert.equal(second.status, 200)
        assert.equal(second.body.epoch, 1)
        assert.equal(BigInt(second.body.transferred_units), amountB - amountA)
        assert.equal(BigInt(second.body.claimed_cumulative_units), amountB)
        for (const [url, pkg] of [
          ['/claims/epoch/0/claim', pkgA0],
          ['/claims/epoch/1/claim', pkgA1],
        ] as const) {
          const r = await call(app, 'POST', url, claimBodyOf(pkg))
          assert.equal(r.status, 409, url)
          assert.equal(r.body.code, 'POOL_ERR_ALREADY_CLAIMED')
        }

        // B skips epoch 0 and claims epoch 1 directly: everything at once; its epoch-0 proof is then spent.
        const pkgB0 = (await call(app, 'GET', `/claims/epoch/0/proof/${b.hotkey}`)).body
        const pkgB1 = (await call(app, 'GET', `/claims/epoch/1/proof/${b.hotkey}`)).body
        const rb = await call(app, 'POST', '/claims/epoch/1/claim', claimBodyOf(pkgB1))
        assert.equal(rb.status, 200)
        assert.equal(rb.body.transferred_units, pkgB1.amount_units)
        assert.equal((await call(app, 'POST', '/claims/epoch/0/claim', claimBodyOf(pkgB0))).status, 409)

        const ledger0 = (await call(app, 'GET', '/claims/ledger/0')).body
        assert.deepEqual(
          ledger0.claims.map((c: any) => [c.hotkey, c.amount_units, c.transferred_units]),
          [[a.hotkey, Number(amountA), Number(amountA)]],
        )
        assert.equal(ledger0.claimed_units, Number(amountA))
        const ledger1 = (await call(app, 'GET', '/claims/ledger')).body
        assert.equal(ledger1.epoch, 1)
        assert.deepEqual(Object.keys(ledger1.claims[0]).sort(), [
          'amount_units',
          'claimed_at',
          'hotkey',
          'index',
          'recipient_coldkey',
          'transferred_units',
        ])
        assert.deepEqual(
          ledger1.claims.map((c: any) => [c.hotkey, c.index, c.recipient_coldkey, c.transferred_units]).sort(),
          [
            [a.hotkey, pkgA1.index, s.recipients[0], Number(amountB - amountA)],
            [b.hotkey, pkgB1.index, s.recipients[1], pkgB1.amount_units],
          ].sort(),
        )
        assert.equal(ledger1.claimed_units, Number(amountB - amountA) + pkgB1.amount_units)
        assert.match(ledger1.claims[0].claimed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        // What both ledgers record as transferred to A adds up to exactly its newest leaf, never more.
        const transferredToA = [...ledger0.claims, ...ledger1.claims]
          .filter((c: any) => c.hotkey === a.hotkey)
          .reduce((sum: bigint, c: any) => sum + BigInt(c.transferred_units), 0n)
        assert.equal(transferredToA, amountB)
      },
    )
  })

  it('claims of amounts above 2^53 accept and answer decimal strings', async () => {
    await withScenario(
      { EPOCH_BUDGET_UNITS: '9000000000000000000', POOL_FEE_BPS: '0', MINER_CAP_BPS: '0' },
      [[1, 2, 0]],
      async (s) => {
        const app = s.t.app
        const pkg = (await call(app, 'GET', `/claims/epoch/0/proof/${s.miners[1]!.hotkey}`)).body
        assert.equal(pkg.amount_units, '6000000000000000000')
        const r = await call(app, 'POST', '/claims/epoch/0/claim', claimBodyOf(pkg))
        assert.equal(r.status, 200)
        assert.equal(r.body.transferred_units, '6000000000000000000')
        assert.equal((await call(app, 'GET', '/claims/ledger/0')).body.claimed_units, '6000000000000000000')
        // A client may also send the big amount as a bare JSON integer; no digit may be lost.
        const other = (await call(app, 'GET', `/claims/epoch/0/proof/${s.miners[0]!.hotkey}`)).body
        assert.equal(other.amount_units, '3000000000000000000')
        const text = JSON.stringify({ ...claimBodyOf(other), amount_units: 0 }).replace(
          '"amount_units":0',
          `"amount_units":${other.amount_units}`,
        )
        assert.match(text, /"amount_units":3000000000000000000[,}]/)
        const bare = await call(app, 'POST', '/claims/epoch/0/claim', text)
        assert.equal(bare.status, 200, JSON.stringify(bare.body))
        assert.equal(bare.body.transferred_units, '3000000000000000000')
        assert.equal((await call(app, 'GET', '/claims/ledger/0')).body.claimed_units, '9000000000000000000')
      },
    )
  })
})
