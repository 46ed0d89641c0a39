/**
 * Algorithms: the records miners receive, the built-in seed set, and the queries that pick work.
 */
import { randomInt } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql, type OnConflictBuilder, type OnConflictDoNothingBuilder } from 'kysely'
import type { Database, Queryable } from '../db/database.ts'
import type { AlgorithmsTable, DB } from '../db/schema.ts'
import { DRAW_MODULUS } from '../domain/assignment.ts'
import { validateAlgorithm, type ValidatedAlgorithm } from '../domain/dsl/index.ts'
import type { RepeatKind } from '../domain/points.ts'
import { taskInputDim } from '../domain/task-types.ts'
import type { AlgorithmRecord } from '../schemas/work.ts'
import type { Selectable } from 'kysely'

export type AlgorithmRow = Selectable<AlgorithmsTable>

/**
 * The conflict target of the partial unique index `algorithms_one_original`: one original
 * (`repeat = 'none'`) per canonical program and task type. The predicate is literal SQL so SQLite can
 * match it to the index.
 */
export const oneOriginal = (oc: OnConflictBuilder<DB, 'algorithms'>): OnConflictDoNothingBuilder<DB, 'algorithms'> =>
  oc.columns(['task_type', 'algorithm_hash']).where(sql<boolean>`repeat = 'none'`).doNothing()

/** A secret assignment draw (domain/assignment.ts) from the system's cryptographic randomness. */
export const randomDraw = (): bigint => BigInt(randomInt(1, DRAW_MODULUS))

export const BUILT_IN_SEED_DIR = fileURLToPath(new URL('../../seeds/', import.meta.url))

/**
 * Parent lists by algorithm id. An algorithm's parents are written with it and never change, and the
 * same algorithms are handed out again and again (to each miner of a sample, as seeds to every lease), so
 * a process keeps the lists it has read (at most `max`, oldest out first).
 */
export class ParentLists {
  readonly #lists = new Map<bigint, number[]>()
  constructor(private readonly max = 100_000) {}

  get(id: bigint): number[] | undefined {
    return this.#lists.get(id)
  }

  set(id: bigint, parents: number[]): void {
    if (this.#lists.size >= this.max) this.#lists.delete(this.#lists.keys().next().value as bigint)
    this.#lists.set(id, parents)
  }
}

/** The records miners receive for `rows`; parents from `known` where it has them, the rest in one query. */
export async function toRecords(
  db: Queryable,
  rows: readonly AlgorithmRow[],
  known?: ParentLists,
): Promise<AlgorithmRecord[]> {
  if (rows.length === 0) return []
  const byChild = new Map<bigint, number[]>()
  const missing: bigint[] = []
  for (const r of rows) {
    const list = known?.get(r.id)
    if (list === undefined) missing.push(r.id)
    else byChild.set(r.id, list)
  }
  if (missing.length > 0) {
    const parents = await db
      .selectFrom('algorithm_parents')
      .select(['algorithm_id', 'parent_id'])
      .where('algorithm_id', 'in', missing)
      .orderBy('parent_id')
      .execute()
    for (const id of missing) byChild.set(id, [])
    for (const p of parents) byChild.get(p.algorithm_id)!.push(Number(p.parent_id))
    if (known !== undefined) for (const id of missing) known.set(id, byChild.get(id)!)
  }
  return rows.map((r) => ({
    id: Number(r.id),
    algorithm_dsl: r.algorithm_dsl,
    input_dim: Number(r.input_dim),
    task_type: r.task_type,
    status: r.state,
    score: r.consensus_score,
    parent_ids: [...byChild.get(r.id)!],
    miner_hotkey: r.miner_hotkey,
    algorithm_hash: r.algorithm_hash,
  }))
}

/**
 * Loads the built-in seed programs of every task type once per database. The `seeded:<type>` marker is
 * inserted in the same transaction, so several processes starting together seed once.
 */
export async function loadSeeds(
  database: Database,
  taskTypes: readonly string[],
  seedDir: string,
  nowMs: number,
  windowNumber: number,
  draw: () => bigint,
): Promise<number> {
  const dir = seedDir === '' ? BUILT_IN_SEED_DIR : seedDir
  let loaded = 0
  for (const taskType of taskTypes) {
    const files = readSeedFiles(join(dir, taskType), taskInputDim(taskType))
    loaded += await database.transaction(async (trx) => {
      // ON CONFLICT DO NOTHING, not a caught unique violation: on PostgreSQL a failed statement aborts the
      // whole transaction, and committing it then throws, so the second process to start would crash.
      const marked = await trx
        .insertInto('pool_meta')
        .values({ key: `seeded:${taskType}`, value: String(files.length) })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst()
      if (Number(marked.numInsertedOrUpdatedRows ?? 0n) === 0) return 0
      for (const { text, validated } of files) {
        await trx
          .insertInto('algorithms')
          .values({
            task_type: taskType,
            algorithm_dsl: validated.canonical,
            submitted_dsl: validated.canonical === text ? null : text,
            algorithm_hash: validated.hash,
            input_dim: BigInt(validated.inputDim),
            state: 'evaluating',
            miner_hotkey: null,
            is_seed: 1n,
            repeat: 'none',
            draw: draw(),
            created_at: BigInt(nowMs),
            created_window: BigInt(windowNumber),
          })
          .onConflict(oneOriginal)
          .execute()
      }
      return files.length
    })
  }
  return loaded
}

/** Seed programs of one task type, each read for that task's input dimension like a submission. */
function readSeedFiles(dir: string, inputDim: number): Array<{ text: string; validated: ValidatedAlgorithm }> {
  let names: string[]
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.dsl'))
      .sort()
  } catch {
    return []
  }
  return names.map((name) => {
    const text = readFileSync(join(dir, name), 'utf8')
    try {
      return { text, validated: validateAlgorithm(text, { inputDim }) }
    } catch (err) {
      throw new Error(`seed ${join(dir, name)} is not a valid algorithm: ${(err as Error).message}`)
    }
  })
}

