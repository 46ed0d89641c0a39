/**
 * Single use of signatures on state-changing requests. The database's primary key decides, so a replay
 * is refused whichever API process sees it; `MinerService.touch` records a signature together with the
 * miner's last_seen. Here: giving one back when its request was refused, and purging entries that have
 * outlived the skew window (plus a margin).
 */
import type { Database } from '../db/database.ts'

export class SignatureLedger {
  constructor(private readonly database: Database) {}

  /** Gives the signature back when its request was refused, so a refused request leaves no trace. */
  async release(signature: string): Promise<void> {
    await this.database.db.deleteFrom('used_signatures').where('signature', '=', signature).execute()
  }

  async purgeExpired(nowMs: number): Promise<number> {
    const result = await this.database.db
      .deleteFrom('used_signatures')
      .where('expires_at', '<', BigInt(nowMs))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
