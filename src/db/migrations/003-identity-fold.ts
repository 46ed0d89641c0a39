import { sql, type Kysely } from 'kysely'
import { canonicalHotkey } from '../../crypto/sr25519.ts'
import type { Dialect } from '../database.ts'

/**
 * One key, one miner. SS58 gives every key a second valid address (prefix 42 in its two-byte form), and
 * earlier versions keyed miners by whatever spelling arrived, so one key could be two miners. This folds
 * every row written under another spelling into the canonical address, adding up what was earned and
 * claimed so no unit of credit is lost, then lets the database refuse a second miner for a public key.
 *
 * It also makes the database refuse a second original of one canonical program per task type (the
 * `repeat = 'none'` rows); programs that already collide keep the oldest as the original.
 *
 * Returns what it changed, one line each; the same lines are kept in pool_meta.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  // The migrator wraps each PostgreSQL migration in a transaction, not SQLite's: all of the fold or none.
  return dialect === 'sqlite' ? await db.transaction().execute(fold) : await fold(db)
}

async function fold(db: Kysely<any>): Promise<string[]> {
  const notes: string[] = []
  const aliases = await findAliases(db)
  for (const [alias, canonical] of aliases) notes.push(...(await foldHotkey(db, alias, canonical)))
  await canonicalizeRecipients(db, notes)
  await db.schema.createIndex('miners_one_per_key').on('miners').column('public_key').unique().execute()

  notes.push(...(await foldDuplicatePrograms(db)))
  await db.schema
    .createIndex('algorithms_one_original')
    .on('algorithms')
    .columns(['task_type', 'algorithm_hash'])
    .unique()
    .where(sql.ref('repeat'), '=', 'none')
    .execute()

  if (notes.length > 0) {
    await db
      .insertInto('pool_meta')
      .values({ key: 'migration:003-identity-fold', value: notes.join('\n') })
      .onConflict((oc: any) => oc.column('key').doUpdateSet({ value: notes.join('\n') }))
      .execute()
  }
  return notes
}

/** Columns that name a miner by address. */
const HOTKEY_COLUMNS: Array<[string, string]> = [
  ['miners', 'hotkey'],
  ['used_signatures', 'hotkey'],
  ['algorithms', 'miner_hotkey'],
  ['algorithms', 'verified_by'],
  ['assignments', 'miner_hotkey'],
  ['lease_windows', 'miner_hotkey'],
  ['evaluations', 'miner_hotkey'],
  ['window_points', 'miner_hotkey'],
  ['epoch_payouts', 'hotkey'],
  ['epoch_leaves', 'hotkey'],
  ['claims', 'hotkey'],
  ['hotkey_claims', 'hotkey'],
]

const RECIPIENT_COLUMNS: Array<[string, string]> = [
  ['miners', 'recipient_coldkey'],
  ['epoch_leaves', 'recipient_coldkey'],
  ['claims', 'recipient_coldkey'],
]

/** Every stored address that is a valid key under a non-canonical spelling, with its canonical address. */
async function findAliases(db: Kysely<any>): Promise<Map<string, string>> {
  const aliases = new Map<string, string>()
  for (const [table, column] of HOTKEY_COLUMNS) {
    const rows = await db
      .selectFrom(table)
      .select(sql.ref(column).as('v'))
      .distinct()
      .where(sql.ref(column), 'is not', null)
      .execute()
    for (const { v } of rows as Array<{ v: string }>) {
      const canonical = canonicalHotkey(v)
      if (canonical !== undefined && canonical !== v) aliases.set(v, canonical)
    }
  }
  return aliases
}

const big = (v: unknown): bigint => BigInt(v as bigint | number | string)
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b)
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b)

