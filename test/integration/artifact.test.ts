// The epoch artifact (SPEC §8.5) served by the claim app, and the outside check of it: headers, identical
// bytes from every server, the chained credit, and tampering of every kind caught with a precise message.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { buildClaimApp } from '../../src/app.ts'
import { initClaimTree } from '../../src/domain/claim-tree.ts'
import { blockStartMs, epochBlocks, scheduleTempo } from '../../src/domain/tempo.ts'
import { ARTIFACT_NAME, ARTIFACT_VERSION, checkEpochArtifact, creditState } from '../../src/domain/epoch-artifact.ts'
import type { EpochArtifact } from '../../src/schemas/claims.ts'
import { writeTempo } from '../../src/services/tempo.ts'
import { testDialect } from '../support/database.ts'
import { type TestPool, withTestPool as withPool } from '../support/pool.ts'
import {
  addPoints,
  closeThrough,
  craftMiner,
  keyStartingWith,
  randomAddress,
  setRecipientRow,
} from '../support/epochs.ts'

await initClaimTree()

const CONCURRENCY = testDialect() === 'postgres' ? 2 : 1

const artifactOf = async (t: TestPool, epoch: number): Promise<EpochArtifact> =>
  JSON.parse((await t.app.inject({ method: 'GET', url: `/claims/epoch/${epoch}/artifact` })).body) as EpochArtifact

/**
 * Epoch 0: a, b, c with recipients and points; d earns without a recipient. Epoch 1: b and d earn again,
 * d has set a recipient meanwhile. Leaves are ordered a < b < c < d by public key.
 */
async function threeEpochs(t: TestPool) {
  const [a, b, c, d] = await Promise.all(
    [0x10, 0x20, 0x30, 0x40].map(
      async (first, i) =>
        await craftMiner(t.pool, {
          publicKey: keyStartingWith(first),
          ...(i < 3 ? { recipient: await randomAddress() } : {}),
        }),
    ),
  )
  await addPoints(t.pool, 0, a!.hotkey, 1.5)
  await addPoints(t.pool, 0, b!.hotkey, 2.25)
  await addPoints(t.pool, 0, c!.hotkey, 0.5)
  await addPoints(t.pool, 0, d!.hotkey, 3)
  await closeThrough(t, 0)
  await setRecipientRow(t.pool, d!.hotkey, await randomAddress())
  await addPoints(t.pool, 1, b!.hotkey, 1)
  await addPoints(t.pool, 1, d!.hotkey, 4)
  await closeThrough(t, 2) // epoch 2: nobody earns
  return { a: a!, b: b!, c: c!, d: d! }
}

const ENV = { EPOCH_BUDGET_UNITS: '1000003', POOL_FEE_BPS: '250', MINER_CAP_BPS: '7000' }

