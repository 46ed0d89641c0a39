// Migration 002 on a store written by the pool before it spoke the miners' DSL: every program is re-read as
// the miners read it and stored in their serializer's form under their identity; nothing is lost; what
// the miners cannot read is kept but no longer handed out; duplicate detection carries over.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Migrator, type Migration } from 'kysely'
import { migrateToLatest } from '../../src/db/migrate.ts'
import * as initial from '../../src/db/migrations/001-initial.ts'
import * as minersDsl from '../../src/db/migrations/002-miners-dsl.ts'
import { validateAlgorithm } from '../../src/domain/dsl/index.ts'
import { evaluationCandidates, repeatKind, seedSet } from '../../src/services/algorithms.ts'
import { createTestDatabase } from '../support/database.ts'

const TASK = 'cifar10_binary'

/** Texts as the pool stored them before: its own seeds of the time, and what its old grammar allowed. */
const LEGACY = {
  // Comments naming a phase ("learned") and a meta line naming setup_max_ops switch phase for the miners.
  linear: [
    '# Linear model on the input: learned weight vector v1, SGD on squared error.',
    '# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16 setup_max_ops=4 predict_max_ops=4 learn_max_ops=8',
    '# setup:',
    's2 = 0.01          # learning rate',
    'v1 = 0             # weights start at zero',
    '# predict:',
    's0 = dot(v1, v0)',
    '# learn:',
    's3 = s1 - s0       # error',
    's4 = s3 * s2',
    'v2 = v0 * s4       # gradient step',
    'v1 = v1 + v2',
    '',
  ].join('\n'),
  rateShort: '# setup:\ns2 = 0.1\n# predict:\ns0 = dot(v1, v0)\n',
  rateLong: '# setup:\ns2 = 0.10000000149011612\n# predict:\ns0 = dot(v1, v0)\n',
  literalOperand: '# predict:\nv2 = dot(m0, v0)\nv3 = maximum(v2, 0)\ns0 = dot(v1, v3)\n',
  arrowOperands: '# predict:\nDOT v1 v0 -> s3\nHEAVISIDE s3 -> s0\n',
}