/** Moves every row of `alias` to `canonical`; where both have a row with the same key, adds them up. */
async function foldHotkey(db: Kysely<any>, alias: string, canonical: string): Promise<string[]> {
  const notes: string[] = []
  const note = (what: string): void => {
    notes.push(`${alias} -> ${canonical}: ${what}`)
  }

  // miners: one row, earliest registration, latest sighting, reputation added, latest recipient.
  const pair = await db.selectFrom('miners').selectAll().where('hotkey', 'in', [alias, canonical]).execute()
  const from = pair.find((r) => r.hotkey === alias)
  const into = pair.find((r) => r.hotkey === canonical)
  if (from !== undefined && into !== undefined) {
    const fromNewer = big(from.recipient_updated_at ?? -1n) > big(into.recipient_updated_at ?? -1n)
    await db
      .updateTable('miners')
      .set({
        created_at: min(big(from.created_at), big(into.created_at)),
        last_seen: max(big(from.last_seen), big(into.last_seen)),
        reputation: Number(from.reputation) + Number(into.reputation),
        recipient_coldkey: fromNewer ? from.recipient_coldkey : into.recipient_coldkey,
        recipient_updated_at: fromNewer ? from.recipient_updated_at : into.recipient_updated_at,
      })
      .where('hotkey', '=', canonical)
      .execute()
    await db.deleteFrom('miners').where('hotkey', '=', alias).execute()
    note(`miner rows merged (reputation ${Number(from.reputation)} + ${Number(into.reputation)})`)
  } else if (from !== undefined) {
    await db.updateTable('miners').set({ hotkey: canonical }).where('hotkey', '=', alias).execute()
    note('miner renamed')
  }

  await db.updateTable('used_signatures').set({ hotkey: canonical }).where('hotkey', '=', alias).execute()
  await db.updateTable('algorithms').set({ miner_hotkey: canonical }).where('miner_hotkey', '=', alias).execute()
  await db.updateTable('algorithms').set({ verified_by: canonical }).where('verified_by', '=', alias).execute()

  // One active assignment per miner: the alias's gives way when the canonical address holds one too.
  const active = await db
    .selectFrom('assignments')
    .select(['id', 'miner_hotkey'])
    .where('status', '=', 'active')
    .where('miner_hotkey', 'in', [alias, canonical])
    .execute()
  if (active.some((a) => a.miner_hotkey === canonical)) {
    const expire = active.filter((a) => a.miner_hotkey === alias).map((a) => a.id as string)
    if (expire.length > 0) {
      await db.updateTable('assignments').set({ status: 'expired' }).where('id', 'in', expire).execute()
      note(`expired the second active assignment ${expire.join(', ')}`)
    }
  }
  await db.updateTable('assignments').set({ miner_hotkey: canonical }).where('miner_hotkey', '=', alias).execute()

  await db
    .deleteFrom('lease_windows')
    .where('miner_hotkey', '=', alias)
    .where(
      'window_number',
      'in',
      db.selectFrom('lease_windows').select('window_number').where('miner_hotkey', '=', canonical),
    )
    .execute()
  await db.updateTable('lease_windows').set({ miner_hotkey: canonical }).where('miner_hotkey', '=', alias).execute()

  // The same key evaluated one algorithm under both spellings: a second vote it should never have had.
  // The later evaluation goes; an algorithm still collecting evaluations gets the slot back.
  const doubles = await db
    .selectFrom('evaluations as x')
    .innerJoin('evaluations as y', 'y.algorithm_id', 'x.algorithm_id')
    .select(['x.id as xid', 'y.id as yid', 'x.algorithm_id as algorithm_id'])
    .where('x.miner_hotkey', '=', alias)
    .where('y.miner_hotkey', '=', canonical)
    .execute()
  for (const d of doubles) {
    const later = big(d.xid) > big(d.yid) ? d.xid : d.yid
    await db.deleteFrom('evaluations').where('id', '=', later).execute()
    await db
      .updateTable('algorithms')
      .set({ evaluation_count: sql`evaluation_count - 1` })
      .where('id', '=', d.algorithm_id)
      .where('state', '=', 'evaluating')
      .execute()
    note(`dropped the second evaluation ${String(later)} of algorithm ${String(d.algorithm_id)}`)
  }
  await db.updateTable('evaluations').set({ miner_hotkey: canonical }).where('miner_hotkey', '=', alias).execute()

  await mergeRows(
    db,
    'window_points',
    'miner_hotkey',
    'window_number',
    alias,
    canonical,
    [
      'agreements',
      'disagreements',
      'evaluations',
      'evolutions',
      'scored_evolutions',
      'evaluator_points',
      'evolver_points',
      'penalty',
      'points',
    ],
    note,
  )
  await mergeRows(
    db,
    'epoch_payouts',
    'hotkey',
    'epoch_id',
    alias,
    canonical,
    ['points', 'micro_points', 'units'],
    note,
  )

  // Leaves are committed to published roots, which hash the public key, not the spelling: renaming
  // keeps every leaf and proof valid. Two leaves of one key in one epoch cannot be merged; none can
  // exist, since such an epoch could never close.
  const clash = await db
    .selectFrom('epoch_leaves')
    .select('epoch_id')
    .where('hotkey', '=', alias)
    .where('epoch_id', 'in', db.selectFrom('epoch_leaves').select('epoch_id').where('hotkey', '=', canonical))
    .execute()
  if (clash.length > 0)
    note(
      `leaves of epochs ${clash.map((c) => String(c.epoch_id)).join(', ')} exist under both spellings and are kept as they are`,
    )
  await db
    .updateTable('epoch_leaves')
    .set({ hotkey: canonical })
    .where('hotkey', '=', alias)
    .where('epoch_id', 'not in', clash.length > 0 ? clash.map((c) => c.epoch_id) : [-1n])
    .execute()

  // Claims: what was transferred under either spelling was transferred to this key.
  const claimed = await db.selectFrom('claims').selectAll().where('hotkey', '=', alias).execute()
  for (const c of claimed) {
    const other = await db
      .selectFrom('claims')
      .selectAll()
      .where('hotkey', '=', canonical)
      .where('epoch_id', '=', c.epoch_id)
      .executeTakeFirst()
    if (other === undefined) {
      await db
        .updateTable('claims')
        .set({ hotkey: canonical })
        .where('hotkey', '=', alias)
        .where('epoch_id', '=', c.epoch_id)
        .execute()
      continue
    }
    await db
      .updateTable('claims')
      .set({
        amount_units: max(big(c.amount_units), big(other.amount_units)),
        transferred_units: big(c.transferred_units) + big(other.transferred_units),
        claimed_at: max(big(c.claimed_at), big(other.claimed_at)),
      })
      .where('hotkey', '=', canonical)
      .where('epoch_id', '=', c.epoch_id)
      .execute()
    await db.deleteFrom('claims').where('hotkey', '=', alias).where('epoch_id', '=', c.epoch_id).execute()
    note(
      `claims of epoch ${String(c.epoch_id)} merged (${String(c.transferred_units)} + ${String(other.transferred_units)} units transferred)`,
    )
  }
  const totals = await db.selectFrom('hotkey_claims').selectAll().where('hotkey', 'in', [alias, canonical]).execute()
  const aliasTotal = totals.find((t) => t.hotkey === alias)
  const canonicalTotal = totals.find((t) => t.hotkey === canonical)
  if (aliasTotal !== undefined && canonicalTotal !== undefined) {
    await db
      .updateTable('hotkey_claims')
      .set({ claimed_units: big(aliasTotal.claimed_units) + big(canonicalTotal.claimed_units) })
      .where('hotkey', '=', canonical)
      .execute()
    await db.deleteFrom('hotkey_claims').where('hotkey', '=', alias).execute()
    note(`claimed totals merged (${String(aliasTotal.claimed_units)} + ${String(canonicalTotal.claimed_units)} units)`)
  } else if (aliasTotal !== undefined) {
    await db.updateTable('hotkey_claims').set({ hotkey: canonical }).where('hotkey', '=', alias).execute()
  }
  return notes
}

