/**
 * The background job of a Pool API process: expires overdue assignments, purges spent signatures, and
 * closes ended windows and ready epochs. Several processes may run it at once; the database lets one of
 * them close each window and epoch (see WindowService and EpochService).
 */
import type { FastifyBaseLogger } from 'fastify'
import type { PoolContext } from '../services/context.ts'
import { pruneEvaluations } from '../services/retention.ts'

const PRUNE_EVERY_MS = 3_600_000

export const EPOCH_CLOSER = 'epoch-closer'

export class EpochCloser {
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
          this.log.error({ err }, 'epoch closer failed; retrying next tick')
        })
        .finally(() => {
          if (this.pool.processes.get(EPOCH_CLOSER) === true)
            this.timer = setTimeout(tick, this.pool.config.jobIntervalS * 1000)
        })
    }
    tick()
  }

  async runOnce(): Promise<void> {
    const now = this.pool.clock.now()
    // A `sotapool tempo set` by the operator reaches running processes here.
    await this.pool.refreshTempo()
    const expired = await this.pool.work.expireOverdue()
    await this.pool.signatures.purgeExpired(now)
    const windows = await this.pool.windows.closeEnded()
    const epochs = await this.pool.epochs.closeReady()
    if (expired > 0 || windows.length > 0 || epochs.length > 0) {
      this.log.info({ expired, windows, epochs }, 'background close')
    }
    if (this.pool.config.retentionDays > 0 && now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now
      const pruned = await pruneEvaluations(this.pool, this.pool.config.retentionDays)
      if (pruned.evaluations > 0)
        this.log.info(pruned, `retention: deleted ${pruned.evaluations} evaluations older than ${pruned.horizon}`)
    }
  }

  async stop(): Promise<void> {
    this.pool.processes.set(EPOCH_CLOSER, false)
    if (this.timer !== undefined) clearTimeout(this.timer)
    await this.running
  }
}