describe('GET /claims/epoch/{epoch}/artifact', { concurrency: CONCURRENCY }, () => {
  it('serves the whole versioned artifact, immutable with an ETag; it verifies, chained from epoch to epoch', async () => {
    await withPool(ENV, async (t) => {
      const { a, b, c, d } = await threeEpochs(t)
      const r = await t.app.inject({ method: 'GET', url: '/claims/epoch/0/artifact' })
      assert.equal(r.statusCode, 200)
      assert.match(String(r.headers['content-type']), /^application\/json/)
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable')
      const etag = String(r.headers.etag)
      assert.match(etag, /^"[0-9a-f]{32}"$/)
      const again = await t.app.inject({
        method: 'GET',
        url: '/claims/epoch/0/artifact',
        headers: { 'if-none-match': etag },
      })
      assert.equal(again.statusCode, 304)
      assert.equal(again.body, '')
      assert.equal(
        (
          await t.app.inject({
            method: 'GET',
            url: '/claims/epoch/0/artifact',
            headers: { 'if-none-match': '"other"' },
          })
        ).statusCode,
        200,
      )
      assert.notEqual(
        (await t.app.inject({ method: 'GET', url: '/claims/epoch/1/artifact' })).headers.etag,
        etag,
        'each epoch its own ETag',
      )

      const e0 = JSON.parse(r.body) as EpochArtifact
      assert.equal(e0.artifact, ARTIFACT_NAME)
      assert.equal(e0.version, ARTIFACT_VERSION)
      assert.equal(e0.format, 'sotapool-claims-blake2b-v1')
      assert.deepEqual(e0.params, {
        budget_units: '1000003',
        pool_fee_bps: 250,
        miner_cap_bps: 7000,
        min_payout_units: '0',
        window_blocks: 360,
        epoch_windows: 1,
      })
      assert.deepEqual([e0.window_start, e0.window_end, e0.block_start, e0.block_end], [0, 0, 0, 359])
      assert.deepEqual(
        e0.payouts.map((p) => [p.hotkey, p.points, p.micro_points]).sort(),
        [
          [a.hotkey, 1.5, 1_500_000],
          [b.hotkey, 2.25, 2_250_000],
          [c.hotkey, 0.5, 500_000],
          [d.hotkey, 3, 3_000_000],
        ].sort(),
      )
      assert.deepEqual(
        e0.leaves.map((l) => [l.index, l.hotkey]),
        [
          [0, a.hotkey],
          [1, b.hotkey],
          [2, c.hotkey],
        ],
      )
      const dPaid = e0.payouts.find((p) => p.hotkey === d.hotkey)!.units
      assert.deepEqual(
        e0.credit_without_leaf,
        [{ hotkey: d.hotkey, credit_units: dPaid }],
        'd earned but has no recipient',
      )
      assert.equal(e0.root, (await t.app.inject({ method: 'GET', url: '/claims/epoch/0' })).json().root)

      const check0 = checkEpochArtifact(e0, null)
      assert.deepEqual(check0.problems, [])
      const e1 = await artifactOf(t, 1)
      assert.equal(
        e1.leaves.find((l) => l.hotkey === d.hotkey)!.amount_units,
        Number(dPaid) + Number(e1.payouts.find((p) => p.hotkey === d.hotkey)!.units),
        'd is paid its earlier credit with its first leaf',
      )
      assert.deepEqual(e1.credit_without_leaf, [])
      const check1 = checkEpochArtifact(e1, check0.state)
      assert.deepEqual(check1.problems, [])
      const e2 = await artifactOf(t, 2)
      assert.deepEqual(
        [e2.payouts.length, e2.fee_units, e2.undistributed_units, e2.leaves.length],
        [0, 0, 1000003, 4],
        'the empty epoch balances and keeps the leaves',
      )
      assert.deepEqual(checkEpochArtifact(e2, check1.state).problems, [])
      // Checked against the wrong previous epoch, the credit chain breaks.
      assert.notDeepEqual(checkEpochArtifact(e1, null).problems, [])
    })
  })

  it('the mounted app, the standalone claim server and epoch export give identical bytes', async () => {
    await withPool(ENV, async (t) => {
      await threeEpochs(t)
      const standalone = await buildClaimApp(t.pool)
      try {
        for (const epoch of [0, 1, 2]) {
          const mounted = await t.app.inject({ method: 'GET', url: `/claims/epoch/${epoch}/artifact` })
          const alone = await standalone.inject({ method: 'GET', url: `/epoch/${epoch}/artifact` })
          assert.equal(alone.statusCode, 200)
          assert.ok(mounted.rawPayload.equals(alone.rawPayload), `epoch ${epoch}: bytes differ`)
          assert.equal(alone.headers.etag, mounted.headers.etag)
          let exported = ''
          for await (const piece of (await t.pool.epochs.artifact(epoch)).text) exported += piece
          assert.equal(exported, mounted.body)
        }
      } finally {
        await standalone.close()
      }
    })
  })

  it('unknown or open epochs are 404, a bad id 422; the route is in the OpenAPI document with its schema', async () => {
    await withPool(ENV, async (t) => {
      await threeEpochs(t)
      const missing = await t.app.inject({ method: 'GET', url: '/claims/epoch/3/artifact' })
      assert.equal(missing.statusCode, 404)
      assert.equal(missing.json().code, 'POOL_ERR_EPOCH_NOT_FOUND')
      assert.equal(
        (await t.app.inject({ method: 'GET', url: '/claims/epoch/x/artifact' })).json().code,
        'POOL_ERR_VALIDATION',
      )
      const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
      const op = doc.paths['/claims/epoch/{epoch_id}/artifact']?.get
      assert.ok(op, 'documented')
      const schema = op.responses['200'].content['application/json'].schema
      for (const field of [
        'artifact',
        'version',
        'format',
        'root',
        'params',
        'payouts',
        'credit_without_leaf',
        'leaves',
      ])
        assert.ok(field in schema.properties, field)
      assert.match(op.description, /uri/)
      assert.ok(op.responses['404'] && op.responses['304'])
    })
  })
})

