/**
 * k-of-n consensus over the evaluations of one algorithm.
 *
 * Decisions settled here (the README repeats them):
 *
 * - Clusters are score intervals. A numeric cluster is every numeric vote whose
 *   score lies in some interval [lo, hi], i.e. a contiguous run of the sorted
 *   scores that never splits equal scores. Windows suffice for size: if any
 *   subset S of m votes is within tolerance, the m highest sorted votes up to
 *   max(S) dominate S element-wise, so they have the same maximum, a minimum
 *   and median at least as high, hence a spread no larger and a tolerance no
 *   smaller. Equal scores are never split so that two miners who reported the
 *   same score always get the same outcome, and a vote lying between cluster
 *   members is never left out. With all scores distinct, the winning cluster
 *   is as large as any subset within tolerance.
 * - The median of an even-sized cluster is the mean of its two middle scores.
 * - Tolerance is inclusive: spread <= ratio * median * (1 + TOLERANCE_SLACK).
 *   The relative slack absorbs binary rounding, so decimal boundary cases such
 *   as {0.5, 0.5, 0.55} at ratio 0.1 are accepted consistently (in doubles,
 *   0.55 - 0.5 is slightly above 0.1 * 0.5). Being relative, it keeps a median
 *   of 0 (or a ratio of 0) requiring exactly equal scores.
 * - Ranking of numeric clusters: larger size, then smaller spread, then lower
 *   median, then lower minimum. The last only separates exact ties (e.g.
 *   {0.4, 0.5, 0.5, 0.5} vs {0.5, 0.5, 0.5, 0.6}) and makes the order total,
 *   so the choice never depends on input order or miner ids.
 * - The invalid (null) votes form one cluster. When it is as large as the best
 *   numeric cluster, invalid wins: a tie means the evidence for the score is
 *   no stronger than the evidence that the algorithm fails, and rejecting is
 *   the conservative outcome (no SOTA change, no evolver points).
 * - The largest cluster wins only with at least `threshold` votes; otherwise
 *   the algorithm is rejected and no one gets an agreement or disagreement.
 * - Scores must be finite and in [0, 1]; -0 counts as 0. Duplicate miners,
 *   out-of-range scores and malformed params are caller bugs and throw.
 * - Miner lists are sorted by UTF-16 code units (locale independent).
 */
import type { DecidedState } from './work.ts'

export interface Vote {
  miner: string
  /** Score in [0, 1], or null when the evaluator's run failed. */
  score: number | null
}

export interface ConsensusParams {
  /** k: minimum size of the winning cluster (positive integer). */
  threshold: number
  /** Maximum spread of a numeric cluster as a fraction of its median (>= 0). */
  toleranceRatio: number
}

export type ConsensusDecision =
  | { state: 'scored'; score: number; agreeing: string[]; disagreeing: string[]; cluster: 'numeric' }
  | { state: 'rejected'; score: null; agreeing: string[]; disagreeing: string[]; cluster: 'invalid' | 'none' }

/** Compile-time tie: every state a decision carries is one of the decided states of domain/work.ts. */
type OneOfDecided<T extends DecidedState> = T
type _DecisionStates = OneOfDecided<ConsensusDecision['state']>

/** Relative slack on the tolerance bound; see the notes at the top of the file. */
export const TOLERANCE_SLACK = 1e-9

interface NumericVote {
  miner: string
  score: number
}

interface Cluster {
  /** Index range [start, end) into the score-sorted numeric votes. */
  start: number
  end: number
  spread: number
  median: number
  min: number
}

