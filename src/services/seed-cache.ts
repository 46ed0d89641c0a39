/**
 * The part of a lease that is the same for every miner: the seed set (with its records) and the gossip
 * ids of a task type. Every lease sent them to the database again, though the seed set only changes when
 * an algorithm is decided into it or out of it. They are kept here for SEED_CACHE_MS of real time per
 * (task type, seed batch size, gossip limit). When this process decides an algorithm that enters a kept
 * seed set (it scores above the set's lowest scored seed, or the set is not all scored yet) or leaves one
 * (a seed in it is decided), that entry is dropped at once. Gossip, and another process's decisions, may
 * lag by up to SEED_CACHE_MS.
 */
import type { Queryable } from '../db/database.ts'
import type { DecidedState } from '../domain/work.ts'
import type { AlgorithmRecord } from '../schemas/work.ts'
import { gossipIds, seedSet, toRecords, type AlgorithmRow, type ParentLists } from './algorithms.ts'

export interface SharedLeaseReads {
  seeds: readonly AlgorithmRow[]
  /** The seeds as miners receive them, parents included (an algorithm's parents never change). */
  seedRecords: readonly AlgorithmRecord[]
  gossip: readonly number[]
}

/** An algorithm decided by this process, reported after its transaction committed. */
export interface DecidedAlgorithm {
  id: bigint
  state: DecidedState
  score: number | null
}

/** Most (task type, sizes) combinations kept; miners choose the sizes, so the map is bounded. */
const MAX_ENTRIES = 256

export class SeedCache {
  readonly #entries = new Map<string, { at: number; limit: number; reads: SharedLeaseReads }>()
  /** The latest decisions, numbered: a read that overlapped one that changes it is not kept. */
  readonly #recent: DecidedAlgorithm[] = []
  #decisions = 0

  constructor(
    private readonly ttlMs: number,
    private readonly parents?: ParentLists,
    /** Real time, not the pool clock: a cache entry's age is about this process, not about windows. */
    private readonly clock: () => number = () => performance.now(),
  ) {}

  async get(db: Queryable, taskType: string, seedBatchSize: number, gossipLimit: number): Promise<SharedLeaseReads> {
    const key = `${taskType}\u0000${seedBatchSize}\u0000${gossipLimit}`
    const now = this.clock()
    const hit = this.#entries.get(key)
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.reads
    const before = this.#decisions
    const seeds = await seedSet(db, taskType, seedBatchSize)
    const reads: SharedLeaseReads = {
      seeds,
      seedRecords: await toRecords(db, seeds, this.parents),
      gossip: await gossipIds(db, taskType, gossipLimit),
    }
    const overlapped = this.#decisions - before
    const stale =
      overlapped > this.#recent.length ||
      this.#recent.slice(this.#recent.length - overlapped).some((d) => changesSeeds(seeds, seedBatchSize, d))
    if (this.ttlMs > 0 && !stale) {
      this.#entries.delete(key)
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string)
      this.#entries.set(key, { at: now, limit: seedBatchSize, reads })
    }
    return reads
  }

  /** Drops the entries that `decisions` (committed) change: see the top of this file. */
  decided(decisions: readonly DecidedAlgorithm[]): void {
    if (decisions.length === 0) return
    this.#decisions += decisions.length
    this.#recent.push(...decisions)
    if (this.#recent.length > RECENT_DECISIONS) this.#recent.splice(0, this.#recent.length - RECENT_DECISIONS)
    for (const [key, entry] of this.#entries) {
      if (decisions.some((d) => changesSeeds(entry.reads.seeds, entry.limit, d))) this.#entries.delete(key)
    }
  }
}

/** Decisions remembered for reads still in flight; a read that overlapped more is not kept. */
const RECENT_DECISIONS = 1024

/**
 * Whether `decision` changes a seed set of at most `limit` read before it: the best scored algorithms
 * first, built-in seeds filling up.
 */
function changesSeeds(seeds: readonly AlgorithmRow[], limit: number, decision: DecidedAlgorithm): boolean {
  if (seeds.some((s) => s.id === decision.id)) return true
  if (decision.state !== 'scored' || limit === 0) return false
  // Not full: it enters. Full: it enters above the last seed, the lowest score or a built-in seed filling up
  // (not decided, so without a score: any score comes before it).
  if (seeds.length < limit) return true
  return (decision.score ?? Number.NEGATIVE_INFINITY) >= (seeds.at(-1)!.consensus_score ?? Number.NEGATIVE_INFINITY)
}
