/**
 * The operator's monitor summary (SPEC §10.3): lease pipeline, miners, algorithms, SOTA, epochs, alerts.
 * `monitorFacts` reads plain facts from the store and this process; the alert rules are pure
 * (`src/domain/alerts.ts`); `monitorSummary` puts the two together in the shape the route serves.
 */
import { sql } from 'kysely'
import { isoTime } from '../clock.ts'
import { toNumber } from '../db/database.ts'
import {
  alertSummary,
  graceBlocks,
  monitorAlerts,
  overdueLeaseCutoff,
  pendingCloseEpochs,
  zeroEvaluationRatio,
  type ChainFacts,
  type CloseFailureFacts,
} from '../domain/alerts.ts'
import { unitsToJson } from '../domain/units.ts'
import type { AlgorithmState } from '../domain/work.ts'
import type { PoolContext } from './context.ts'
import type { AwaitingRecipient } from '../schemas/monitor.ts'
import { awaitingRecipient, minPayoutOf } from './credit.ts'
import { EPOCH_CLOSER } from './processes.ts'

const RECENT_MS = 15 * 60 * 1000

type StateCounts = Record<AlgorithmState, number>

/** Everything the summary reports, as read: no rule applied yet. */
export interface MonitorFacts {
  now: number
  window: { number: number; timeRemainingS: number }
  /** Lease counts of the last 15 minutes, active ones, and active ones past their timeout plus grace. */
  leases: { issued: number; completed: number; expired: number; active: number; overdue: number }
  /** Leases submitted in the last 15 minutes, and how many of them carried no evaluation. */
  recentLeases: { submitted: number; withoutEvaluation: number }
  miners: { total: number; activeLastHour: number }
  algorithms: Record<string, StateCounts>
  sota: Record<string, number>
  epochs: {
    current: number
    lastClosed: number | null
    /** Epochs ended and not closed, oldest first, with how many blocks ago each became ready (at most 100). */
    unclosed: Array<{ epoch: number; blocksSinceReady: number }>
    /** Epochs ready for EPOCH_OVERDUE_MS or more and not closed. */
    overdue: number[]
    closeFailure: CloseFailureFacts | undefined
  }
  /** The last closed epoch's totals and the credit waiting for a recipient; null before the first close. */
  credit: {
    epoch: number
    budgetUnits: bigint
    epochUnits: bigint
    feeUnits: bigint
    undistributedUnits: bigint
    awaitingRecipient: AwaitingRecipient
  } | null
  databaseOk: boolean
  chain: ChainFacts
  closerRunning: boolean
}