async function legacyStore() {
  const store = await createTestDatabase()
  const { database } = store
  const onlyInitial: Record<string, Migration> = {
    '001-initial': {
      up: async (db) => {
        await initial.up(db, database.dialect)
      },
    },
  }
  const migrated = await new Migrator({
    db: database.db,
    provider: { getMigrations: async () => onlyInitial },
  }).migrateToLatest()
  assert.equal(migrated.error, undefined)
  const ids: Record<string, bigint> = {}
  for (const [i, [name, text]] of Object.entries(LEGACY).entries()) {
    // Raw insert: the table as migration 001 left it, with the old hash (SHA-256 of the old canonical text).
    const row = await database.db
      .insertInto('algorithms')
      .values({
        task_type: TASK,
        algorithm_dsl: text,
        algorithm_hash: `old-hash-${i}`,
        input_dim: 16n,
        state: name === 'arrowOperands' ? 'scored' : 'evaluating',
        consensus_score: name === 'arrowOperands' ? 0.75 : null,
        miner_hotkey: `miner-${i}`,
        is_seed: 0n,
        repeat: 'none',
        created_at: 1000n,
        created_window: 0n,
        decided_at: name === 'arrowOperands' ? 2000n : null,
        decided_window: name === 'arrowOperands' ? 0n : null,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow()
    ids[name] = BigInt(row.id)
  }
  return { store, database, ids }
}

describe("migration 002: stored algorithms in the miners' DSL", () => {
  it('rewrites readable programs, keeps everything, hides the unreadable, and keeps duplicates detectable', async () => {
    const { store, database, ids } = await legacyStore()
    try {
      // Migration 002 alone first; the later ones run at the end.
      const through002: Record<string, Migration> = {
        '001-initial': {
          up: async (db) => {
            await initial.up(db, database.dialect)
          },
        },
        '002-miners-dsl': {
          up: async (db) => {
            await minersDsl.up(db, database.dialect)
          },
        },
      }
      const step = await new Migrator({
        db: database.db,
        provider: { getMigrations: async () => through002 },
      }).migrateToLatest()
      assert.equal(step.error, undefined)
      assert.deepEqual(
        step.results?.map((r) => r.migrationName),
        ['002-miners-dsl'],
      )
      const rows = await database.db.selectFrom('algorithms').selectAll().orderBy('id').execute()
      assert.equal(rows.length, Object.keys(LEGACY).length)
      const byName = (name: keyof typeof LEGACY) => rows.find((r) => BigInt(r.id) === ids[name])!

      for (const name of ['linear', 'rateShort', 'rateLong'] as const) {
        const row = byName(name)
        const expected = validateAlgorithm(LEGACY[name], { inputDim: 16 })
        assert.equal(row.algorithm_dsl, expected.canonical, name)
        assert.equal(row.algorithm_hash, expected.hash, name)
        assert.equal(row.submitted_dsl, LEGACY[name], name)
        assert.equal(Number(row.dsl_readable), 1)
        assert.equal(Number(row.input_dim), 16)
        assert.equal(row.state, 'evaluating')
      }
      // The miners read the linear seed's statements before "# setup:" as they are: here, none.
      assert.match(
        byName('linear').algorithm_dsl,
        /^# meta: scalar_count=6 vector_count=3 matrix_count=1 vector_dim=16 setup_max_ops=4 predict_max_ops=4 learn_max_ops=8\ndef Setup\(\):\n {2}s2 = 0\.009999999776482582\n {2}v1 = 0\.0\n/,
      )
      // Two texts the old grammar told apart are one program for the miners, and now one hash.
      assert.equal(byName('rateShort').algorithm_hash, byName('rateLong').algorithm_hash)

      for (const name of ['literalOperand', 'arrowOperands'] as const) {
        const row = byName(name)
        assert.equal(row.algorithm_dsl, LEGACY[name], name)
        assert.equal(row.algorithm_hash, `old-hash-${Object.keys(LEGACY).indexOf(name)}`)
        assert.equal(row.submitted_dsl, null)
        assert.equal(Number(row.dsl_readable), 0, name)
      }
      assert.equal(byName('arrowOperands').state, 'scored')
      assert.equal(byName('arrowOperands').consensus_score, 0.75)

      assert.deepEqual(await seedSet(database.db, TASK, 8), [])

      // A new submission spelled either way is a repeat of what was stored before the change.
      const respelled = 'def Setup():\n  CONST 0.1 -> s2\ndef Predict():\n  s0 = dot(v1, v0)\ndef Learn():\n  NoOp()'
      assert.equal(await repeatKind(database.db, validateAlgorithm(respelled).hash, 'miner-new'), 'other')
      assert.equal(await repeatKind(database.db, validateAlgorithm(respelled).hash, 'miner-1'), 'own')

      // The later migrations keep one original per program: the respelled twin becomes a repeat.
      assert.deepEqual(await migrateToLatest(database), [
        '003-identity-fold',
        '004-balanced-epochs',
        '005-operator',
        '006-lease-indexes',
        '007-assignment-draws',
      ])
      const twin = await database.db
        .selectFrom('algorithms')
        .select(['repeat', 'state'])
        .where('id', '=', ids.rateLong!)
        .executeTakeFirstOrThrow()
      assert.equal(twin.repeat === 'own' || twin.repeat === 'other', true)
      assert.equal(twin.state, 'rejected')
      // Unreadable programs are never handed out again (nor the twin, decided now).
      const candidates = await evaluationCandidates(database.db, {
        taskType: TASK,
        miner: 'someone',
        sampleSize: 3,
        nowMs: 5000,
        limit: 100,
      })
      assert.deepEqual(candidates.map((r) => BigInt(r.id)).sort(), [ids.linear, ids.rateShort].sort())
      assert.deepEqual(await migrateToLatest(database), [])
    } finally {
      await store.drop()
    }
  })
})
