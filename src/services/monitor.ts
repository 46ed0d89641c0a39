/** The operator's monitor summary (SPEC §10.3): lease pipeline, miners, algorithms, SOTA, epochs, alerts. */
import { sql } from 'kysely'
import { isoTime } from '../clock.ts'
import { toNumber } from '../db/database.ts'
import { unitsToJson } from '../domain/units.ts'
import type { PoolContext } from './context.ts'
import { awaitingRecipient, minPayoutOf } from './credit.ts'
import { CHAIN_STALE_MS } from './health.ts'
import { EPOCH_CLOSER } from './processes.ts'

export type Severity = 'warn' | 'critical'
export interface Alert {
  code: string
  severity: Severity
  message: string
}

const RECENT_MS = 15 * 60 * 1000
/** A zero-evaluation ratio above this among at least ZERO_EVAL_MIN_LEASES recent leases is an alert. */
const ZERO_EVAL_ALERT_RATIO = 0.5
const ZERO_EVAL_MIN_LEASES = 5

export async function monitorSummary(pool: PoolContext) {
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
          // Expiry runs every JOB_INTERVAL_S: a lease only just past its timeout is not overdue yet.
          eb.fn
            .sum<bigint>(
              sql`case when status = 'active' and timeout_at <= ${BigInt(now - pool.config.alertGraceS * 1000)} then 1 else 0 end`,
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

  const byState: Record<string, { evaluating: number; scored: number; rejected: number }> = {}
  for (const t of pool.config.taskTypes) byState[t] = { evaluating: 0, scored: 0, rejected: 0 }
  for (const row of algorithms) {
    byState[row.task_type] ??= { evaluating: 0, scored: 0, rejected: 0 }
    const entry = byState[row.task_type]!
    entry[row.state] = toNumber(row.n)
  }

  const currentEpoch = pool.currentEpoch()
  const pendingClose: number[] = []
  // The closer needs up to JOB_INTERVAL_S to close a ready epoch: only one ready for longer than the
  // grace period is pending (otherwise the alert flaps on every idle epoch boundary).
  const graceBlocks = Math.ceil(pool.config.alertGraceS / pool.tempo.blockTimeS)
  for (let e = (lastClosed ?? currentEpoch - 1) + 1; e < currentEpoch && pendingClose.length < 100; e++) {
    if (pool.epochs.isReady(e, graceBlocks)) pendingClose.push(e)
  }
  const zeroLeases = toNumber(zeroEval.leases)
  const zeroRatio = zeroLeases === 0 ? 0 : toNumber(zeroEval.zero) / zeroLeases
  const overdue = toNumber(pipeline.overdue)

  const alerts: Alert[] = []
  const chain = pool.blocks.status()
  if (!(await pool.database.ping()))
    alerts.push({ code: 'DATABASE_UNREACHABLE', severity: 'critical', message: 'the database does not answer' })
  if (chain.source === 'chain' && (chain.lastBlockAt === null || now - chain.lastBlockAt > CHAIN_STALE_MS)) {
    alerts.push({
      code: 'CHAIN_STALE',
      severity: 'critical',
      message: `no block from the chain since ${isoTime(chain.lastBlockAt) ?? 'start'}`,
    })
  }
  if (pendingClose.length > 0) {
    alerts.push({
      code: 'EPOCH_CLOSE_PENDING',
      severity: pendingClose.length > 1 ? 'critical' : 'warn',
      message: `epochs ready but not closed: ${pendingClose.join(', ')}`,
    })
  }
  if (closeFailure !== undefined) {
    alerts.push({
      code: 'EPOCH_CLOSE_FAILING',
      severity: 'critical',
      message: `epoch ${closeFailure.epoch} failed to close (${closeFailure.attempts} attempt(s) since ${isoTime(closeFailure.first_failed_at) ?? '?'}, retried every run): ${closeFailure.error}`,
    })
  }
  if (overdueEpochs.length > 0) {
    alerts.push({
      code: 'EPOCH_OVERDUE',
      severity: 'critical',
      message: `epochs ready for more than 5 minutes and not closed: ${overdueEpochs.join(', ')}`,
    })
  }
  if (pool.processes.get(EPOCH_CLOSER) !== true) {
    alerts.push({
      code: 'EPOCH_CLOSER_STOPPED',
      severity: 'warn',
      message:
        'this process does not run the epoch closer (BACKGROUND_JOBS=false); another process or `sotapool epoch close` must',
    })
  }
  if (overdue > 0)
    alerts.push({
      code: 'OVERDUE_LEASES',
      severity: 'warn',
      message: `${overdue} active assignment(s) past their timeout not expired yet`,
    })
  if (zeroLeases >= ZERO_EVAL_MIN_LEASES && zeroRatio > ZERO_EVAL_ALERT_RATIO) {
    alerts.push({
      code: 'ZERO_EVALUATION_LEASES',
      severity: 'warn',
      message: `${Math.round(zeroRatio * 100)}% of leases submitted in the last 15 minutes carried no evaluation`,
    })
  }
  if (miners.activeLastHour === 0)
    alerts.push({ code: 'NO_ACTIVE_MINERS', severity: 'warn', message: 'no miner was seen in the last hour' })

  const counts = {
    critical: alerts.filter((a) => a.severity === 'critical').length,
    warn: alerts.filter((a) => a.severity === 'warn').length,
  }
  return {
    generated_at: isoTime(now) as string,
    window: { number: pool.currentWindow().windowNumber, time_remaining_s: pool.currentWindow().timeRemainingS },
    leases: {
      issued_last_15m: toNumber(pipeline.issued),
      completed_last_15m: toNumber(pipeline.completed),
      expired_last_15m: toNumber(pipeline.expired),
      zero_evaluation_ratio: zeroRatio,
      active: toNumber(pipeline.active),
      overdue_active: overdue,
    },
    miners: { total: miners.total, active_last_hour: miners.activeLastHour },
    algorithms: byState,
    sota,
    epochs: { current: currentEpoch, last_closed: lastClosed, pending_close: pendingClose },
    credit:
      lastEpoch === undefined || awaiting === undefined
        ? null
        : {
            epoch: Number(lastEpoch.epoch_id),
            budget_units: unitsToJson(lastEpoch.budget_units),
            epoch_units: unitsToJson(lastEpoch.epoch_units),
            fee_units: unitsToJson(lastEpoch.fee_units),
            undistributed_units: unitsToJson(lastEpoch.undistributed_units),
            awaiting_recipient: awaiting,
          },
    alerts: {
      overall: counts.critical > 0 ? ('critical' as const) : counts.warn > 0 ? ('warn' as const) : ('ok' as const),
      counts,
      items: alerts,
    },
  }
}
