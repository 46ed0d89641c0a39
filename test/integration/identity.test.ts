// One key, one miner: every other SS58 spelling of a valid key is refused wherever an address enters,
// the database refuses a second miner for a public key, and migration 003 folds miners stored under two
// spellings into one without losing credit.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Migrator } from 'kysely'
import { ManualClock } from '../../src/clock.ts'
import { loadConfig } from '../../src/config.ts'
import { keyFromSecret, signedHeaders } from '../../src/crypto/keys.ts'
import { isUniqueViolation } from '../../src/db/database.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import * as initial from '../../src/db/migrations/001-initial.ts'
import { createPoolContext } from '../../src/services/context.ts'
import { createTestDatabase } from '../support/database.ts'
import { TestMiner } from '../support/miner.ts'
import { startTestPool, TEST_ENV, VECTOR_TIME_MS } from '../support/pool.ts'
import { twoBytePrefixSpelling } from '../support/ss58.ts'
import { randomAddress } from '../support/epochs.ts'

const NOW_S = VECTOR_TIME_MS / 1000

describe('one spelling per key', () => {
  it('a signed request under the other spelling of a key is refused (401) naming the canonical address, and registers nobody', async () => {
    const t = await startTestPool()
    try {
      const key = await keyFromSecret('//identity')
      const other = twoBytePrefixSpelling(key.address)
      const headers = { ...signedHeaders(key, NOW_S), 'X-Key': other }
      const refused = await t.app.inject({ method: 'POST', url: '/api/v1/miners/register', headers, payload: {} })
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.json().code, 'POOL_ERR_AUTH_BAD_ADDRESS')
      assert.ok(refused.json().detail.includes(`use ${key.address}`), refused.json().detail)
      const miners = await t.pool.database.db.selectFrom('miners').select('hotkey').execute()
      assert.deepEqual(miners, [])

      // The canonical spelling with the very same signature works: the refusal left no trace.
      const ok = await t.app.inject({
        method: 'POST',
        url: '/api/v1/miners/register',
        headers: { ...headers, 'X-Key': key.address },
        payload: {},
      })
      assert.equal(ok.statusCode, 200, ok.body)
    } finally {
      await t.close()
    }
  })

  it('bodies and paths refuse the other spelling with a 422 naming the canonical address', async () => {
    const t = await startTestPool()
    try {
      const miner = await TestMiner.create(t.app, '//identity-body')
      const recipient = await randomAddress()
      const otherRecipient = twoBytePrefixSpelling(recipient)
      const update = await miner.setRecipient(otherRecipient)
      assert.equal(update.statusCode, 422, update.body)
      assert.ok(JSON.stringify(update.json().detail).includes(`use ${recipient}`), update.body)

      const otherHotkey = twoBytePrefixSpelling(miner.hotkey)
      for (const url of [
        `/api/v1/miners/recipient-coldkey/${otherHotkey}`,
        `/claims/epoch/proof/${otherHotkey}`,
        `/claims/epoch/0/claim/${otherHotkey}`,
      ]) {
        const r = await t.app.inject({ method: 'GET', url })
        assert.equal(r.statusCode, 422, `${url}: ${r.body}`)
        assert.ok(JSON.stringify(r.json().detail).includes(`use ${miner.hotkey}`), r.body)
      }
      const claim = await t.app.inject({
        method: 'POST',
        url: '/claims/epoch/0/claim',
        payload: { index: 0, hotkey: otherHotkey, recipient_coldkey: recipient, amount_units: 1, proof: [] },
      })
      assert.equal(claim.statusCode, 422, claim.body)
      assert.ok(JSON.stringify(claim.json().detail).includes(`use ${miner.hotkey}`), claim.body)
    } finally {
      await t.close()
    }
  })

  it('the database refuses a second miner row for one public key', async () => {
    const t = await startTestPool()
    try {
      const miner = await TestMiner.create(t.app, '//identity-db')
      assert.equal((await miner.send('POST', '/api/v1/miners/register', {})).statusCode, 200)
      const row = await t.pool.database.db.selectFrom('miners').selectAll().executeTakeFirstOrThrow()
      await assert.rejects(
        t.pool.database.db
          .insertInto('miners')
          .values({ ...row, hotkey: twoBytePrefixSpelling(miner.hotkey) })
          .execute(),
        (err: unknown) => isUniqueViolation(err),
      )
    } finally {
      await t.close()
    }
  })
})