/** Renames `alias` rows to `canonical`; rows whose key (`keyColumn`) both have are added column by column. */
async function mergeRows(
  db: Kysely<any>,
  table: string,
  hotkeyColumn: string,
  keyColumn: string,
  alias: string,
  canonical: string,
  sumColumns: string[],
  note: (what: string) => void,
): Promise<void> {
  const rows = await db.selectFrom(table).selectAll().where(hotkeyColumn, '=', alias).execute()
  for (const row of rows) {
    const other = await db
      .selectFrom(table)
      .selectAll()
      .where(hotkeyColumn, '=', canonical)
      .where(keyColumn, '=', row[keyColumn])
      .executeTakeFirst()
    if (other === undefined) {
      await db
        .updateTable(table)
        .set({ [hotkeyColumn]: canonical })
        .where(hotkeyColumn, '=', alias)
        .where(keyColumn, '=', row[keyColumn])
        .execute()
      continue
    }
    const sums = Object.fromEntries(
      sumColumns.map((c) => [
        c,
        typeof row[c] === 'bigint' || typeof other[c] === 'bigint'
          ? big(row[c]) + big(other[c])
          : Number(row[c]) + Number(other[c]),
      ]),
    )
    await db
      .updateTable(table)
      .set(sums)
      .where(hotkeyColumn, '=', canonical)
      .where(keyColumn, '=', row[keyColumn])
      .execute()
    await db.deleteFrom(table).where(hotkeyColumn, '=', alias).where(keyColumn, '=', row[keyColumn]).execute()
    note(`${table} of ${keyColumn} ${String(row[keyColumn])} added up`)
  }
}

