/**
 * Work: leases and batches, and their submissions (SPEC §5). Every rule that must hold across API
 * processes is the database's: the partial unique index allows one active assignment per miner, the
 * lease-window key one lease per window, and a submission first flips its assignment from active to
 * submitted in the same transaction that stores it, so it counts once and all of it or none is kept.
 */
import { randomUUID } from 'node:crypto'
import { sql, type Insertable, type Transaction } from 'kysely'
import { isoTime } from '../clock.ts'
import type { Config } from '../config.ts'
import type { Database, Queryable } from '../db/database.ts'
import { isUniqueViolation } from '../db/database.ts'
import type { AlgorithmsTable, DB } from '../db/schema.ts'
import type { AssignmentKind, AssignmentRole, AssignmentStatus, BatchKind } from '../domain/work.ts'
import { offerBounds } from '../domain/assignment.ts'
import { type ExtendReason, judgeSample, samplePolicy, trustWeight } from '../domain/consensus.ts'
import { DslError, validateAlgorithm } from '../domain/dsl/index.ts'
import type { EvaluationOutcome, RepeatKind } from '../domain/points.ts'
import { taskInputDim } from '../domain/task-types.ts'
import { PoolError } from '../errors.ts'
import type { PoolMetrics } from '../metrics.ts'
import type {
  BatchResponse,
  Evaluation,
  Evolution,
  LeaseResponse,
  PendingResponse,
  SubmitEvaluationResponse,
  SubmitEvolutionResponse,
  SubmitLeaseBody,
  SubmitLeaseResponse,
} from '../schemas/work.ts'
import {
  countEvaluationCandidates,
  evaluationCandidates,
  oneOriginal,
  repeatKind,
  toRecords,
  notEvaluatedBy,
  ParentLists,
  notBySameRecipient,
  type AlgorithmRow,
  type Offer,
} from './algorithms.ts'
import { SeedCache, type DecidedAlgorithm } from './seed-cache.ts'

/**
 * What a submission problem is about: the reported iterations, the evolutions as a whole, or one item
 * (by its index in the submission) and which of its fields. The HTTP routes turn it into the `loc` of
 * their own request shape.
 */
export type SubmissionSubject =
  | { part: 'iterations' }
  | { part: 'evolutions' }
  | { part: 'evaluations'; item: number; field: 'algorithm_id' }
  | { part: 'evolutions'; item: number; field: 'program' | 'parents' }

/** A submission the service refuses, in the service's terms (422). */
export class SubmissionProblem extends Error {
  constructor(
    readonly subject: SubmissionSubject,
    message: string,
    readonly code: 'POOL_ERR_INVALID_SUBMISSION' | 'POOL_ERR_INVALID_DSL' = 'POOL_ERR_INVALID_SUBMISSION',
    readonly type = 'value_error',
  ) {
    super(message)
    this.name = 'SubmissionProblem'
  }
}

export interface LeaseRequest {
  miner: string
  taskType: string
  evalBatchSize: number
  seedBatchSize: number
  gossipLimit: number
  windowNumber: number
}

interface ActiveAssignment {
  id: string
  kind: AssignmentKind
  task_type: string
  evolve_budget: number
  items: Map<AssignmentRole, Set<number>>
}

/** Bootstrap: a lease with fewer evaluation candidates than this is topped up from the seed set. */
const MIN_EVALUATE_SET = 2
const BATCH_EVALUATE_SIZE = 5
const BATCH_EVOLVE_SEEDS = 2
/** PostgreSQL: longest a lease waits for candidate rows that in-flight leases hold (ms). */
const HAND_OUT_WAIT_MS = 100
/** Parked samples judged again per background run at most. */
const REJUDGE_BATCH = 500
/** How long a count of active miners sizes the draw's offers before it is read again (ms). */
const ACTIVE_REFRESH_MS = 30_000

interface OfferRules {
  offer?: Offer
  separateRecipients: boolean
}

/**
 * What judging samples did inside a transaction, for the metrics once it has committed (a transaction
 * may run again, see Database.transaction; one rolled back counts nothing).
 */
interface Judged {
  decided: DecidedAlgorithm[]
  /** Samples parked (unclear, waiting for CONSENSUS_PARK_S). */
  parked: number
  /** The reason of each sample extended. */
  extended: ExtendReason[]
}

const nothingJudged = (): Judged => ({ decided: [], parked: 0, extended: [] })