/** The draw's offer (domain/assignment.ts): rank bounds per widening step, and whether trust scales them. */
export interface Offer {
  bounds: readonly number[]
  widenMs: number
  /** Scale the bound by (the miner's trust ÷ a newcomer's)², at most 1: a poor record is offered less. */
  byTrust: boolean
  trustPrior: number
}

/**
 * Algorithms this miner may evaluate: evaluating, not its own (nor, with `separateRecipients`, by a miner
 * paid to the same recipient), offered to it by the draw, not evaluated by it, with a free slot
 * (evaluations so far plus open hand-outs below its sample target); fewest evaluations first, then oldest.
 * `ids` restricts the pick to those algorithms.
 */
/** Condition on `algorithms as a`: `miner` has not evaluated it. */
export const notEvaluatedBy = (miner: string) =>
  sql<boolean>`not exists (select 1 from evaluations e where e.algorithm_id = a.id and e.miner_hotkey = ${miner})`

/** Condition on `algorithms as a`: its author is not paid to `miner`'s recipient. */
export const notBySameRecipient = (miner: string) =>
  sql<boolean>`not exists (select 1 from miners o where o.hotkey = a.miner_hotkey
    and o.recipient_coldkey = (select m.recipient_coldkey from miners m where m.hotkey = ${miner}))`

export async function evaluationCandidates(
  db: Queryable,
  args: {
    taskType: string
    miner: string
    sampleSize: number
    nowMs: number
    limit: number
    ids?: bigint[]
    /** PostgreSQL: lock the picked rows (FOR NO KEY UPDATE), skipping rows other transactions hold. */
    lock?: 'skip-locked'
    /** Offer only what the draw gives this miner (domain/assignment.ts); absent: everything. */
    offer?: Offer
    /** Leave out programs by miners paid to this miner's recipient. */
    separateRecipients?: boolean
  },
): Promise<AlgorithmRow[]> {
  if (args.limit <= 0 || args.ids?.length === 0) return []
  const target = sql<bigint>`coalesce(a.sample_target, ${BigInt(args.sampleSize)})`
  const offer = args.offer
  return await db
    .selectFrom('algorithms as a')
    .selectAll('a')
    .$if(args.ids !== undefined, (q) => q.where('a.id', 'in', args.ids!))
    .where('a.task_type', '=', args.taskType)
    .where('a.state', '=', 'evaluating')
    .where('a.dsl_readable', '=', 1n)
    .where((eb) => eb.or([eb('a.miner_hotkey', 'is', null), eb('a.miner_hotkey', '!=', args.miner)]))
    .$if(args.separateRecipients === true, (q) => q.where(notBySameRecipient(args.miner)))
    .$if(offer !== undefined && offer.bounds.length > 0, (q) => {
      // The rank of this miner for the algorithm against the bound of the step it has waited to (see
      // domain/assignment.ts), scaled by the miner's trust relative to a newcomer's when `byTrust`; a
      // miner without a stored draw ranks 0, everywhere.
      const waitedFrom = sql`coalesce(a.offered_at, a.created_at)`
      const steps = offer!.bounds.map(
        (bound, k) =>
          sql`when ${waitedFrom} > ${BigInt(args.nowMs - (k + 1) * offer!.widenMs)} then cast(${BigInt(bound)} as bigint)`,
      )
      const prior = sql`cast(${offer!.trustPrior} as double precision)`
      // (trust / newcomer's trust)^2, at most 1: a newcomer or a trusted miner 1, the least trusted near 0.
      // (Offering trusted miners more would let whoever agrees most in the first minutes crowd out the rest.)
      const scale = offer!.byTrust
        ? sql`coalesce((select case when r < 1 then r * r else 1 end from (select (2 * m.trust_agreements + ${prior}) / (m.trust_agreements + m.trust_disagreements + ${prior}) as r
            from miners m where m.hotkey = ${args.miner}) t), 1)`
        : sql`1`
      const bound = sql`case ${sql.join(steps, sql` `)} else cast(${BigInt(DRAW_MODULUS)} as bigint) end`
      return q.where(
        sql<boolean>`(a.draw * coalesce((select m.draw from miners m where m.hotkey = ${args.miner}), 0)) % ${BigInt(DRAW_MODULUS)}
          < (case when ${target} * ${bound} < ${BigInt(DRAW_MODULUS)} then ${target} * ${bound} else ${BigInt(DRAW_MODULUS)} end) * ${scale}`,
      )
    })
    .where(notEvaluatedBy(args.miner))
    // Open hand-outs are counted from the algorithm's items (by index), each item's assignment looked up
    // by key: driven from active assignments instead, the count read every one of them per candidate.
    .where((eb) =>
      eb(
        eb(
          'a.evaluation_count',
          '+',
          eb
            .selectFrom('assignment_items as i')
            .select((x) => x.fn.countAll<bigint>().as('n'))
            .whereRef('i.algorithm_id', '=', 'a.id')
            .where('i.role', '=', 'evaluate')
            .where((x) =>
              x.exists(
                x
                  .selectFrom('assignments as s')
                  .select('s.id')
                  .whereRef('s.id', '=', 'i.assignment_id')
                  .where('s.status', '=', 'active')
                  .where('s.timeout_at', '>', BigInt(args.nowMs)),
              ),
            ),
        ),
        '<',
        target,
      ),
    )
    .orderBy('a.evaluation_count', 'asc')
    .orderBy('a.id', 'asc')
    .limit(args.limit)
    .$if(args.lock === 'skip-locked', (q) => q.forNoKeyUpdate().skipLocked())
    .execute()
}

