/** Leases and batches as an operator inspects them (`sotapool leases`). */
import { isoTime } from '../clock.ts'
import type { Database } from '../db/database.ts'
import type { AssignmentStatus } from '../domain/work.ts'

export async function listLeases(
  database: Database,
  options: { nowMs: number; miner?: string; status?: AssignmentStatus; limit: number },
) {
  let query = database.db
    .selectFrom('assignments as s')
    .select((eb) => [
      's.id',
      's.miner_hotkey',
      's.kind',
      's.task_type',
      's.window_number',
      's.status',
      's.issued_at',
      's.timeout_at',
      's.submitted_at',
      eb
        .selectFrom('assignment_items as i')
        .select((x) => x.fn.countAll<bigint>().as('n'))
        .whereRef('i.assignment_id', '=', 's.id')
        .where('i.role', '=', 'evaluate')
        .as('evaluate_items'),
    ])
    .orderBy('s.issued_at', 'desc')
    .limit(options.limit)
  if (options.miner !== undefined) query = query.where('s.miner_hotkey', '=', options.miner)
  if (options.status !== undefined) query = query.where('s.status', '=', options.status)
  const rows = await query.execute()
  return rows.map((r) => ({
    id: r.id,
    miner_hotkey: r.miner_hotkey,
    kind: r.kind,
    task_type: r.task_type,
    window_number: Number(r.window_number),
    // An active assignment past its timeout waits for the background closer to expire it.
    status: r.status === 'active' && r.timeout_at <= BigInt(options.nowMs) ? 'overdue' : r.status,
    evaluate_items: Number(r.evaluate_items ?? 0),
    issued_at: isoTime(r.issued_at),
    timeout_at: isoTime(r.timeout_at),
    submitted_at: isoTime(r.submitted_at),
  }))
}