export class WorkService {
  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly metrics: PoolMetrics,
    private readonly now: () => number,
    private readonly currentWindow: () => number,
    /** Source of each new algorithm's secret assignment draw. */
    private readonly draw: () => bigint,
  ) {
    this.seedCache = new SeedCache(config.seedCacheMs, this.parents)
  }

  /** Parent lists already read (they never change). */
  private readonly parents = new ParentLists()
  /** Seed sets and gossip shared by every lease of a task type (services/seed-cache.ts). */
  private readonly seedCache: SeedCache

  /** Active miners by the clock's ACTIVE_REFRESH_MS period: the draw's offers are sized from it. */
  private active: { period: number; count: number } | undefined

  /**
   * Miners seen within ASSIGNMENT_ACTIVE_S, read at most once per ACTIVE_REFRESH_MS of the clock: it sizes the
   * draw's offers and the largest sample. Read before a transaction, on the main connection.
   */
  private async activeMiners(nowMs: number): Promise<number> {
    const period = Math.floor(nowMs / ACTIVE_REFRESH_MS)
    if (this.active?.period !== period) {
      const row = await this.database.db
        .selectFrom('miners')
        .select((eb) => eb.fn.countAll<bigint>().as('n'))
        .where('last_seen', '>=', BigInt(nowMs - this.config.assignmentActiveS * 1000))
        .executeTakeFirstOrThrow()
      this.active = { period, count: Number(row.n) }
    }
    return this.active.count
  }

  /** Who may be handed what (domain/assignment.ts). */
  private async offerRules(nowMs: number): Promise<OfferRules> {
    const c = this.config
    const rules: OfferRules = { separateRecipients: c.assignmentSeparateRecipients }
    if (c.assignmentSpread <= 0) return rules
    const widenMs = c.assignmentWidenS * 1000
    const activeMiners = await this.activeMiners(nowMs)
    // A pool no larger than the largest sample would put everyone in every committee: no draw.
    if (activeMiners <= Math.max(c.consensusMaxSampleSize, c.consensusSampleSize)) return rules
    const bounds = offerBounds({ spread: c.assignmentSpread, activeMiners, widenMs }, c.consensusSampleSize)
    return {
      ...rules,
      offer: { bounds, widenMs, byTrust: c.assignmentByTrust && c.voteWeighting === 'trust', trustPrior: c.trustPrior },
    }
  }

  async lease(request: LeaseRequest): Promise<LeaseResponse> {
    const nowMs = this.now()
    const timeoutAt = nowMs + this.config.leaseTtlS * 1000
    const rules = await this.offerRules(nowMs)
    const shared = await this.seedCache.get(
      this.database.db,
      request.taskType,
      request.seedBatchSize,
      request.gossipLimit,
    )
    const seeds = shared.seeds
    // Rows picked for evaluation stay locked until commit (PostgreSQL, see handOut): everything that does
    // not need them runs before they are locked, and the records are read after commit (an algorithm's
    // parents never change). A lease that a crash of the database server loses is asked for again by its
    // miner, so its commit does not wait for the disk.
    const picked = await this.database.transaction(
      async (trx) => {
        await this.claimAssignmentSlot(trx, request.miner, nowMs)
        if (this.config.leaseEnforceWindow) await this.claimLeaseWindow(trx, request.miner, request.windowNumber)
        const candidates = await this.handOut(trx, {
          taskType: request.taskType,
          miner: request.miner,
          nowMs,
          limit: request.evalBatchSize,
          rules,
        })
        const rechecks =
          candidates.length >= MIN_EVALUATE_SET
            ? []
            : await this.bootstrapFill(trx, request.miner, seeds, candidates, request.evalBatchSize)
        const evaluate = [...candidates, ...rechecks]
        if (evaluate.length === 0 && seeds.length === 0)
          throw new PoolError('POOL_ERR_NO_WORK', `No work available right now for task type ${request.taskType}`)

        const id = randomUUID()
        await this.insertAssignment(trx, {
          id,
          miner: request.miner,
          kind: 'lease',
          taskType: request.taskType,
          windowNumber: request.windowNumber,
          nowMs,
          timeoutAt,
          evolveBudget: this.config.leaseEvolveBudget,
          items: [
            ...candidates.map((a) => ({ role: 'evaluate' as const, id: a.id })),
            ...rechecks.map((a) => ({ role: 'recheck' as const, id: a.id })),
            ...seeds.map((a) => ({ role: 'seed' as const, id: a.id })),
            ...shared.gossip.map((g) => ({ role: 'gossip' as const, id: BigInt(g) })),
          ],
        })
        return { id, evaluate }
      },
      { durable: false, queue: request.miner },
    )
    const response: LeaseResponse = {
      lease_id: picked.id,
      window_number: request.windowNumber,
      timeout_at: isoTime(timeoutAt) as string,
      evolve_budget: this.config.leaseEvolveBudget,
      task_type: request.taskType,
      evaluate_algorithms: await toRecords(this.database.db, picked.evaluate, this.parents),
      seed_algorithms: [...shared.seedRecords],
      gossip: { task_type: request.taskType, algorithm_ids: [...shared.gossip] },
    }
    this.metrics.leases.inc({ kind: 'lease' })
    return response
  }

  /** The older batch style: an evaluate batch (up to 5 candidates) or an evolve batch (2 seeds). */
  async requestBatch(miner: string, preference: BatchKind | undefined, taskType: string): Promise<BatchResponse> {
    const nowMs = this.now()
    const timeoutAt = nowMs + this.config.leaseTtlS * 1000
    const windowNumber = this.currentWindow()
    const rules = await this.offerRules(nowMs)
    // Seeds only where an evolve batch may be handed out: asked for, or the fallback of no preference.
    const seeds =
      preference === 'evaluate'
        ? []
        : (await this.seedCache.get(this.database.db, taskType, BATCH_EVOLVE_SEEDS, 0)).seeds
    const picked = await this.database.transaction(
      async (trx) => {
        await this.claimAssignmentSlot(trx, miner, nowMs)
        let kind: BatchKind = preference ?? 'evaluate'
        let algorithms: readonly AlgorithmRow[] =
          kind === 'evaluate'
            ? await this.handOut(trx, { taskType, miner, nowMs, limit: BATCH_EVALUATE_SIZE, rules })
            : seeds
        if (algorithms.length === 0 && preference === undefined) {
          kind = 'evolve'
          algorithms = seeds
        }
        if (algorithms.length === 0) throw new PoolError('POOL_ERR_NO_WORK', `No ${kind} work available right now`)
        const id = randomUUID()
        await this.insertAssignment(trx, {
          id,
          miner,
          kind,
          taskType,
          windowNumber,
          nowMs,
          timeoutAt,
          evolveBudget: kind === 'evolve' ? 1 : 0,
          items: algorithms.map((a) => ({
            role: kind === 'evolve' ? ('seed' as const) : ('evaluate' as const),
            id: a.id,
          })),
        })
        return { id, kind, algorithms }
      },
      { durable: false, queue: miner },
    )
    const response: BatchResponse = {
      batch_id: picked.id,
      task_type: picked.kind,
      algorithms: await toRecords(this.database.db, picked.algorithms, this.parents),
      timeout_at: isoTime(timeoutAt) as string,
      window_number: windowNumber,
    }
    this.metrics.leases.inc({ kind: response.task_type })
    return response
  }

  async submitLease(miner: string, leaseId: string, body: SubmitLeaseBody): Promise<SubmitLeaseResponse> {
    if (body.iterations !== undefined && body.iterations < this.config.leaseMinIterations) {
      throw new SubmissionProblem(
        { part: 'iterations' },
        `iterations must be at least ${this.config.leaseMinIterations}`,
      )
    }
    const active = await this.activeMiners(this.now())
    const result = await this.database.transaction(
      async (trx) => {
        const { assignment, windowNumber } = await this.takeAssignment(trx, miner, leaseId, ['lease'])
        if (body.evolutions.length > assignment.evolve_budget) {
          throw new SubmissionProblem(
            { part: 'evolutions' },
            `at most ${assignment.evolve_budget} evolution(s) allowed by this lease, got ${body.evolutions.length}`,
          )
        }
        this.checkEvaluations(assignment, body.evaluations)
        const validated = this.validateEvolutions(body.evolutions, assignment.task_type)
        // Evolutions first: evaluations lock the evaluated algorithms' rows, held until commit, so they come last.
        const created = await this.storeEvolutions(trx, miner, assignment, body.evolutions, validated, windowNumber)
        const evaluated = await this.storeEvaluations(trx, miner, assignment, body.evaluations, windowNumber, active)
        return { evaluated, created, windowNumber }
      },
      { windows: 'shared' },
    )
    this.recordSubmission('lease', result.evaluated)
    const created = this.recordCreated(result.created)
    return {
      status: 'accepted' as const,
      lease_id: leaseId,
      evaluations_accepted: result.evaluated.accepted,
      evolutions_accepted: created.length,
      new_algorithm_ids: created,
      window_number: result.windowNumber,
    }
  }

  async submitEvolution(miner: string, batchId: string, evolution: Evolution): Promise<SubmitEvolutionResponse> {
    const result = await this.database.transaction(
      async (trx) => {
        const { assignment, windowNumber } = await this.takeAssignment(trx, miner, batchId, ['evolve'])
        const validated = this.validateEvolutions([evolution], assignment.task_type)
        return {
          created: await this.storeEvolutions(trx, miner, assignment, [evolution], validated, windowNumber),
          windowNumber,
        }
      },
      { windows: 'shared' },
    )
    this.recordSubmission('evolve', { accepted: 0, ...nothingJudged() })
    const created = this.recordCreated(result.created)
    return {
      status: 'accepted' as const,
      batch_id: batchId,
      algorithm_id: created[0] as number,
      new_algorithm_ids: created,
      window_number: result.windowNumber,
    }
  }

  async submitEvaluation(miner: string, batchId: string, evaluations: Evaluation[]): Promise<SubmitEvaluationResponse> {
    const active = await this.activeMiners(this.now())
    const { evaluated, windowNumber } = await this.database.transaction(
      async (trx) => {
        const { assignment, windowNumber } = await this.takeAssignment(trx, miner, batchId, ['evaluate'])
        this.checkEvaluations(assignment, evaluations)
        return {
          evaluated: await this.storeEvaluations(trx, miner, assignment, evaluations, windowNumber, active),
          windowNumber,
        }
      },
      { windows: 'shared' },
    )
    this.recordSubmission('evaluate', evaluated)
    return {
      status: 'accepted' as const,
      batch_id: batchId,
      evaluations_accepted: evaluated.accepted,
      window_number: windowNumber,
    }
  }

  async pending(miner: string): Promise<PendingResponse> {
    const nowMs = this.now()
    const db = this.database.db
    const rules = await this.offerRules(nowMs)
    const [count, active] = await Promise.all([
      countEvaluationCandidates(db, {
        taskTypes: this.config.taskTypes,
        miner,
        sampleSize: this.config.consensusSampleSize,
        nowMs,
        ...rules,
      }),
      db
        .selectFrom('assignments')
        .select(['id', 'kind', 'timeout_at'])
        .where('miner_hotkey', '=', miner)
        .where('status', '=', 'active')
        .where('timeout_at', '>', BigInt(nowMs))
        .executeTakeFirst(),
    ])
    return {
      has_pending_evaluations: count > 0,
      pending_count: count,
      active_assignment:
        active === undefined
          ? null
          : { id: active.id, kind: active.kind, timeout_at: isoTime(active.timeout_at) as string },
    }
  }

  /**
   * Judges parked samples again (full samples whose would-be SOTA or rejection lacked its supermajority,
   * see `judgeSample`) with the evaluators' weights as they are now; those parked for CONSENSUS_PARK_S are
   * set aside if still unclear. Runs with the background jobs, under the shared window lock like a
   * submission. Returns how many were decided.
   */
  async rejudgeParked(): Promise<number> {
    const nowMs = this.now()
    const active = await this.activeMiners(nowMs)
    const n = this.config.consensusSampleSize
    const judged = await this.database.transaction(
      async (trx) => {
        const parked = await trx
          .selectFrom('algorithms')
          .select(['id', 'task_type', 'evaluation_count', 'offered_at', 'created_at'])
          .where('state', '=', 'evaluating')
          .where(sql<boolean>`evaluation_count >= coalesce(sample_target, ${BigInt(n)})`)
          .orderBy('id')
          .limit(REJUDGE_BATCH)
          .$if(this.database.dialect === 'postgres', (q) => q.forNoKeyUpdate().skipLocked())
          .execute()
        if (parked.length === 0) return nothingJudged()
        const closed = await trx
          .selectFrom('window_closes')
          .select((eb) => eb.fn.max('window_number').as('last'))
          .executeTakeFirst()
        const lastClosed = closed?.last === null || closed?.last === undefined ? -1 : Number(closed.last)
        const windowNumber = Math.max(this.currentWindow(), lastClosed + 1)
        const parkMs = this.config.consensusParkS * 1000
        const final = new Set(
          parked.filter((a) => Number(a.offered_at ?? a.created_at) + parkMs <= nowMs).map((a) => a.id),
        )
        const all = nothingJudged()
        for (const taskType of new Set(parked.map((a) => a.task_type))) {
          const mine = parked
            .filter((a) => a.task_type === taskType)
            .map((a) => ({ id: a.id, target: Number(a.evaluation_count) }))
          const result = await this.decide(
            trx,
            taskType,
            mine,
            { windowNumber, nowMs, activeMiners: active },
            { final },
          )
          all.decided.push(...result.decided)
          all.parked += result.parked
          all.extended.push(...result.extended)
        }
        return all
      },
      { windows: 'shared' },
    )
    this.recordJudged(judged)
    return judged.decided.length
  }

  /** Marks every assignment past its timeout expired; their unsubmitted slots are free again. */
  async expireOverdue(): Promise<number> {
    const result = await this.database.db
      .updateTable('assignments')
      .set({ status: 'expired' })
      .where('status', '=', 'active')
      .where('timeout_at', '<=', BigInt(this.now()))
      .executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  // --- inside transactions -------------------------------------------------------------------

  /**
   * Frees the miner from an expired assignment, then refuses if an active one remains (one statement). The
   * caller's transaction queues behind the miner's other leases first (`queue: miner`), before any algorithm
   * row is locked: a lease waiting on the other's new assignment while holding rows that one needs would
   * deadlock (PostgreSQL). The queue is an advisory lock, not the miner's row: a submission of the same
   * miner still committing holds its assignment's row, which this statement waits for, and may need to
   * lock the miner's row to record its trust. The statement's snapshot predates a wait, so an assignment
   * committed meanwhile is caught by the one-active-assignment index at insert instead.
   */
  private async claimAssignmentSlot(trx: Transaction<DB>, miner: string, nowMs: number): Promise<void> {
    const active = await trx
      .updateTable('assignments')
      .set({ status: sql<AssignmentStatus>`case when timeout_at <= ${BigInt(nowMs)} then 'expired' else status end` })
      .where('miner_hotkey', '=', miner)
      .where('status', '=', 'active')
      .returning('status')
      .execute()
    if (active.some((a) => a.status === 'active')) throw new PoolError('POOL_ERR_ACTIVE_ASSIGNMENT')
  }

  private async claimLeaseWindow(trx: Transaction<DB>, miner: string, windowNumber: number): Promise<void> {
    try {
      await trx
        .insertInto('lease_windows')
        .values({ miner_hotkey: miner, window_number: BigInt(windowNumber) })
        .execute()
    } catch (err) {
      if (isUniqueViolation(err)) throw new PoolError('POOL_ERR_WINDOW_LEASE_USED')
      throw err
    }
  }

  /**
   * Evaluation candidates this lease takes a slot of. Never more evaluators per algorithm than its sample: on
   * PostgreSQL the candidate rows are locked, then counted again in a new statement, which sees every
   * hand-out committed before the lock was granted; SQLite's write transactions are exclusive already, so
   * its first count is final.
   *
   * PostgreSQL: the pick skips rows that in-flight leases hold, so concurrent leases take different work
   * instead of queueing behind each other on the same best candidates (a convoy that held every pooled
   * connection). Only when everything free is held does a lease wait for those rows, at most
   * HAND_OUT_WAIT_MS (locked in id order, the order submissions lock them in, so neither deadlocks).
   * `FOR NO KEY UPDATE` leaves the key-share locks of inserted evaluations alone.
   */
  private async handOut(
    trx: Transaction<DB>,
    args: { taskType: string; miner: string; nowMs: number; limit: number; rules: OfferRules },
  ): Promise<AlgorithmRow[]> {
    const { rules, ...rest } = args
    const query = { ...rest, ...rules, sampleSize: this.config.consensusSampleSize }
    if (this.database.dialect !== 'postgres') return await evaluationCandidates(trx, query)
    let picked = await evaluationCandidates(trx, { ...query, lock: 'skip-locked' })
    if (picked.length === 0) {
      picked = await evaluationCandidates(trx, query)
      if (picked.length === 0) return []
      // The wait is bounded: behind a queue of leases for the same few rows (usually left with no free slot)
      // a lease hands out seeds to re-check instead; the savepoint keeps the transaction usable.
      await sql.raw(`savepoint hand_out; set local lock_timeout = ${HAND_OUT_WAIT_MS}`).execute(trx)
      try {
        await trx
          .selectFrom('algorithms')
          .select('id')
          .where(
            'id',
            'in',
            picked.map((a) => a.id),
          )
          .orderBy('id')
          .forNoKeyUpdate()
          .execute()
      } catch (err) {
        if ((err as { code?: unknown }).code !== '55P03') throw err // lock_not_available
        await sql.raw('rollback to savepoint hand_out').execute(trx)
        return []
      }
      await sql.raw('release savepoint hand_out; set local lock_timeout to default').execute(trx)
    }
    const free = new Set((await evaluationCandidates(trx, { ...query, ids: picked.map((a) => a.id) })).map((a) => a.id))
    return picked.filter((a) => free.has(a.id))
  }

  /**
   * Tops a short evaluate set up from the seed set so a fresh pool always has something to hand out:
   * only algorithms already decided, whose evaluations are records and take no slot (one still being
   * evaluated is handed out through its slots only).
   */
  private async bootstrapFill(
    trx: Queryable,
    miner: string,
    seeds: readonly AlgorithmRow[],
    chosen: AlgorithmRow[],
    limit: number,
  ): Promise<AlgorithmRow[]> {
    const taken = new Set(chosen.map((a) => a.id))
    const open = seeds.filter((s) => !taken.has(s.id) && s.miner_hotkey !== miner && s.state !== 'evaluating')
    if (open.length === 0) return []
    // One statement: the seeds this miner has not evaluated yet, and (ASSIGNMENT_SEPARATE_RECIPIENTS) not
    // even a re-check of a program by a miner paid to the same recipient.
    const allowed = await trx
      .selectFrom('algorithms as a')
      .select('a.id')
      .where(
        'a.id',
        'in',
        open.map((s) => s.id),
      )
      .where(notEvaluatedBy(miner))
      .$if(this.config.assignmentSeparateRecipients, (q) => q.where(notBySameRecipient(miner)))
      .execute()
    const keep = new Set(allowed.map((r) => r.id))
    return open.filter((s) => keep.has(s.id)).slice(0, Math.max(0, Math.min(limit, MIN_EVALUATE_SET) - chosen.length))
  }

  private async insertAssignment(
    trx: Transaction<DB>,
    a: {
      id: string
      miner: string
      kind: AssignmentKind
      taskType: string
      windowNumber: number
      nowMs: number
      timeoutAt: number
      evolveBudget: number
      items: Array<{ role: AssignmentRole; id: bigint }>
    },
  ): Promise<void> {
    const row = {
      id: a.id,
      miner_hotkey: a.miner,
      kind: a.kind,
      task_type: a.taskType,
      window_number: BigInt(a.windowNumber),
      status: 'active' as const,
      issued_at: BigInt(a.nowMs),
      timeout_at: BigInt(a.timeoutAt),
      submitted_at: null,
      evolve_budget: BigInt(a.evolveBudget),
    }
    const items = [...new Map(a.items.map((i) => [`${i.role}:${i.id}`, i])).values()].map((i) => ({
      assignment_id: a.id,
      role: i.role,
      algorithm_id: i.id,
    }))
    try {
      if (this.database.dialect === 'postgres' && items.length > 0) {
        // One round trip: the assignment in a data-modifying CTE, its items in the statement itself.
        await trx
          .with('a', (db) => db.insertInto('assignments').values(row))
          .insertInto('assignment_items')
          .values(items)
          .execute()
        return
      }
      await trx.insertInto('assignments').values(row).execute()
    } catch (err) {
      // Another process gave this miner an assignment between our check and this insert.
      if (isUniqueViolation(err)) throw new PoolError('POOL_ERR_ACTIVE_ASSIGNMENT')
      throw err
    }
    if (items.length > 0) await trx.insertInto('assignment_items').values(items).execute()
  }

  /**
   * Flips the miner's active, unexpired assignment to submitted (anything else is "not found") and reads,
   * in the same statement, its items and the window its decisions belong to: the current one, or the
   * first window not closed yet when another process (whose clock ran ahead) has closed the current one.
   * The caller's transaction took the shared window lock first (`windows: 'shared'`), held until commit, so
   * the window cannot close before these decisions are in, and this statement's snapshot sees every close
   * committed before the lock.
   */
  private async takeAssignment(
    trx: Transaction<DB>,
    miner: string,
    id: string,
    kinds: AssignmentKind[],
  ): Promise<{ assignment: ActiveAssignment; windowNumber: number }> {
    const nowMs = this.now()
    const items =
      this.database.dialect === 'postgres'
        ? sql<
            string | null
          >`(select string_agg(i.role || ':' || i.algorithm_id, ',') from assignment_items i where i.assignment_id = assignments.id)`
        : sql<
            string | null
          >`(select group_concat(i.role || ':' || i.algorithm_id) from assignment_items i where i.assignment_id = assignments.id)`
    const updated = await trx
      .updateTable('assignments')
      .set({ status: 'submitted', submitted_at: BigInt(nowMs) })
      .where('id', '=', id)
      .where('miner_hotkey', '=', miner)
      .where('status', '=', 'active')
      .where('timeout_at', '>', BigInt(nowMs))
      .where('kind', 'in', kinds)
      .returning([
        'id',
        'kind',
        'task_type',
        'evolve_budget',
        items.as('items'),
        sql<bigint | number | null>`(select max(window_number) from window_closes)`.as('last_closed'),
      ])
      .executeTakeFirst()
    if (updated === undefined) throw new PoolError('POOL_ERR_ASSIGNMENT_NOT_FOUND')
    const byRole = new Map<AssignmentRole, Set<number>>([
      ['evaluate', new Set()],
      ['recheck', new Set()],
      ['seed', new Set()],
      ['gossip', new Set()],
    ])
    for (const item of (updated.items ?? '').split(',')) {
      const at = item.indexOf(':')
      if (at > 0) byRole.get(item.slice(0, at) as AssignmentRole)?.add(Number(item.slice(at + 1)))
    }
    const lastClosed = updated.last_closed === null ? -1 : Number(updated.last_closed)
    return {
      assignment: {
        id: updated.id,
        kind: updated.kind,
        task_type: updated.task_type,
        evolve_budget: Number(updated.evolve_budget),
        items: byRole,
      },
      windowNumber: Math.max(this.currentWindow(), lastClosed + 1),
    }
  }

  /** Every evaluation names an algorithm of this assignment's evaluate set, once. */
  private checkEvaluations(assignment: ActiveAssignment, evaluations: Evaluation[]): void {
    const allowed = new Set([...(assignment.items.get('evaluate') ?? []), ...(assignment.items.get('recheck') ?? [])])
    const seen = new Set<number>()
    evaluations.forEach((e, i) => {
      if (!allowed.has(e.algorithm_id))
        throw new SubmissionProblem(
          { part: 'evaluations', item: i, field: 'algorithm_id' },
          `algorithm ${e.algorithm_id} is not in this assignment's evaluate set`,
        )
      if (seen.has(e.algorithm_id))
        throw new SubmissionProblem(
          { part: 'evaluations', item: i, field: 'algorithm_id' },
          `algorithm ${e.algorithm_id} is evaluated twice`,
        )
      seen.add(e.algorithm_id)
    })
  }

  /**
   * Stores the checked evaluations and counts them on the algorithms still collecting evaluations (one
   * statement on PostgreSQL, two on SQLite), then judges every algorithm whose sample is now complete.
   * Algorithm rows are locked in id order, as leases lock them, so concurrent submissions and leases never
   * deadlock.
   */
  private async storeEvaluations(
    trx: Transaction<DB>,
    miner: string,
    assignment: ActiveAssignment,
    evaluations: Evaluation[],
    windowNumber: number,
    activeMiners: number,
  ) {
    if (evaluations.length === 0) return { accepted: 0, ...nothingJudged() }
    const nowMs = this.now()
    const sorted = [...evaluations].sort((a, b) => a.algorithm_id - b.algorithm_id)
    const rows = sorted.map((e) => ({
      algorithm_id: BigInt(e.algorithm_id),
      miner_hotkey: miner,
      assignment_id: assignment.id,
      score: e.score,
      window_number: BigInt(windowNumber),
      created_at: BigInt(nowMs),
      outcome: null,
    }))
    const { stored, counted } =
      this.database.dialect === 'postgres'
        ? await storeAndCountPostgres(trx, rows)
        : await storeAndCountSqlite(trx, rows)
    if (stored.size < sorted.length) {
      const i = evaluations.findIndex((e) => !stored.has(e.algorithm_id))
      throw new SubmissionProblem(
        { part: 'evaluations', item: i, field: 'algorithm_id' },
        `algorithm ${evaluations[i]!.algorithm_id} was already evaluated by this miner`,
      )
    }
    const complete = counted
      .filter((c) => Number(c.evaluation_count) === Number(c.sample_target ?? this.config.consensusSampleSize))
      .map((c) => ({ id: c.id, target: Number(c.sample_target ?? this.config.consensusSampleSize) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return {
      accepted: evaluations.length,
      ...(await this.decide(trx, assignment.task_type, complete, { windowNumber, nowMs, activeMiners })),
    }
  }

  /**
   * Judges the algorithms (ids ascending) whose sample is complete: one read of the votes (with their
   * evaluators' records), then per algorithm either a decision or, when the decision is not clear yet
   * (adaptive n, see domain/consensus.ts `judgeSample`), a larger sample whose new slots are drawn afresh;
   * one write for the outcomes.
   */
  private async decide(
    trx: Transaction<DB>,
    taskType: string,
    complete: Array<{ id: bigint; target: number }>,
    { windowNumber, nowMs, activeMiners }: { windowNumber: number; nowMs: number; activeMiners: number },
    /** Re-judging parked samples; `final`: those parked for CONSENSUS_PARK_S, set aside if still unclear. */
    rejudge?: { final: ReadonlySet<bigint> },
  ): Promise<Judged> {
    if (complete.length === 0) return nothingJudged()
    const c = this.config
    // The votes, and on each row the task type's best score so far (one statement).
    const votes = await trx
      .selectFrom('evaluations as e')
      .leftJoin('miners as m', 'm.hotkey', 'e.miner_hotkey')
      .select(['e.id', 'e.algorithm_id', 'e.miner_hotkey', 'e.score', 'm.trust_agreements', 'm.trust_disagreements'])
      .select((eb) =>
        eb
          .selectFrom('algorithms as b')
          .select((x) => x.fn.max('b.consensus_score').as('best'))
          .where('b.task_type', '=', taskType)
          .where('b.state', '=', 'scored')
          .as('best'),
      )
      .where(
        'e.algorithm_id',
        'in',
        complete.map((a) => a.id),
      )
      .orderBy('e.algorithm_id')
      .orderBy('e.id')
      .execute()
    let bestScore = votes[0]?.best ?? null
    const weigh = (v: (typeof votes)[number]): number =>
      c.voteWeighting === 'equal' ? 1 : trustWeight(v.trust_agreements ?? 0, v.trust_disagreements ?? 0, c.trustPrior)
    // The author cannot evaluate its own program: one fewer than the active miners can.
    const policy = samplePolicy(
      {
        sampleSize: c.consensusSampleSize,
        maxSampleSize: c.consensusMaxSampleSize,
        supermajority: c.consensusSupermajority,
        quorumWeight: c.consensusQuorumWeight,
        strictSampleSize: c.consensusStrictSampleSize,
        newcomerWeight: c.voteWeighting === 'equal' ? 1 : trustWeight(0, 0, c.trustPrior),
      },
      activeMiners - 1,
    )
    const done = nothingJudged()
    const outcomes: Array<{ id: bigint; outcome: EvaluationOutcome }> = []
    for (const { id: algorithmId, target } of complete) {
      const own = votes.filter((v) => v.algorithm_id === algorithmId).slice(0, target)
      const judged = judgeSample(
        own.map((v) => ({ miner: v.miner_hotkey, score: v.score, weight: weigh(v) })),
        { threshold: c.consensusThreshold, toleranceRatio: c.toleranceRatio },
        // A sample extended while more miners were active is judged at the size it reached.
        { ...policy, maxSampleSize: Math.max(policy.maxSampleSize, target) },
        bestScore,
        { final: rejudge?.final.has(algorithmId) === true },
      )
      if (judged.kind === 'park') {
        // Parked from now (its slots are full, so nothing more is handed out): rejudgeParked tries again.
        if (rejudge === undefined) {
          await trx
            .updateTable('algorithms')
            .set({ offered_at: BigInt(nowMs) })
            .where('id', '=', algorithmId)
            .execute()
          done.parked++
        }
        continue
      }
      if (judged.kind === 'extend') {
        await trx
          .updateTable('algorithms')
          .set({ sample_target: BigInt(judged.to), offered_at: BigInt(nowMs) })
          .where('id', '=', algorithmId)
          .execute()
        done.extended.push(judged.reason)
        continue
      }
      const decision = judged.decision
      if (decision.state === 'scored' && (bestScore === null || decision.score > bestScore)) bestScore = decision.score
      await trx
        .updateTable('algorithms')
        .set({
          state: decision.state,
          consensus_score: decision.score,
          reject_reason:
            decision.state === 'rejected'
              ? decision.cluster === 'invalid'
                ? 'consensus_invalid'
                : 'no_consensus'
              : null,
          decided_window: BigInt(windowNumber),
          decided_at: BigInt(nowMs),
        })
        .where('id', '=', algorithmId)
        .execute()
      const agreeing = new Set(decision.agreeing)
      const disagreeing = new Set(decision.disagreeing)
      for (const v of own)
        outcomes.push({
          id: v.id,
          outcome: agreeing.has(v.miner_hotkey) ? 'agree' : disagreeing.has(v.miner_hotkey) ? 'disagree' : 'none',
        })
      done.decided.push({ id: algorithmId, state: decision.state, score: decision.score })
    }
    if (outcomes.length === 0) return done
    const byId = new Map(votes.map((v) => [v.id, v.miner_hotkey]))
    const tally = new Map<string, { agree: number; disagree: number }>()
    for (const o of outcomes) {
      const hotkey = byId.get(o.id)!
      const t = tally.get(hotkey) ?? { agree: 0, disagree: 0 }
      if (o.outcome === 'agree') t.agree++
      if (o.outcome === 'disagree') t.disagree++
      tally.set(hotkey, t)
    }
    await this.recordTrust(trx, tally)
    await trx
      .updateTable('evaluations')
      .set({
        outcome: sql<EvaluationOutcome>`case id ${sql.join(
          outcomes.map((o) => sql`when ${o.id} then ${o.outcome}`),
          sql` `,
        )} end`,
      })
      .where(
        'id',
        'in',
        outcomes.map((o) => o.id),
      )
      .execute()
    return done
  }

  /**
   * Adds decided outcomes to the evaluators' records (their vote weights) in one statement. PostgreSQL:
   * the rows are locked in hotkey order first, so two submissions recording the same evaluators never
   * deadlock.
   */
  private async recordTrust(trx: Transaction<DB>, tally: Map<string, { agree: number; disagree: number }>) {
    const hotkeys = [...tally.keys()].filter((h) => tally.get(h)!.agree + tally.get(h)!.disagree > 0).sort()
    if (hotkeys.length === 0) return
    if (this.database.dialect === 'postgres') {
      await trx
        .selectFrom('miners')
        .select('hotkey')
        .where('hotkey', 'in', hotkeys)
        .orderBy('hotkey')
        .forNoKeyUpdate()
        .execute()
    }
    const delta = (field: 'agree' | 'disagree') =>
      sql<number>`(case hotkey ${sql.join(
        hotkeys.map((h) => sql`when ${h} then ${tally.get(h)![field]}`),
        sql` `,
      )} else 0 end)`
    // Both sums scaled down together once the record exceeds the horizon: recent conduct dominates, so a
    // miner that turns after a long honest record loses its weight as fast as a newcomer would.
    const total = sql<number>`(trust_agreements + trust_disagreements + ${delta('agree')} + ${delta('disagree')})`
    const horizon = sql`cast(${this.config.trustHorizon} as double precision)`
    const scale = sql<number>`(case when ${total} > ${horizon} then ${horizon} / ${total} else 1 end)`
    await trx
      .updateTable('miners')
      .set({
        trust_agreements: sql<number>`(trust_agreements + ${delta('agree')}) * ${scale}`,
        trust_disagreements: sql<number>`(trust_disagreements + ${delta('disagree')}) * ${scale}`,
      })
      .where('hotkey', 'in', hotkeys)
      .execute()
  }

  /** Reads each evolution as the miners' software will, for the input dimension of the assignment's task. */
  private validateEvolutions(evolutions: Evolution[], taskType: string) {
    const inputDim = taskInputDim(taskType)
    return evolutions.map((e, i) => {
      try {
        return validateAlgorithm(e.algorithm_dsl, { inputDim, maxBytes: this.config.dslMaxBytes })
      } catch (err) {
        if (err instanceof DslError) {
          throw new SubmissionProblem(
            { part: 'evolutions', item: i, field: 'program' },
            `invalid algorithm: ${err.message}`,
            'POOL_ERR_INVALID_DSL',
            'value_error.dsl',
          )
        }
        throw err
      }
    })
  }

  /**
   * Stores evolutions as new evaluating algorithms. One whose program (same identity) was submitted before is
   * kept as rejected (decided now, never evaluated again) so the repetition penalty can see it.
   */
  private async storeEvolutions(
    trx: Transaction<DB>,
    miner: string,
    assignment: ActiveAssignment,
    evolutions: Evolution[],
    validated: ReturnType<WorkService['validateEvolutions']>,
    windowNumber: number,
  ): Promise<CreatedProgram[]> {
    const shown = new Set([
      ...(assignment.items.get('evaluate') ?? []),
      ...(assignment.items.get('recheck') ?? []),
      ...(assignment.items.get('seed') ?? []),
      ...(assignment.items.get('gossip') ?? []),
    ])
    const nowMs = this.now()
    const created: CreatedProgram[] = []
    for (const [i, evolution] of evolutions.entries()) {
      const about = { part: 'evolutions', item: i, field: 'parents' } as const
      const parents = [...new Set(evolution.parent_algorithm_ids)]
      if (parents.length === 0)
        throw new SubmissionProblem(about, 'an evolution must name at least one parent algorithm')
      for (const p of parents) {
        if (!shown.has(p)) throw new SubmissionProblem(about, `parent ${p} was not shown in this assignment`)
      }
      const program = validated[i]!
      const row = (repeat: RepeatKind) => ({
        task_type: assignment.task_type,
        algorithm_dsl: program.canonical,
        submitted_dsl: program.canonical === evolution.algorithm_dsl ? null : evolution.algorithm_dsl,
        algorithm_hash: program.hash,
        input_dim: BigInt(program.inputDim),
        state: repeat === 'none' ? ('evaluating' as const) : ('rejected' as const),
        reject_reason: repeat === 'none' ? null : 'duplicate',
        decided_window: repeat === 'none' ? null : BigInt(windowNumber),
        decided_at: repeat === 'none' ? null : BigInt(nowMs),
        miner_hotkey: miner,
        is_seed: 0n,
        repeat,
        draw: this.draw(),
        source_assignment_id: assignment.id,
        created_at: BigInt(nowMs),
        created_window: BigInt(windowNumber),
      })
      if (this.database.dialect === 'postgres') {
        // The common case, a program nobody submitted before, in one round trip: the original and its parents.
        const id = await this.insertNewProgram(trx, row('none'), parents)
        if (id !== undefined) {
          created.push({ id, parents })
          continue
        }
      }
      let repeat = await repeatKind(trx, program.hash, miner)
      let inserted: { id: bigint } | undefined
      if (repeat === 'none') {
        // The database keeps one original per program and task type: when another submission stored the
        // same program between the check above and this insert, this one is a repeat of it.
        inserted = await trx
          .insertInto('algorithms')
          .values(row('none'))
          .onConflict(oneOriginal)
          .returning('id')
          .executeTakeFirst()
        if (inserted === undefined) {
          const now = await repeatKind(trx, program.hash, miner)
          repeat = now === 'none' ? 'other' : now
        }
      }
      inserted ??= await trx.insertInto('algorithms').values(row(repeat)).returning('id').executeTakeFirstOrThrow()
      await trx
        .insertInto('algorithm_parents')
        .values(parents.map((p) => ({ algorithm_id: inserted.id, parent_id: BigInt(p) })))
        .execute()
      created.push({ id: inserted.id, parents })
    }
    return created
  }

  /**
   * PostgreSQL: inserts `row` as an original, with its parents, when no algorithm of any task type has its
   * identity hash (the repetition check's scope) and no concurrent submission stored it first; its id, or
   * undefined when it is a repeat (nothing written then).
   */
  private async insertNewProgram(
    trx: Transaction<DB>,
    v: Insertable<AlgorithmsTable>,
    parents: number[],
  ): Promise<bigint | undefined> {
    const { rows } = await sql<{ id: bigint }>`
      with ins as (
        insert into algorithms (task_type, algorithm_dsl, submitted_dsl, algorithm_hash, input_dim, state, reject_reason,
          decided_window, decided_at, miner_hotkey, is_seed, repeat, draw, source_assignment_id, created_at, created_window)
        select ${v.task_type}::text, ${v.algorithm_dsl}::text, ${v.submitted_dsl ?? null}::text, ${v.algorithm_hash}::text,
          ${v.input_dim}::bigint, ${v.state}::text, ${v.reject_reason ?? null}::text, ${v.decided_window ?? null}::bigint,
          ${v.decided_at ?? null}::bigint, ${v.miner_hotkey ?? null}::text, ${v.is_seed}::bigint, ${v.repeat}::text, ${v.draw ?? 0n}::bigint,
          ${v.source_assignment_id ?? null}::text, ${v.created_at}::bigint, ${v.created_window}::bigint
        where not exists (select 1 from algorithms where algorithm_hash = ${v.algorithm_hash})
        on conflict (task_type, algorithm_hash) where repeat = 'none' do nothing
        returning id
      ), par as (
        insert into algorithm_parents (algorithm_id, parent_id) select ins.id, p from ins cross join unnest(${parents}::bigint[]) as p
      )
      select id from ins`.execute(trx)
    return rows[0]?.id
  }

  private recordSubmission(kind: AssignmentKind, evaluated: { accepted: number } & Judged): void {
    this.metrics.submissions.inc({ kind })
    this.metrics.evaluations.inc(evaluated.accepted)
    this.recordJudged(evaluated)
  }

  /**
   * After commit: the new programs' parent lists are kept, so handing them out reads no parents (an id
   * is only kept once its row committed: SQLite may give a rolled-back id to the next program).
   */
  private recordCreated(created: CreatedProgram[]): number[] {
    for (const c of created)
      this.parents.set(
        c.id,
        [...c.parents].sort((a, b) => a - b),
      )
    return created.map((c) => Number(c.id))
  }

  /** After commit: the decisions reach the seed cache, and everything judged the metrics. */
  private recordJudged(judged: Judged): void {
    this.seedCache.decided(judged.decided)
    for (const { state } of judged.decided) this.metrics.consensusDecisions.inc({ state })
    if (judged.parked > 0) this.metrics.consensusParked.inc(judged.parked)
    for (const reason of judged.extended) this.metrics.consensusExtensions.inc({ reason })
  }
}

/** A program a submission stored, with its parents (each once, in the order the evolution named them). */
interface CreatedProgram {
  id: bigint
  parents: number[]
}

/** What storing a submission's evaluations did: which algorithms took one, and the counts now collecting. */
interface StoredEvaluations {
  stored: Set<number>
  counted: Array<{ id: bigint; evaluation_count: bigint; sample_target: bigint | null }>
}

/**
 * PostgreSQL, one statement: stores the evaluations (each algorithm once per miner) and counts the stored
 * ones on the algorithms still collecting evaluations, whose rows it locks in id order, as leases lock them.
 */
async function storeAndCountPostgres(
  trx: Transaction<DB>,
  rows: Array<Insertable<DB['evaluations']>>,
): Promise<StoredEvaluations> {
  const result = await trx
    .with('ins', (db) =>
      db
        .insertInto('evaluations')
        .values(rows)
        .onConflict((oc) => oc.columns(['algorithm_id', 'miner_hotkey']).doNothing())
        .returning('algorithm_id'),
    )
    .with('l', (db) =>
      db
        .selectFrom('algorithms')
        .select('id')
        .where('id', 'in', (eb) => eb.selectFrom('ins').select('ins.algorithm_id'))
        .where('state', '=', 'evaluating')
        .orderBy('id')
        .forNoKeyUpdate(),
    )
    .with('counted', (db) =>
      db
        .updateTable('algorithms')
        .set((eb) => ({ evaluation_count: eb('algorithms.evaluation_count', '+', 1n) }))
        .from('l')
        .whereRef('algorithms.id', '=', 'l.id')
        .where('algorithms.state', '=', 'evaluating')
        .returning(['algorithms.id', 'algorithms.evaluation_count', 'algorithms.sample_target']),
    )
    .selectNoFrom([
      sql<string[] | null>`(select array_agg(algorithm_id::text) from ins)`.as('stored'),
      // json arrives parsed; the numbers travel as text, so none passes through a lossy JavaScript number.
      sql<Array<
        [string, string, string | null]
      > | null>`(select json_agg(json_build_array(id::text, evaluation_count::text, sample_target::text)) from counted)`.as(
        'counted',
      ),
    ])
    .executeTakeFirstOrThrow()
  const counted = (result.counted ?? []).map(([id, count, target]) => ({
    id: BigInt(id),
    evaluation_count: BigInt(count),
    sample_target: target === null ? null : BigInt(target),
  }))
  return { stored: new Set((result.stored ?? []).map(Number)), counted }
}

/** SQLite: the write transaction is exclusive, so the store and the count are two plain statements. */
async function storeAndCountSqlite(
  trx: Transaction<DB>,
  rows: Array<Insertable<DB['evaluations']>>,
): Promise<StoredEvaluations> {
  const inserted = await trx
    .insertInto('evaluations')
    .values(rows)
    .onConflict((oc) => oc.columns(['algorithm_id', 'miner_hotkey']).doNothing())
    .returning('algorithm_id')
    .execute()
  const stored = new Set(inserted.map((r) => Number(r.algorithm_id)))
  if (stored.size === 0) return { stored, counted: [] }
  const counted = await trx
    .updateTable('algorithms')
    .set((eb) => ({ evaluation_count: eb('evaluation_count', '+', 1n) }))
    .where(
      'id',
      'in',
      inserted.map((r) => r.algorithm_id),
    )
    .where('state', '=', 'evaluating')
    .returning(['id', 'evaluation_count', 'sample_target'])
    .execute()
  return { stored, counted }
}