/** Recipients are addresses too: stored in their canonical spelling (leaves hash the key, so none changes). */
async function canonicalizeRecipients(db: Kysely<any>, notes: string[]): Promise<void> {
  for (const [table, column] of RECIPIENT_COLUMNS) {
    const rows = await db
      .selectFrom(table)
      .select(sql.ref(column).as('v'))
      .distinct()
      .where(sql.ref(column), 'is not', null)
      .execute()
    for (const { v } of rows as Array<{ v: string }>) {
      const canonical = canonicalHotkey(v)
      if (canonical === undefined || canonical === v) continue
      await db
        .updateTable(table)
        .set({ [column]: canonical })
        .where(column, '=', v)
        .execute()
      notes.push(`${table}.${column}: ${v} -> ${canonical}`)
    }
  }
}

/**
 * Before the database refuses a second original of a program: where originals of one canonical program
 * already share a task type, the oldest stays the original and the others become repeats; one still
 * being evaluated is decided as a rejected duplicate, as a repeat submitted today would be.
 */
async function foldDuplicatePrograms(db: Kysely<any>): Promise<string[]> {
  const notes: string[] = []
  const groups = await db
    .selectFrom('algorithms')
    .select(['task_type', 'algorithm_hash'])
    .where('repeat', '=', 'none')
    .groupBy(['task_type', 'algorithm_hash'])
    .having(sql`count(*)`, '>', 1)
    .execute()
  for (const g of groups) {
    const rows = await db
      .selectFrom('algorithms')
      .select(['id', 'miner_hotkey', 'state', 'created_at', 'created_window'])
      .where('repeat', '=', 'none')
      .where('task_type', '=', g.task_type)
      .where('algorithm_hash', '=', g.algorithm_hash)
      .orderBy('id')
      .execute()
    const [first, ...rest] = rows
    if (first === undefined) continue
    for (const r of rest) {
      const repeat = r.miner_hotkey !== null && r.miner_hotkey === first.miner_hotkey ? 'own' : 'other'
      await db
        .updateTable('algorithms')
        .set(
          r.state === 'evaluating'
            ? {
                repeat,
                state: 'rejected',
                reject_reason: 'duplicate',
                decided_at: r.created_at,
                decided_window: r.created_window,
              }
            : { repeat },
        )
        .where('id', '=', r.id)
        .execute()
      notes.push(
        `algorithm ${String(r.id)} repeats algorithm ${String(first.id)} (${g.task_type as string}); marked ${repeat}${r.state === 'evaluating' ? ', rejected as duplicate' : ''}`,
      )
    }
  }
  return notes
}
