/**
 * The background jobs of a Pool API process, run one after another every JOB_INTERVAL_S as named steps:
 * follow a stored tempo change, expire overdue leases, purge spent signatures, judge parked consensus
 * samples again, close ended windows and ready epochs, and (hourly, with RETENTION_DAYS) prune old
 * evaluations. A step that fails ends the run;
 * the next run starts again from the first step. Several processes may run the jobs at once; the
 * database lets one of them close each window and epoch (see WindowService and EpochService). The
 * process is reported as `epoch-closer` (see services/processes.ts).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { PoolContext } from '../services/context.ts'
import { EPOCH_CLOSER } from '../services/processes.ts'
import { pruneEvaluations } from '../services/retention.ts'

const PRUNE_EVERY_MS = 3_600_000

export class BackgroundJobs {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private lastPrune = -Infinity

  constructor(
    private readonly pool: PoolContext,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.pool.processes.set(EPOCH_CLOSER, true)
    const tick = (): void => {
      this.running = this.runOnce()
        .catch((err: unknown) => {
          this.log.error({ err }, 'background jobs failed; retrying next tick')
        })
        .finally(() => {
          if (this.pool.processes.get(EPOCH_CLOSER) === true)
            this.timer = setTimeout(tick, this.pool.config.jobIntervalS * 1000)
        })
    }
    tick()
  }

  /** One run of every step, in order. */
  async runOnce(): Promise<void> {
    const now = this.pool.clock.now()
    await this.refreshTempo()
    const expired = await this.expireLeases()
    await this.purgeSignatures(now)
    const rejudged = await this.rejudgeParked()
    const { windows, epochs } = await this.closeWindowsAndEpochs()
    if (expired > 0 || rejudged > 0 || windows.length > 0 || epochs.length > 0) {
      this.log.info({ expired, rejudged, windows, epochs }, 'background close')
    }
    await this.pruneEvaluations(now)
  }

  /** A `sotapool tempo set` by the operator reaches running processes here. */
  async refreshTempo(): Promise<void> {
    await this.pool.refreshTempo()
  }

  /** Assignments past their timeout become expired; returns how many. */
  async expireLeases(): Promise<number> {
    return await this.pool.work.expireOverdue()
  }

  /** Signatures too old to be replayed are forgotten. */
  async purgeSignatures(now: number): Promise<void> {
    await this.pool.signatures.purgeExpired(now)
  }

  /** Parked samples judged again with today's weights (before the window they decide in closes). */
  async rejudgeParked(): Promise<number> {
    return await this.pool.work.rejudgeParked()
  }

  /** Ended windows, then ready epochs, oldest first. */
  async closeWindowsAndEpochs(): Promise<{ windows: number[]; epochs: number[] }> {
    const windows = await this.pool.windows.closeEnded()
    const epochs = await this.pool.epochs.closeReady()
    return { windows, epochs }
  }

  /** Evaluations older than RETENTION_DAYS are deleted, at most once an hour (never with RETENTION_DAYS 0). */
  async pruneEvaluations(now: number): Promise<void> {
    if (this.pool.config.retentionDays <= 0 || now - this.lastPrune < PRUNE_EVERY_MS) return
    this.lastPrune = now
    const pruned = await pruneEvaluations(this.pool, this.pool.config.retentionDays)
    if (pruned.evaluations > 0)
      this.log.info(pruned, `retention: deleted ${pruned.evaluations} evaluations older than ${pruned.horizon}`)
  }

  async stop(): Promise<void> {
    this.pool.processes.set(EPOCH_CLOSER, false)
    if (this.timer !== undefined) clearTimeout(this.timer)
    await this.running
  }
}
