/** Results (SPEC §6.3): SOTA per task type (queried by sota.ts), verified results, verification by allowed hotkeys. */
import { isoTime } from '../clock.ts'
import type { Database } from '../db/database.ts'
import { PoolError } from '../errors.ts'
import type { ResultsQuery } from '../schemas/results.ts'
import { sotaHistory, sotaOf } from './sota.ts'

export class ResultService {
  constructor(
    private readonly database: Database,
    private readonly verifiers: readonly string[],
    private readonly now: () => number,
  ) {}

  /** The algorithm holding the task type's SOTA. */
  async sota(taskType: string) {
    return await sotaOf(this.database.db, taskType)
  }

  /** How the task type's SOTA grew, newest `limit` points in decision order. */
  async sotaHistory(taskType: string, limit: number) {
    return await sotaHistory(this.database.db, taskType, limit)
  }

  /** Marks a scored algorithm verified; verifying again keeps the first verification. */
  async verify(hotkey: string, resultId: number) {
    if (!this.verifiers.includes(hotkey))
      throw new PoolError('POOL_ERR_NOT_VERIFIER', `hotkey ${hotkey} is not an allowed verifier`)
    const db = this.database.db
    const row = await db
      .selectFrom('algorithms')
      .select(['id', 'state'])
      .where('id', '=', BigInt(resultId))
      .executeTakeFirst()
    if (row === undefined || row.state !== 'scored')
      throw new PoolError(
        'POOL_ERR_RESULT_NOT_FOUND',
        `result ${resultId} not found (only scored algorithms are results)`,
      )
    await db
      .updateTable('algorithms')
      .set({ verified_at: BigInt(this.now()), verified_by: hotkey })
      .where('id', '=', BigInt(resultId))
      .where('verified_at', 'is', null)
      .execute()
    const result = await db
      .selectFrom('algorithms')
      .select(['verified_at', 'verified_by'])
      .where('id', '=', BigInt(resultId))
      .executeTakeFirstOrThrow()
    return {
      status: 'verified' as const,
      result_id: resultId,
      verified_at: isoTime(result.verified_at),
      verified_by: result.verified_by,
    }
  }

  async listVerified(query: ResultsQuery) {
    let q = this.database.db
      .selectFrom('algorithms')
      .select([
        'id',
        'task_type',
        'consensus_score',
        'miner_hotkey',
        'algorithm_hash',
        'algorithm_dsl',
        'verified_at',
        'verified_by',
      ])
      .where('state', '=', 'scored')
      .where('verified_at', 'is not', null)
    if (query.task_type !== undefined) q = q.where('task_type', '=', query.task_type)
    if (query.min_score !== undefined) q = q.where('consensus_score', '>=', query.min_score)
    const rows = await q.orderBy('verified_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute()
    return {
      results: rows.map((r) => ({
        id: Number(r.id),
        task_type: r.task_type,
        consensus_score: r.consensus_score ?? 0,
        miner_hotkey: r.miner_hotkey,
        algorithm_hash: r.algorithm_hash,
        algorithm_dsl: r.algorithm_dsl,
        verified_at: isoTime(r.verified_at),
        verified_by: r.verified_by,
      })),
      count: rows.length,
    }
  }
}
