/**
 * Single use of signatures on state-changing requests. The database's primary key decides, so a replay
 * is refused whichever API process sees it. Entries outlive the skew window by a margin and are purged.
 */
import type { Database } from '../db/database.ts'
import { isUniqueViolation } from '../db/database.ts'

export class SignatureLedger {
  constructor (private readonly database: Database) {}

  /** Records the signature; false when it was already used. */
  async consume (signature: string, hotkey: string, expiresAtMs: number): Promise<boolean> {
    try {
      await this.database.db.insertInto('used_signatures')
        .values({ signature, hotkey, expires_at: BigInt(expiresAtMs) })
        .execute()
      return true
    } catch (err) {
      if (isUniqueViolation(err)) return false
      throw err
    }
  }

  /** Gives the signature back when its request was refused, so a refused request leaves no trace. */
  async release (signature: string): Promise<void> {
    await this.database.db.deleteFrom('used_signatures').where('signature', '=', signature).execute()
  }

  async purgeExpired (nowMs: number): Promise<number> {
    const result = await this.database.db.deleteFrom('used_signatures').where('expires_at', '<', BigInt(nowMs)).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
