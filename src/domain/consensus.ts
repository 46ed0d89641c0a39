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
 * - Votes may carry a weight (the evaluator's trust, default 1). Clusters are
 *   ranked by total weight first, then by the order above; the invalid cluster
 *   wins when its weight is at least the best numeric cluster's. The winner
 *   still needs `threshold` votes (a count, not a weight). With every weight
 *   equal this is exactly the unweighted rule.
 *
 * `judgeSample` adds the adaptive sample on top: a decision is taken at the
 * current sample only when its winning cluster carries a clear share of the
 * weight (a simple majority for an ordinary score, a supermajority for a new
 * best score or a rejection); otherwise the algorithm draws more evaluators,
 * up to the largest sample, where the weighted decision above stands.
 */
import type { DecidedState } from './work.ts'

export interface Vote {
  miner: string
  /** Score in [0, 1], or null when the evaluator's run failed. */
  score: number | null
  /** The evaluator's weight, finite and > 0 (default 1). */
  weight?: number
}

export interface ConsensusParams {
  /** k: minimum size of the winning cluster (positive integer). */
  threshold: number
  /** Maximum spread of a numeric cluster as a fraction of its median (>= 0). */
  toleranceRatio: number
  /**
   * Only numeric clusters whose median is below this compete, and invalid votes never win (they count
   * as disagreeing). `judgeSample` uses it for the decision that stands when neither a new best score nor
   * a rejection has its supermajority.
   */
  ceiling?: number
}

interface DecisionWeights {
  /** Total weight of the agreeing votes, and of all votes. */
  agreeingWeight: number
  totalWeight: number
}

export type ConsensusDecision =
  | ({
      state: 'scored'
      score: number
      agreeing: string[]
      disagreeing: string[]
      cluster: 'numeric'
    } & DecisionWeights)
  | ({
      state: 'rejected'
      score: null
      agreeing: string[]
      disagreeing: string[]
      cluster: 'invalid' | 'none'
    } & DecisionWeights)

/** Compile-time tie: every state a decision carries is one of the decided states of domain/work.ts. */
type OneOfDecided<T extends DecidedState> = T
type _DecisionStates = OneOfDecided<ConsensusDecision['state']>

/** Relative slack on the tolerance bound; see the notes at the top of the file. */
export const TOLERANCE_SLACK = 1e-9

interface NumericVote {
  miner: string
  score: number
  weight: number
}

interface Cluster {
  /** Index range [start, end) into the score-sorted numeric votes. */
  start: number
  end: number
  weight: number
  spread: number
  median: number
  min: number
}

export function decideConsensus(votes: readonly Vote[], params: ConsensusParams): ConsensusDecision {
  validateParams(params)
  const invalid: string[] = []
  let invalidWeight = 0
  const numeric: NumericVote[] = []
  const seen = new Set<string>()
  let totalWeight = 0
  for (const vote of votes) {
    if (seen.has(vote.miner)) throw new Error(`duplicate vote from miner ${vote.miner}`)
    seen.add(vote.miner)
    const weight = vote.weight ?? 1
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new Error(`weight of miner ${vote.miner} must be finite and > 0, got ${weight}`)
    }
    totalWeight += weight
    if (vote.score === null) {
      invalid.push(vote.miner)
      invalidWeight += weight
      continue
    }
    if (!Number.isFinite(vote.score) || vote.score < 0 || vote.score > 1) {
      throw new Error(`score of miner ${vote.miner} must be in [0, 1], got ${vote.score}`)
    }
    // Adding 0 turns -0 into 0, so the reported score never depends on which of the two came first.
    numeric.push({ miner: vote.miner, score: vote.score + 0, weight })
  }
  numeric.sort((a, b) => a.score - b.score)

  const best = bestNumericCluster(numeric, params.toleranceRatio, params.ceiling ?? Number.POSITIVE_INFINITY)
  const invalidWins =
    params.ceiling === undefined && invalid.length > 0 && (best === null || invalidWeight >= best.weight)
  const winnerSize = invalidWins ? invalid.length : best === null ? 0 : best.end - best.start
  if (winnerSize < params.threshold) {
    return {
      state: 'rejected',
      score: null,
      agreeing: [],
      disagreeing: [],
      cluster: 'none',
      agreeingWeight: 0,
      totalWeight,
    }
  }
  if (invalidWins || best === null) {
    return {
      state: 'rejected',
      score: null,
      agreeing: sortMiners(invalid),
      disagreeing: sortMiners(numeric.map((v) => v.miner)),
      cluster: 'invalid',
      agreeingWeight: invalidWeight,
      totalWeight,
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
    agreeingWeight: best.weight,
    totalWeight,
  }
}

function validateParams(params: ConsensusParams): void {
  if (!Number.isInteger(params.threshold) || params.threshold < 1) {
    throw new Error(`consensus threshold must be a positive integer, got ${params.threshold}`)
  }
  if (!Number.isFinite(params.toleranceRatio) || params.toleranceRatio < 0) {
    throw new Error(`tolerance ratio must be finite and >= 0, got ${params.toleranceRatio}`)
  }
  if (params.ceiling !== undefined && Number.isNaN(params.ceiling)) throw new Error('ceiling must be a number')
}

/**
 * Best cluster among all runs of whole equal-score groups. Validity is not
 * monotone in the run's end (extending can raise the median enough to make an
 * invalid run valid), so every run is checked: O(n^2), fine for sample sizes.
 */
function bestNumericCluster(sorted: readonly NumericVote[], ratio: number, ceiling: number): Cluster | null {
  const scores = sorted.map((v) => v.score)
  // Prefix sums of the weights, so a run's weight is one subtraction.
  const weightBefore = [0]
  for (const v of sorted) weightBefore.push(at(weightBefore, weightBefore.length - 1) + v.weight)
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
      if (median >= ceiling || !withinTolerance(spread, median, ratio)) continue
      const weight = at(weightBefore, end) - at(weightBefore, start)
      const candidate: Cluster = { start, end, weight, spread, median, min }
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
  if (a.weight !== b.weight) return a.weight > b.weight
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

/** How far a sample grows before its decision stands (adaptive n), and the shares a decision needs. */
export interface SamplePolicy {
  /** n: the first sample. */
  sampleSize: number
  /** The largest sample (>= n); see `judgeSample` for what is decided there. */
  maxSampleSize: number
  /** Evaluators drawn per extension (>= 1). */
  step: number
  /** Share of the weight an ordinary score's cluster needs (strictly more than this). */
  majority: number
  /** Share a new best score or a rejection needs (strictly more than this). */
  supermajority: number
  /** Total weight a new best score's or a rejection's cluster needs, besides its share. */
  quorumWeight: number
  /** Votes a new best score or a rejection needs at least (<= maxSampleSize). */
  strictSampleSize: number
}

/** Why a sample is extended instead of decided. */
export type ExtendReason = 'no_consensus' | 'contested' | 'new_best' | 'rejection'

export type SampleJudgement =
  | { kind: 'decide'; decision: ConsensusDecision }
  | {
      kind: 'extend'
      /** The sample size to collect before judging again. */
      to: number
      reason: ExtendReason
      decision: ConsensusDecision
    }
  /** The full sample has no clear answer yet: judge the same votes again once the weights have moved. */
  | { kind: 'park'; decision: ConsensusDecision }

/**
 * Decides the sample now, or says how many evaluators it needs first. `best` is the best score decided
 * so far for the task type (null: none yet, so any score would be a new best).
 *
 * - No cluster with `threshold` votes: more evaluators.
 * - A rejection, or a score above `best` (a new best, i.e. a new SOTA), is consequential: it is decided
 *   only when its cluster carries more than `supermajority` of the weight and at least `quorumWeight` in
 *   all (so a few newcomers or distrusted evaluators alone never decide it). An ordinary score needs more
 *   than `majority` of the weight. Short of that: more evaluators.
 * - At `maxSampleSize` votes a consequential outcome short of its supermajority gives way to the best
 *   numeric cluster that is not a new best. When there is none, the sample is parked: the same votes are
 *   judged again later, when the evaluators' weights have moved (a coalition's members lose theirs as they
 *   disagree elsewhere). Judged `final`ly (parked too long), it is set aside undecided (rejected, cluster
 *   'none': nobody agrees or disagrees). No program is rejected, and no SOTA crowned, without a
 *   supermajority. An ordinary score short of its majority stands as the weighted decision, as
 *   does every decision when the largest sample is n itself (a pool too small to draw more).
 */
export function judgeSample(
  votes: readonly Vote[],
  params: ConsensusParams,
  policy: SamplePolicy,
  best: number | null,
  options: { final?: boolean } = {},
): SampleJudgement {
  const decision = decideConsensus(votes, params)
  const consequential = decision.state === 'rejected' || best === null || decision.score >= best
  const needed = consequential ? policy.supermajority : policy.majority
  const clear =
    decision.cluster !== 'none' &&
    decision.agreeingWeight > needed * decision.totalWeight * (1 + TOLERANCE_SLACK) &&
    (!consequential ||
      (decision.agreeingWeight >= policy.quorumWeight * (1 - TOLERANCE_SLACK) &&
        votes.length >= policy.strictSampleSize))
  if (clear) return { kind: 'decide', decision }
  if (votes.length < policy.maxSampleSize) {
    const to = Math.min(policy.maxSampleSize, votes.length + policy.step)
    const reason =
      decision.cluster === 'none'
        ? 'no_consensus'
        : decision.state === 'rejected'
          ? 'rejection'
          : consequential
            ? 'new_best'
            : 'contested'
    return { kind: 'extend', to, reason, decision }
  }
  // Ordinary scores, and pools too small to draw a larger sample than n, keep the weighted k-of-n decision.
  if (!consequential || policy.maxSampleSize <= policy.sampleSize) return { kind: 'decide', decision }
  const ordinary = decideConsensus(votes, { ...params, ceiling: best ?? Number.NEGATIVE_INFINITY })
  if (ordinary.state === 'scored' || options.final === true) return { kind: 'decide', decision: ordinary }
  return { kind: 'park', decision }
}

/**
 * An evaluator's vote weight from its record of decided evaluations: the share it agreed with, with
 * `prior` pseudo-evaluations half agreeing and half not, so a newcomer starts at 0.5 and a record
 * moves it only as it grows. Always in (0, 1) for a prior > 0.
 */
export function trustWeight(agreements: number, disagreements: number, prior: number): number {
  return (agreements + prior / 2) / (agreements + disagreements + prior)
}

/** The consensus settings `samplePolicy` sizes for the evaluators a pool has. */
export interface SampleSettings {
  /** n: the first sample. */
  sampleSize: number
  /** The largest sample the settings allow. */
  maxSampleSize: number
  supermajority: number
  quorumWeight: number
  strictSampleSize: number
  /** A newcomer's vote weight (0.5 with trust weighting, 1 with equal weights). */
  newcomerWeight: number
}

/**
 * The sample policy for a pool where `evaluators` miners could evaluate an algorithm: the largest sample
 * never exceeds them (nor falls below n), and the quorum never asks for more than a supermajority of
 * newcomers in the largest sample could give, so a small pool still decides. When no sample larger than
 * n can be drawn, the supermajority is moot (`judgeSample` treats n as the largest sample, where the
 * weighted k-of-n decision stands for an ordinary score).
 */
export function samplePolicy(settings: SampleSettings, evaluators: number): SamplePolicy {
  const maxSampleSize = Math.max(settings.sampleSize, Math.min(settings.maxSampleSize, evaluators))
  return {
    sampleSize: settings.sampleSize,
    maxSampleSize,
    step: SAMPLE_STEP,
    majority: 0.5,
    supermajority: settings.supermajority,
    quorumWeight: Math.min(settings.quorumWeight, maxSampleSize * settings.newcomerWeight * settings.supermajority),
    strictSampleSize: Math.min(settings.strictSampleSize, maxSampleSize),
  }
}

/** Evaluators drawn per extension of a sample. */
export const SAMPLE_STEP = 2