export function decideConsensus(votes: readonly Vote[], params: ConsensusParams): ConsensusDecision {
  validateParams(params)
  const invalid: string[] = []
  const numeric: NumericVote[] = []
  const seen = new Set<string>()
  for (const vote of votes) {
    if (seen.has(vote.miner)) throw new Error(`duplicate vote from miner ${vote.miner}`)
    seen.add(vote.miner)
    if (vote.score === null) {
      invalid.push(vote.miner)
      continue
    }
    if (!Number.isFinite(vote.score) || vote.score < 0 || vote.score > 1) {
      throw new Error(`score of miner ${vote.miner} must be in [0, 1], got ${vote.score}`)
    }
    // Adding 0 turns -0 into 0, so the reported score never depends on which of the two came first.
    numeric.push({ miner: vote.miner, score: vote.score + 0 })
  }
  numeric.sort((a, b) => a.score - b.score)

  const best = bestNumericCluster(numeric, params.toleranceRatio)
  const numericSize = best === null ? 0 : best.end - best.start
  if (Math.max(numericSize, invalid.length) < params.threshold) {
    return { state: 'rejected', score: null, agreeing: [], disagreeing: [], cluster: 'none' }
  }
  if (best === null || invalid.length >= numericSize) {
    return {
      state: 'rejected',
      score: null,
      agreeing: sortMiners(invalid),
      disagreeing: sortMiners(numeric.map((v) => v.miner)),
      cluster: 'invalid',
    }
  }
  const agreeing = numeric.slice(best.start, best.end).map((v) => v.miner)
  const disagreeing = [
    ...numeric.slice(0, best.start).map((v) => v.miner),
    ...numeric.slice(best.end).map((v) => v.miner),
    ...invalid,
  ]
  return {
    state: 'scored',
    score: best.median,
    agreeing: sortMiners(agreeing),
    disagreeing: sortMiners(disagreeing),
    cluster: 'numeric',
  }
}

function validateParams(params: ConsensusParams): void {
  if (!Number.isInteger(params.threshold) || params.threshold < 1) {
    throw new Error(`consensus threshold must be a positive integer, got ${params.threshold}`)
  }
  if (!Number.isFinite(params.toleranceRatio) || params.toleranceRatio < 0) {
    throw new Error(`tolerance ratio must be finite and >= 0, got ${params.toleranceRatio}`)
  }
}

/**
 * Best cluster among all runs of whole equal-score groups. Validity is not
 * monotone in the run's end (extending can raise the median enough to make an
 * invalid run valid), so every run is checked: O(n^2), fine for sample sizes.
 */
function bestNumericCluster(sorted: readonly NumericVote[], ratio: number): Cluster | null {
  const scores = sorted.map((v) => v.score)
  // Start index of each group of equal scores, plus a sentinel at the end.
  const groupStarts: number[] = []
  for (let i = 0; i < scores.length; i++) {
    if (i === 0 || scores[i] !== scores[i - 1]) groupStarts.push(i)
  }
  groupStarts.push(scores.length)

  let best: Cluster | null = null
  for (let g = 0; g + 1 < groupStarts.length; g++) {
    for (let h = g + 1; h < groupStarts.length; h++) {
      const start = at(groupStarts, g)
      const end = at(groupStarts, h)
      const min = at(scores, start)
      const spread = at(scores, end - 1) - min
      const median = medianOf(scores, start, end)
      if (!withinTolerance(spread, median, ratio)) continue
      const candidate: Cluster = { start, end, spread, median, min }
      // Strictly better only: runs are visited by ascending minimum, so a full tie keeps the lower one.
      if (best === null || ranksAbove(candidate, best)) best = candidate
    }
  }
  return best
}

function withinTolerance(spread: number, median: number, ratio: number): boolean {
  return spread <= ratio * median * (1 + TOLERANCE_SLACK)
}

function ranksAbove(a: Cluster, b: Cluster): boolean {
  const sizeA = a.end - a.start
  const sizeB = b.end - b.start
  if (sizeA !== sizeB) return sizeA > sizeB
  if (a.spread !== b.spread) return a.spread < b.spread
  if (a.median !== b.median) return a.median < b.median
  return a.min < b.min
}

function medianOf(sorted: readonly number[], start: number, end: number): number {
  const size = end - start
  const mid = start + Math.floor(size / 2)
  if (size % 2 === 1) return at(sorted, mid)
  return (at(sorted, mid - 1) + at(sorted, mid)) / 2
}

/** Indexed read for indices the caller has already bounded (noUncheckedIndexedAccess). */
function at<T>(values: readonly T[], index: number): T {
  const value = values[index]
  if (value === undefined) throw new Error(`index ${index} out of range`)
  return value
}

function sortMiners(miners: string[]): string[] {
  return miners.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}