describe('checking an artifact from outside', { concurrency: CONCURRENCY }, () => {
  it('catches one tampered amount, recipient, leaf order or input, naming it', async () => {
    await withPool(ENV, async (t) => {
      const { a, b, c, d } = await threeEpochs(t)
      const e0 = await artifactOf(t, 0)
      const e1 = await artifactOf(t, 1)
      const before = creditState(e0)
      assert.deepEqual(checkEpochArtifact(e1, before).problems, [])
      const tampered = (change: (x: EpochArtifact) => void): string[] => {
        const copy = structuredClone(e1)
        change(copy)
        const r = checkEpochArtifact(copy, before)
        assert.equal(r.ok, false, 'the tampering went unnoticed')
        return r.problems
      }
      const dLeaf = e1.leaves.findIndex((l) => l.hotkey === d.hotkey)

      // One amount, raised by one unit.
      let p = tampered((x) => {
        x.leaves[dLeaf]!.amount_units = Number(x.leaves[dLeaf]!.amount_units) + 1
      })
      assert.match(
        p[0]!,
        new RegExp(
          `^leaf ${dLeaf} \\(hotkey ${d.hotkey}\\): cumulative amount \\d+, but earlier credit \\d+ \\(epoch 0\\) \\+ this epoch's payout \\d+ = \\d+$`,
        ),
      )
      assert.ok(p.some((m) => m.startsWith('root: the 4 leaves fold to')))

      // One recipient, swapped for another address.
      const stranger = await randomAddress()
      p = tampered((x) => {
        x.leaves[0]!.recipient_coldkey = stranger
      })
      assert.match(
        p[0]!,
        new RegExp(
          `^leaf 0 \\(hotkey ${a.hotkey}\\): the leaf hash 0x[0-9a-f]{64} does not match its fields \\(index 0, recipient ${stranger}`,
        ),
      )

      // Leaf order: two leaves swapped with their indices renumbered, and swapped keeping their indices.
      p = tampered((x) => {
        ;[x.leaves[1], x.leaves[2]] = [x.leaves[2]!, x.leaves[1]!]
        x.leaves[1]!.index = 1
        x.leaves[2]!.index = 2
      })
      assert.equal(
        p[0],
        `leaf order: leaf 2 (hotkey ${b.hotkey}) does not sort after leaf 1 (hotkey ${c.hotkey}) by public key`,
      )
      p = tampered((x) => {
        ;[x.leaves[1], x.leaves[2]] = [x.leaves[2]!, x.leaves[1]!]
      })
      assert.equal(
        p[0],
        `leaf order: the leaf at position 1 (hotkey ${c.hotkey}) has index 2; leaves are listed by index from 0`,
      )

      // One input: b's points, with the micro-points rounded to match (so only the payout rules can tell).
      p = tampered((x) => {
        const pb = x.payouts.find((q) => q.hotkey === b.hotkey)!
        pb.points = 7
        pb.micro_points = 7_000_000
      })
      assert.match(
        p[0]!,
        /^payout of \S+: the artifact says \d+ units, the payout rules give \d+ \(from the listed points and params\)$/,
      )
      // One input: micro-points that are not the rounding of the points.
      p = tampered((x) => {
        x.payouts.find((q) => q.hotkey === b.hotkey)!.micro_points = 1_000_001
      })
      assert.equal(
        p[0],
        `payout of ${b.hotkey}: micro_points 1000001 is not points 1 rounded to micro-points (1000000)`,
      )
      // One input: the fee rate.
      p = tampered((x) => {
        x.params.pool_fee_bps = 300
      })
      assert.match(p[0]!, /^payout of \S+: the artifact says \d+ units, the payout rules give \d+/)
      assert.ok(
        p.includes('fee_units: the artifact says 25000, pool_fee_bps 300 of budget 1000003 gives 30000'),
        p.join('\n'),
      )
      // Totals: an undistributed amount that breaks the balance.
      p = tampered((x) => {
        x.undistributed_units = Number(x.undistributed_units) + 5
      })
      assert.match(p[0]!, /^undistributed_units: the artifact says \d+, the payout rules gives? \d+$/)
      assert.ok(p.some((m) => m.startsWith('totals: fee 25000 + paid')))
      // A root that is not the one the leaves fold to.
      p = tampered((x) => {
        x.root = `0x${'11'.repeat(32)}`
      })
      assert.match(p[0]!, /^root: the 4 leaves fold to 0x[0-9a-f]{64}, the artifact names 0x1111/)
      // A version this verifier does not read.
      p = tampered((x) => {
        ;(x as { version: number }).version = 2
      })
      assert.equal(p[0], 'unreadable artifact: version is 2; this verifier reads version 1')
    })
  })
})