/** Reads the monitor's facts: the lease pipeline, miners, algorithms, SOTA, epochs and this process. */
export async function monitorFacts(pool: PoolContext): Promise<MonitorFacts> {
  const db = pool.database.db
  const now = pool.clock.now()
  const since = BigInt(now - RECENT_MS)
  const nowB = BigInt(now)

  const [pipeline, zeroEval, miners, algorithms, sota, lastClosed, closeFailure, overdueEpochs, lastEpoch] =
    await Promise.all([
      db
        .selectFrom('assignments')
        .select((eb) => [
          eb.fn.sum<bigint>(sql`case when issued_at >= ${since} then 1 else 0 end`).as('issued'),
          eb.fn
            .sum<bigint>(sql`case when status = 'submitted' and submitted_at >= ${since} then 1 else 0 end`)
            .as('completed'),
          eb.fn
            .sum<bigint>(
              sql`case when status <> 'submitted' and timeout_at >= ${since} and timeout_at <= ${nowB} then 1 else 0 end`,
            )
            .as('expired'),
          eb.fn
            .sum<bigint>(
              sql`case when status = 'active' and timeout_at <= ${BigInt(overdueLeaseCutoff(now, pool.config.alertGraceS))} then 1 else 0 end`,
            )
            .as('overdue'),
          eb.fn.sum<bigint>(sql`case when status = 'active' and timeout_at > ${nowB} then 1 else 0 end`).as('active'),
        ])
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('assignments as s')
        .select((eb) => [
          eb.fn.countAll<bigint>().as('leases'),
          eb.fn
            .sum<bigint>(
              sql`case when not exists (select 1 from evaluations e where e.assignment_id = s.id) then 1 else 0 end`,
            )
            .as('zero'),
        ])
        .where('s.status', '=', 'submitted')
        .where('s.submitted_at', '>=', since)
        .where('s.kind', 'in', ['lease', 'evaluate'])
        .executeTakeFirstOrThrow(),
      pool.miners.counts(now),
      db
        .selectFrom('algorithms')
        .select((eb) => ['task_type', 'state', eb.fn.countAll<bigint>().as('n')])
        .groupBy(['task_type', 'state'])
        .execute(),
      pool.sotaByTaskType(),
      pool.epochs.lastClosed(),
      pool.epochs.closeFailure(),
      pool.epochs.overdue(),
      db.selectFrom('epochs').selectAll().orderBy('epoch_id', 'desc').limit(1).executeTakeFirst(),
    ])
  const awaiting =
    lastEpoch === undefined
      ? undefined
      : await awaitingRecipient(db, Number(lastEpoch.epoch_id), minPayoutOf(lastEpoch.params), 20)

  const byState: Record<string, StateCounts> = {}
  for (const t of pool.config.taskTypes) byState[t] = { evaluating: 0, scored: 0, rejected: 0 }
  for (const row of algorithms) {
    byState[row.task_type] ??= { evaluating: 0, scored: 0, rejected: 0 }
    const entry = byState[row.task_type]!
    entry[row.state] = toNumber(row.n)
  }

  const window = pool.currentWindow()
  const currentEpoch = pool.currentEpoch()
  const unclosed: MonitorFacts['epochs']['unclosed'] = []
  for (let e = (lastClosed ?? currentEpoch - 1) + 1; e < currentEpoch && unclosed.length < 100; e++)
    unclosed.push({ epoch: e, blocksSinceReady: pool.epochs.blocksSinceReady(e) })
  const chain = pool.blocks.status()
  return {
    now,
    window: { number: window.windowNumber, timeRemainingS: window.timeRemainingS },
    leases: {
      issued: toNumber(pipeline.issued),
      completed: toNumber(pipeline.completed),
      expired: toNumber(pipeline.expired),
      active: toNumber(pipeline.active),
      overdue: toNumber(pipeline.overdue),
    },
    recentLeases: { submitted: toNumber(zeroEval.leases), withoutEvaluation: toNumber(zeroEval.zero) },
    miners,
    algorithms: byState,
    sota,
    epochs: { current: currentEpoch, lastClosed, unclosed, overdue: overdueEpochs, closeFailure },
    credit:
      lastEpoch === undefined || awaiting === undefined
        ? null
        : {
            epoch: Number(lastEpoch.epoch_id),
            budgetUnits: lastEpoch.budget_units,
            epochUnits: lastEpoch.epoch_units,
            feeUnits: lastEpoch.fee_units,
            undistributedUnits: lastEpoch.undistributed_units,
            awaitingRecipient: awaiting,
          },
    databaseOk: await pool.database.ping(),
    chain: { source: chain.source, lastBlockAt: chain.lastBlockAt },
    closerRunning: pool.processes.get(EPOCH_CLOSER) === true,
  }
}

export async function monitorSummary(pool: PoolContext) {
  const facts = await monitorFacts(pool)
  // The background jobs need up to JOB_INTERVAL_S to close a ready epoch: only one ready for longer than
  // the grace period is pending (otherwise the alert flaps on every idle epoch boundary).
  const pendingClose = pendingCloseEpochs(
    facts.epochs.unclosed,
    graceBlocks(pool.config.alertGraceS, pool.tempo.blockTimeS),
  )
  const alerts = monitorAlerts({
    now: facts.now,
    databaseOk: facts.databaseOk,
    chain: facts.chain,
    pendingClose,
    closeFailure: facts.epochs.closeFailure,
    overdueEpochs: facts.epochs.overdue,
    closerRunning: facts.closerRunning,
    overdueLeases: facts.leases.overdue,
    recentLeases: facts.recentLeases,
    activeMinersLastHour: facts.miners.activeLastHour,
  })
  return summaryBody(facts, pendingClose, alertSummary(alerts))
}

/** The summary in the shape the route serves. */
function summaryBody(facts: MonitorFacts, pendingClose: number[], alerts: ReturnType<typeof alertSummary>) {
  const credit = facts.credit
  return {
    generated_at: isoTime(facts.now) as string,
    window: { number: facts.window.number, time_remaining_s: facts.window.timeRemainingS },
    leases: {
      issued_last_15m: facts.leases.issued,
      completed_last_15m: facts.leases.completed,
      expired_last_15m: facts.leases.expired,
      zero_evaluation_ratio: zeroEvaluationRatio(facts.recentLeases),
      active: facts.leases.active,
      overdue_active: facts.leases.overdue,
    },
    miners: { total: facts.miners.total, active_last_hour: facts.miners.activeLastHour },
    algorithms: facts.algorithms,
    sota: facts.sota,
    epochs: { current: facts.epochs.current, last_closed: facts.epochs.lastClosed, pending_close: pendingClose },
    credit:
      credit === null
        ? null
        : {
            epoch: credit.epoch,
            budget_units: unitsToJson(credit.budgetUnits),
            epoch_units: unitsToJson(credit.epochUnits),
            fee_units: unitsToJson(credit.feeUnits),
            undistributed_units: unitsToJson(credit.undistributedUnits),
            awaiting_recipient: credit.awaitingRecipient,
          },
    alerts,
  }
}