describe('migration 003 folds one key stored under two spellings', () => {
  it('into one miner, adding up points and claims, and the epoch that could not close closes', async () => {
    const store = await createTestDatabase()
    const db = store.database.db
    try {
      const initialOnly = new Migrator({
        db,
        provider: {
          getMigrations: async () => ({
            '001-initial': {
              up: async (k) => {
                await initial.up(k, store.database.dialect)
              },
            },
          }),
        },
      })
      assert.equal((await initialOnly.migrateToLatest()).error, undefined)

      const key = await keyFromSecret('//folded')
      const canonical = key.address
      const alias = twoBytePrefixSpelling(canonical)
      const recipient = await randomAddress()
      const pk = Buffer.from(key.publicKey).toString('hex')
      const t0 = BigInt(VECTOR_TIME_MS)
      await db
        .insertInto('pool_meta')
        .values([
          { key: 'genesis_ms', value: String(VECTOR_TIME_MS) },
          { key: 'first_window', value: '0' },
        ])
        .execute()
      await db
        .insertInto('miners')
        .values([
          {
            hotkey: canonical,
            public_key: pk,
            created_at: t0 + 5n,
            last_seen: t0 + 10n,
            recipient_coldkey: null,
            recipient_updated_at: null,
            reputation: 2,
          },
          {
            hotkey: alias,
            public_key: pk,
            created_at: t0,
            last_seen: t0 + 20n,
            recipient_coldkey: twoBytePrefixSpelling(recipient),
            recipient_updated_at: t0 + 20n,
            reputation: 3,
          },
        ])
        .execute()
      const algorithm = await db
        .insertInto('algorithms')
        .values({
          task_type: 'cifar10_binary',
          algorithm_dsl: 'x',
          algorithm_hash: 'h',
          input_dim: 16n,
          state: 'evaluating',
          miner_hotkey: null,
          is_seed: 1n,
          repeat: 'none',
          evaluation_count: 2n,
          created_at: t0,
          created_window: 0n,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await db
        .insertInto('evaluations')
        .values([
          {
            algorithm_id: algorithm.id,
            miner_hotkey: canonical,
            assignment_id: 'a1',
            score: 0.5,
            window_number: 0n,
            created_at: t0,
            outcome: null,
          },
          {
            algorithm_id: algorithm.id,
            miner_hotkey: alias,
            assignment_id: 'a2',
            score: 0.5,
            window_number: 0n,
            created_at: t0,
            outcome: null,
          },
        ])
        .execute()
      await db
        .insertInto('assignments')
        .values(
          ['a1', 'a2'].map((id, i) => ({
            id,
            miner_hotkey: i === 0 ? canonical : alias,
            kind: 'lease' as const,
            task_type: 'cifar10_binary',
            window_number: 0n,
            status: 'active' as const,
            issued_at: t0,
            timeout_at: t0 + 10n ** 9n,
            submitted_at: null,
            evolve_budget: 1n,
          })),
        )
        .execute()
      const points = (hotkey: string, p: number) => ({
        window_number: 0n,
        miner_hotkey: hotkey,
        agreements: 1n,
        disagreements: 0n,
        evaluations: 1n,
        evolutions: 0n,
        scored_evolutions: 0n,
        evaluator_points: p,
        evolver_points: 0,
        penalty: 0,
        points: p,
      })
      await db
        .insertInto('window_points')
        .values([points(canonical, 1.5), points(alias, 2.5)])
        .execute()
      await db.insertInto('window_closes').values({ window_number: 0n, closed_at: t0 }).execute()
      await db
        .insertInto('hotkey_claims')
        .values([
          { hotkey: canonical, claimed_units: 100n },
          { hotkey: alias, claimed_units: 100n },
        ])
        .execute()

      const reported: string[] = []
      await migrateToLatest(store.database, (_m, notes) => reported.push(...notes))
      assert.ok(
        reported.some((n) => n.startsWith(`${alias} -> ${canonical}: miner rows merged`)),
        reported.join('\n'),
      )
      const stored = await db
        .selectFrom('pool_meta')
        .select('value')
        .where('key', '=', 'migration:003-identity-fold')
        .executeTakeFirstOrThrow()
      assert.equal(stored.value, reported.join('\n'))

      const miners = await db.selectFrom('miners').selectAll().execute()
      assert.equal(miners.length, 1)
      assert.equal(miners[0]!.hotkey, canonical)
      assert.equal(Number(miners[0]!.reputation), 5)
      assert.equal(miners[0]!.created_at, t0)
      assert.equal(miners[0]!.last_seen, t0 + 20n)
      assert.equal(miners[0]!.recipient_coldkey, recipient, 'the newer recipient, in its canonical spelling')
      const wp = await db.selectFrom('window_points').selectAll().execute()
      assert.deepEqual(
        wp.map((r) => [r.miner_hotkey, r.points, Number(r.agreements)]),
        [[canonical, 4, 2]],
      )
      const evaluations = await db.selectFrom('evaluations').select(['miner_hotkey', 'assignment_id']).execute()
      assert.deepEqual(
        evaluations,
        [{ miner_hotkey: canonical, assignment_id: 'a1' }],
        'the second vote of one key is gone',
      )
      const count = await db
        .selectFrom('algorithms')
        .select('evaluation_count')
        .where('id', '=', algorithm.id)
        .executeTakeFirstOrThrow()
      assert.equal(Number(count.evaluation_count), 1, 'its slot is free again')
      const active = await db
        .selectFrom('assignments')
        .select(['id', 'miner_hotkey'])
        .where('status', '=', 'active')
        .execute()
      assert.deepEqual(active, [{ id: 'a1', miner_hotkey: canonical }])
      const claimed = await db.selectFrom('hotkey_claims').selectAll().execute()
      assert.deepEqual(
        claimed.map((c) => [c.hotkey, BigInt(c.claimed_units)]),
        [[canonical, 200n]],
        'both transfers stay counted',
      )

      // The close that threw "duplicate public key" before the fold now pays the key once, for all its points.
      const clock = new ManualClock(VECTOR_TIME_MS + 2 * 360 * 12 * 1000)
      const pool = await createPoolContext(
        loadConfig({ ...TEST_ENV, POOL_FEE_BPS: '0', MINER_CAP_BPS: '0', EPOCH_BUDGET_UNITS: '1000' }),
        { clock, database: store.database },
      )
      try {
        assert.equal(await pool.epochs.close(0), true)
        const payouts = await db.selectFrom('epoch_payouts').select(['hotkey', 'units']).execute()
        assert.deepEqual(
          payouts.map((p) => [p.hotkey, BigInt(p.units)]),
          [[canonical, 1000n]],
        )
      } finally {
        await pool.verifier.close()
        await pool.blocks.close()
      }
      await assert.rejects(
        db
          .insertInto('miners')
          .values({ ...miners[0]!, hotkey: alias })
          .execute(),
        (err: unknown) => isUniqueViolation(err),
      )
    } finally {
      await store.drop()
    }
  })
})