describe('an artifact after a tempo change', { concurrency: CONCURRENCY }, () => {
  it('verifies every epoch, chained across the change; its windows and blocks follow on from the epoch before', async () => {
    await withPool(ENV, async (t) => {
      const [a, b] = await Promise.all(
        [0x10, 0x20].map(
          async (first) =>
            await craftMiner(t.pool, { publicKey: keyStartingWith(first), recipient: await randomAddress() }),
        ),
      )
      await addPoints(t.pool, 0, a!.hotkey, 1)
      await addPoints(t.pool, 1, b!.hotkey, 2)
      assert.deepEqual(await closeThrough(t, 0), [0])
      // As `sotapool tempo set` does in epoch 1: from epoch 2 on, windows of 180 blocks, 2 windows an epoch.
      await writeTempo(
        t.pool.database.db,
        scheduleTempo(t.pool.tempo, 2, { blockTimeS: 12, windowBlocks: 180, epochWindows: 2 }),
      )
      await t.pool.refreshTempo()
      for (const [window, hotkey] of [
        [2, a!.hotkey],
        [3, b!.hotkey],
        [5, a!.hotkey],
      ] as const)
        await addPoints(t.pool, window, hotkey, 1.5)
      t.clock.advance(blockStartMs(epochBlocks(3, t.pool.tempo).last + 1, t.pool.tempo) - t.clock.now())
      assert.deepEqual(await t.pool.epochs.closeReady(), [1, 2, 3])

      const artifacts = await Promise.all([0, 1, 2, 3].map(async (epoch) => await artifactOf(t, epoch)))
      assert.deepEqual(
        artifacts.map((e) => [e.window_start, e.window_end, e.block_start, e.block_end]),
        [
          [0, 0, 0, 359],
          [1, 1, 360, 719],
          [2, 3, 720, 1079],
          [4, 5, 1080, 1439],
        ],
        'numbering goes on from where the old tempo left it',
      )
      assert.deepEqual(
        artifacts.map((e) => [e.params.window_blocks, e.params.epoch_windows]),
        [
          [360, 1],
          [360, 1],
          [180, 2],
          [180, 2],
        ],
      )
      let previous = null as ReturnType<typeof checkEpochArtifact>['state']
      for (const e of artifacts) {
        const check = checkEpochArtifact(e, previous)
        assert.deepEqual(check.problems, [], `epoch ${e.epoch}`)
        previous = check.state
      }

      // Ranges that do not follow on from the epoch before, or do not span the stated tempo, are named.
      const before = creditState(artifacts[2])
      const tampered = (change: (x: EpochArtifact) => void): string[] => {
        const copy = structuredClone(artifacts[3]!)
        change(copy)
        return checkEpochArtifact(copy, before).problems
      }
      assert.deepEqual(
        tampered((x) => {
          x.window_start += 1
          x.window_end += 1
        }),
        ['window_start: the artifact says 5, the window after window_end 3 of epoch 2 gives 4'],
      )
      assert.deepEqual(
        tampered((x) => {
          x.block_end -= 1
        }),
        ['block_end: the artifact says 1438, block_start 1080 + epoch_windows 2 × window_blocks 180 − 1 gives 1439'],
      )
      assert.deepEqual(
        tampered((x) => {
          x.params.epoch_windows = 3
        }),
        [
          'window_end: the artifact says 5, window_start 4 + epoch_windows 3 − 1 gives 6',
          'block_end: the artifact says 1439, block_start 1080 + epoch_windows 3 × window_blocks 180 − 1 gives 1619',
        ],
      )
    })
  })
})
