/**
 * What the operator switches on the running pool, shared by every process through the database: bans
 * per hotkey and maintenance mode. Signed requests consult them, so they are cached in memory and
 * re-read at most every REFRESH_MS; a change made here (or by the CLI in another process) is in force
 * everywhere within that time.
 */
import { isoTime } from '../clock.ts'
import type { Database } from '../db/database.ts'
import { getMeta, setMeta } from './pool-meta.ts'

const REFRESH_MS = 2000
const MAINTENANCE_KEY = 'maintenance'

export interface Maintenance {
  on: boolean
  retryAfterS: number
  message: string
  since: number | null
}
export interface Ban {
  hotkey: string
  reason: string
  banned_at: string | null
}

const OFF: Maintenance = { on: false, retryAfterS: 0, message: '', since: null }

export class OperatorControls {
  private bans = new Map<string, string>()
  private maintenance: Maintenance = OFF
  private loadedAt = -Infinity
  private loading: Promise<void> | undefined

  constructor(
    private readonly database: Database,
    private readonly now: () => number,
  ) {}

  /** The ban reason of a hotkey, or undefined when it is not banned. */
  async banReason(hotkey: string): Promise<string | undefined> {
    await this.fresh()
    return this.bans.get(hotkey)
  }

  async maintenanceState(): Promise<Maintenance> {
    await this.fresh()
    return this.maintenance
  }

  /**
   * Bans a hotkey and expires its active assignment, so it holds no work while banned. Returns false
   * when it was banned already (the reason is updated).
   */
  async ban(hotkey: string, reason: string): Promise<boolean> {
    const nowMs = this.now()
    const added = await this.database.transaction(async (trx) => {
      const existing = await trx
        .selectFrom('miner_bans')
        .select('hotkey')
        .where('hotkey', '=', hotkey)
        .executeTakeFirst()
      if (existing === undefined)
        await trx
          .insertInto('miner_bans')
          .values({ hotkey, reason, banned_at: BigInt(nowMs) })
          .execute()
      else await trx.updateTable('miner_bans').set({ reason }).where('hotkey', '=', hotkey).execute()
      await trx
        .updateTable('assignments')
        .set({ status: 'expired' })
        .where('miner_hotkey', '=', hotkey)
        .where('status', '=', 'active')
        .execute()
      return existing === undefined
    })
    this.loadedAt = -Infinity
    return added
  }

  /** Lifts a ban; false when the hotkey was not banned. */
  async unban(hotkey: string): Promise<boolean> {
    const deleted = await this.database.db.deleteFrom('miner_bans').where('hotkey', '=', hotkey).executeTakeFirst()
    this.loadedAt = -Infinity
    return Number(deleted.numDeletedRows) > 0
  }

  async banOf(hotkey: string): Promise<Ban | null> {
    const row = await this.database.db
      .selectFrom('miner_bans')
      .selectAll()
      .where('hotkey', '=', hotkey)
      .executeTakeFirst()
    return row === undefined ? null : { hotkey: row.hotkey, reason: row.reason, banned_at: isoTime(row.banned_at) }
  }

  async listBans(): Promise<Ban[]> {
    const rows = await this.database.db.selectFrom('miner_bans').selectAll().orderBy('banned_at').execute()
    return rows.map((r) => ({ hotkey: r.hotkey, reason: r.reason, banned_at: isoTime(r.banned_at) }))
  }

  async setMaintenance(on: boolean, retryAfterS = 300, message = ''): Promise<Maintenance> {
    const state: Maintenance = on ? { on, retryAfterS, message, since: this.now() } : OFF
    await setMeta(this.database.db, MAINTENANCE_KEY, JSON.stringify(state))
    this.loadedAt = -Infinity
    return state
  }

  private async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt < REFRESH_MS) return
    this.loading ??= this.load().finally(() => {
      this.loading = undefined
    })
    await this.loading
  }

  private async load(): Promise<void> {
    const [bans, maintenance] = await Promise.all([
      this.database.db.selectFrom('miner_bans').select(['hotkey', 'reason']).execute(),
      getMeta(this.database.db, MAINTENANCE_KEY),
    ])
    this.bans = new Map(bans.map((b) => [b.hotkey, b.reason]))
    this.maintenance = maintenance === undefined ? OFF : (JSON.parse(maintenance) as Maintenance)
    this.loadedAt = Date.now()
  }
}
