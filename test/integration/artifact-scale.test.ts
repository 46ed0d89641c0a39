// An honest epoch of 100,000 leaves, served as its artifact over HTTP and verified from outside by the same
// code `sotapool epoch verify --url` runs. Miners and their points are written straight into the store
// (registering 100,000 miners through the API would take minutes); the epoch closes the ordinary way.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { cryptoWaitReady } from '@polkadot/util-crypto'
import { verifyRemote } from '../../src/cli/verify-remote.ts'
import { encodeHotkey } from '../../src/crypto/sr25519.ts'
import { initClaimTree } from '../../src/domain/claim-tree.ts'
import { withTestPool } from '../support/pool.ts'
import { closeThrough } from '../support/epochs.ts'

await initClaimTree()
await cryptoWaitReady()

const MINERS = 100_000
const BATCH = 500

describe('an epoch of 100,000 leaves', () => {
  it('is served in bounded pieces and verifies from outside', { timeout: 600_000 }, async () => {
    await withTestPool({ MINER_CAP_BPS: '0' }, async (t) => {
      const db = t.pool.database.db
      const now = BigInt(t.clock.now())
      // Every 1000th miner has no recipient: its credit is listed without a leaf.
      const miners = Array.from({ length: MINERS + MINERS / 1000 }, (_, i) => {
        const key = randomBytes(32)
        return {
          hotkey: encodeHotkey(key),
          publicKey: key.toString('hex'),
          recipient: i % 1000 === 999 ? null : encodeHotkey(randomBytes(32)),
          points: 1 + (i % 97) / 8,
        }
      })
      for (let i = 0; i < miners.length; i += BATCH) {
        const batch = miners.slice(i, i + BATCH)
        await db
          .insertInto('miners')
          .values(
            batch.map((m) => ({
              hotkey: m.hotkey,
              public_key: m.publicKey,
              created_at: now,
              last_seen: now,
              recipient_coldkey: m.recipient,
              recipient_updated_at: m.recipient === null ? null : now,
            })),
          )
          .execute()
        await db
          .insertInto('window_points')
          .values(
            batch.map((m) => ({
              window_number: 0n,
              miner_hotkey: m.hotkey,
              agreements: 0n,
              disagreements: 0n,
              evaluations: 0n,
              evolutions: 0n,
              scored_evolutions: 0n,
              evaluator_points: m.points,
              evolver_points: 0,
              penalty: 0,
              points: m.points,
            })),
          )
          .execute()
      }
      assert.deepEqual(await closeThrough(t, 0), [0])
      const meta = await t.pool.claims.epochMeta(0)
      assert.equal(meta.num_of_leaves, MINERS)

      // Written piece by piece as pages are read: no piece is much larger than 64 KiB.
      let pieces = 0
      let largest = 0
      let bytes = 0
      for await (const piece of (await t.pool.epochs.artifact(0)).text) {
        pieces++
        largest = Math.max(largest, piece.length)
        bytes += piece.length
      }
      assert.ok(bytes > 20_000_000, `${bytes} bytes`)
      assert.ok(pieces > 300 && largest < 70_000, `${pieces} pieces, the largest ${largest} characters`)

      const url = await t.app.listen({ host: '127.0.0.1', port: 0 })
      const lines: string[] = []
      const code = await verifyRemote({ url, out: (line) => lines.push(line) })
      assert.equal(code, 0, lines.join('\n'))
      assert.match(
        lines.join('\n'),
        new RegExp(
          `^epoch 0: ok — ${MINERS} leaves, root ${meta.root}, paid \\d+ \\+ fee 50000000 \\+ undistributed 0 = budget 1000000000$`,
          'm',
        ),
      )
    })
  })
})
