/**
 * The monitor's alert rules (SPEC §10.3): pure functions from plain facts about the pool (gathered by
 * `src/services/monitor.ts`) and the configured limits to the alerts, with their severity and message,
 * and the summary of them the monitor shows. The overdue-epoch rule (`epochIsOverdue`) is the one
 * `EpochService.overdue` applies for the monitor and /health alike.
 *
 * Conditions the background jobs fix by themselves (an epoch ready to close, a lease past its timeout)
 * are alerts only once they have lasted ALERT_GRACE_S, so an idle pool does not flap at every boundary.
 */
import { isoTime } from '../clock.ts'
import type { BlockSourceKind } from './tempo.ts'

export type Severity = 'warn' | 'critical'
export interface Alert {
  code: string
  severity: Severity
  message: string
}

/** A configured chain that has given no block for this long is stale (and /health is degraded). */
export const CHAIN_STALE_MS = 5 * 60 * 1000
/** An epoch still not closed this long after it became ready (or longer) is overdue: /health says degraded. */
export const EPOCH_OVERDUE_MS = 5 * 60 * 1000
/** A zero-evaluation ratio above this among at least ZERO_EVAL_MIN_LEASES recent leases is an alert. */
export const ZERO_EVAL_ALERT_RATIO = 0.5
export const ZERO_EVAL_MIN_LEASES = 5

/** Where blocks come from, and when the last one came (unix ms; null when none yet). */
export interface ChainFacts {
  source: BlockSourceKind
  lastBlockAt: number | null
}

/** The recorded failure of the oldest epoch not closed yet. */
export interface CloseFailureFacts {
  epoch: number
  error: string
  first_failed_at: number
  attempts: number
}

/** What the alert rules look at. */
export interface AlertFacts {
  now: number
  databaseOk: boolean
  chain: ChainFacts
  /** Epochs ready to close for longer than the grace period and not closed (`pendingCloseEpochs`). */
  pendingClose: number[]
  closeFailure: CloseFailureFacts | undefined
  /** Epochs ready for EPOCH_OVERDUE_MS or more and not closed (`epochIsOverdue`, EpochService.overdue). */
  overdueEpochs: number[]
  /** Whether this process runs the background jobs. */
  closerRunning: boolean
  /** Active assignments past their timeout by more than the grace period (see `overdueLeaseCutoff`). */
  overdueLeases: number
  /** Leases submitted in the last 15 minutes, and how many of them carried no evaluation. */
  recentLeases: { submitted: number; withoutEvaluation: number }
  activeMinersLastHour: number
}

/** Whether blocks come from a chain that has been silent too long. */
export function chainIsStale(chain: ChainFacts, now: number): boolean {
  return chain.source === 'chain' && (chain.lastBlockAt === null || now - chain.lastBlockAt > CHAIN_STALE_MS)
}

/** The grace period in whole blocks (rounded up). */
export function graceBlocks(alertGraceS: number, blockTimeS: number): number {
  return Math.ceil(alertGraceS / blockTimeS)
}

/**
 * Of the epochs not closed yet, oldest first, each with how many blocks ago it became ready to close
 * (negative: not ready yet), those ready for at least the grace period (at most 100).
 */
export function pendingCloseEpochs(
  unclosed: ReadonlyArray<{ epoch: number; blocksSinceReady: number }>,
  graceBlocksCount: number,
): number[] {
  return unclosed
    .filter((e) => e.blocksSinceReady >= graceBlocksCount)
    .map((e) => e.epoch)
    .slice(0, 100)
}

/**
 * Whether an epoch not closed yet, ready to close `blocksSinceReady` blocks ago (negative: not ready yet),
 * is overdue: ready for EPOCH_OVERDUE_MS or more, counted in whole blocks (rounded up).
 */
export function epochIsOverdue(blocksSinceReady: number, blockTimeS: number): boolean {
  return blocksSinceReady >= Math.ceil(EPOCH_OVERDUE_MS / (blockTimeS * 1000))
}

/** Leases timed out at or before this (unix ms) are overdue: expiry runs every JOB_INTERVAL_S. */
export function overdueLeaseCutoff(now: number, alertGraceS: number): number {
  return now - alertGraceS * 1000
}

/** The share of recently submitted leases that carried no evaluation (0 when there were none). */
export function zeroEvaluationRatio(recent: { submitted: number; withoutEvaluation: number }): number {
  return recent.submitted === 0 ? 0 : recent.withoutEvaluation / recent.submitted
}

/** Every alert that holds, in a fixed order. */
export function monitorAlerts(facts: AlertFacts): Alert[] {
  const alerts: Alert[] = []
  if (!facts.databaseOk)
    alerts.push({ code: 'DATABASE_UNREACHABLE', severity: 'critical', message: 'the database does not answer' })
  if (chainIsStale(facts.chain, facts.now)) {
    alerts.push({
      code: 'CHAIN_STALE',
      severity: 'critical',
      message: `no block from the chain since ${isoTime(facts.chain.lastBlockAt) ?? 'start'}`,
    })
  }
  if (facts.pendingClose.length > 0) {
    alerts.push({
      code: 'EPOCH_CLOSE_PENDING',
      severity: facts.pendingClose.length > 1 ? 'critical' : 'warn',
      message: `epochs ready but not closed: ${facts.pendingClose.join(', ')}`,
    })
  }
  const failure = facts.closeFailure
  if (failure !== undefined) {
    alerts.push({
      code: 'EPOCH_CLOSE_FAILING',
      severity: 'critical',
      message: `epoch ${failure.epoch} failed to close (${failure.attempts} attempt(s) since ${isoTime(failure.first_failed_at) ?? '?'}, retried every run): ${failure.error}`,
    })
  }
  if (facts.overdueEpochs.length > 0) {
    alerts.push({
      code: 'EPOCH_OVERDUE',
      severity: 'critical',
      message: `epochs ready for ${EPOCH_OVERDUE_MS / 60_000} minutes or more and not closed: ${facts.overdueEpochs.join(', ')}`,
    })
  }
  if (!facts.closerRunning) {
    alerts.push({
      code: 'EPOCH_CLOSER_STOPPED',
      severity: 'warn',
      message:
        'this process does not run the epoch closer (BACKGROUND_JOBS=false); another process or `sotapool epoch close` must',
    })
  }
  if (facts.overdueLeases > 0)
    alerts.push({
      code: 'OVERDUE_LEASES',
      severity: 'warn',
      message: `${facts.overdueLeases} active assignment(s) past their timeout not expired yet`,
    })
  const ratio = zeroEvaluationRatio(facts.recentLeases)
  if (facts.recentLeases.submitted >= ZERO_EVAL_MIN_LEASES && ratio > ZERO_EVAL_ALERT_RATIO) {
    alerts.push({
      code: 'ZERO_EVALUATION_LEASES',
      severity: 'warn',
      message: `${Math.round(ratio * 100)}% of leases submitted in the last 15 minutes carried no evaluation`,
    })
  }
  if (facts.activeMinersLastHour === 0)
    alerts.push({ code: 'NO_ACTIVE_MINERS', severity: 'warn', message: 'no miner was seen in the last hour' })
  return alerts
}

/** The alerts as the monitor shows them: the worst severity, counts per severity, and the items. */
export function alertSummary(alerts: Alert[]) {
  const counts = {
    critical: alerts.filter((a) => a.severity === 'critical').length,
    warn: alerts.filter((a) => a.severity === 'warn').length,
  }
  return {
    overall: counts.critical > 0 ? ('critical' as const) : counts.warn > 0 ? ('warn' as const) : ('ok' as const),
    counts,
    items: alerts,
  }
}
