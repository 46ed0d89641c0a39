/** Small key/value facts the pool keeps about itself (genesis time, seeding done). */
import type { Queryable } from '../db/database.ts'

export async function getMeta(db: Queryable, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('pool_meta').select('value').where('key', '=', key).executeTakeFirst()
  return row?.value
}

/** Stores `value` under `key` unless a value is already there; returns the value in force. */
export async function initMeta(db: Queryable, key: string, value: string): Promise<string> {
  await db
    .insertInto('pool_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute()
  return (await getMeta(db, key)) ?? value
}

export async function setMeta(db: Queryable, key: string, value: string): Promise<void> {
  await db
    .insertInto('pool_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute()
}