/** Evaluating algorithms this miner could be handed now (for pending_evaluations). */
export async function countEvaluationCandidates(
  db: Queryable,
  args: {
    taskTypes: readonly string[]
    miner: string
    sampleSize: number
    nowMs: number
    offer?: Offer
    separateRecipients?: boolean
  },
): Promise<number> {
  let total = 0
  for (const taskType of args.taskTypes) {
    total += (await evaluationCandidates(db, { ...args, taskType, limit: 1000 })).length
  }
  return total
}

/**
 * The seed set: the best scored algorithms of the task type (score descending, ties by id); while fewer
 * than `limit` are scored, built-in seeds fill it.
 */
export async function seedSet(db: Queryable, taskType: string, limit: number): Promise<AlgorithmRow[]> {
  if (limit <= 0) return []
  const best = await db
    .selectFrom('algorithms')
    .selectAll()
    .where('task_type', '=', taskType)
    .where('state', '=', 'scored')
    .where('dsl_readable', '=', 1n)
    .orderBy('consensus_score', 'desc')
    .orderBy('id', 'asc')
    .limit(limit)
    .execute()
  if (best.length >= limit) return best
  const fill = await db
    .selectFrom('algorithms')
    .selectAll()
    .where('task_type', '=', taskType)
    .where('is_seed', '=', 1n)
    .where('state', '!=', 'rejected')
    .where('dsl_readable', '=', 1n)
    .where('id', 'not in', best.length > 0 ? best.map((b) => b.id) : [-1n])
    .orderBy('id', 'asc')
    .limit(limit - best.length)
    .execute()
  return [...best, ...fill]
}

/** Ids of the best of the most recently scored algorithms of the task type. */
export async function gossipIds(db: Queryable, taskType: string, limit: number): Promise<number[]> {
  if (limit <= 0) return []
  const recent = db
    .selectFrom('algorithms')
    .select(['id', 'consensus_score'])
    .where('task_type', '=', taskType)
    .where('state', '=', 'scored')
    .where('dsl_readable', '=', 1n)
    .orderBy('decided_at', 'desc')
    .orderBy('id', 'desc')
    .limit(100)
    .as('recent')
  const rows = await db
    .selectFrom(recent)
    .select('recent.id')
    .orderBy('recent.consensus_score', 'desc')
    .orderBy('recent.id', 'asc')
    .limit(limit)
    .execute()
  return rows.map((r) => Number(r.id))
}

/** Who submitted this program (same identity hash) before: this miner, only others, or nobody. */
export async function repeatKind(db: Queryable, hash: string, miner: string): Promise<RepeatKind> {
  const rows = await db
    .selectFrom('algorithms')
    .select((eb) => [
      eb.fn.countAll<bigint>().as('any'),
      eb.fn.sum<bigint>(sql`case when miner_hotkey = ${miner} then 1 else 0 end`).as('own'),
    ])
    .where('algorithm_hash', '=', hash)
    .executeTakeFirstOrThrow()
  if (Number(rows.own ?? 0) > 0) return 'own'
  return Number(rows.any) > 0 ? 'other' : 'none'
}
