/**
 * Window points: combines what was decided in one closed window into each
 * miner's points. Baselines and repeat detection are computed by the caller;
 * this module only combines them.
 *
 * Decisions settled here (the README repeats them):
 *
 * - evaluatorPoints = max(0, agreements - disagreements) * evaluatorWeight.
 *   An evaluation with outcome 'none' (no winning cluster) counts as activity
 *   but as neither agreement nor disagreement.
 * - improvement = max(0, score - baseline) * evolverWeight for an evolution
 *   that was scored and is not a repeat; 0 otherwise (a repeat earns nothing
 *   even when the repetition scope does not penalise it).
 * - evolverPoints sums a miner's improvements in ascending algorithmId order,
 *   so input order never changes the floating-point result.
 * - Penalty per repeated evolution, charged at most once: scope 'miner' for
 *   repeat 'own'; 'global' and 'both' for 'own' or 'other'; 'off' never.
 *   penalty = (number of penalised evolutions) * repetitionPenalty.
 * - A rejected repeat is decided in its submission window, so it counts as
 *   activity (and is charged there).
 * - inConsensus = agreements >= disagreements (a miner that did not evaluate
 *   is in consensus); active = evaluations + evolutions >= minRewardActivity.
 * - points = inConsensus && active ? max(0, evaluatorPoints + evolverPoints - penalty) : 0.
 * - Rows are sorted by miner (UTF-16 code units), one per miner in either list.
 * - Weights, penalty and minimum activity must be finite and >= 0, scores in
 *   [0, 1] or null, baselines finite, and algorithm ids unique integers;
 *   anything else is a caller bug and throws. That keeps points finite, >= 0.
 * - Reputation and epoch points are plain sums of window points, left to the
 *   caller.
 */

/** What an evolution's score is compared with to measure its improvement (EVOLVER_BASELINE). */
export const EVOLVER_BASELINES = ['sota', 'genealogy', 'local_evolver'] as const
export type EvolverBaseline = (typeof EVOLVER_BASELINES)[number]

/** Whose earlier submission of the same program makes an evolution a penalised repeat (REPETITION_SCOPE). */
export const REPETITION_SCOPES = ['miner', 'global', 'both', 'off'] as const
export type RepetitionScope = (typeof REPETITION_SCOPES)[number]

/** Who had submitted the same canonical program before: nobody, this miner, or only others. */
export const REPEAT_KINDS = ['none', 'own', 'other'] as const
export type RepeatKind = (typeof REPEAT_KINDS)[number]

/** How an evaluation of a decided algorithm stands to the winning cluster ('none': there was none). */
export const EVALUATION_OUTCOMES = ['agree', 'disagree', 'none'] as const
export type EvaluationOutcome = (typeof EVALUATION_OUTCOMES)[number]

export interface PointsParams {
  evaluatorWeight: number
  evolverWeight: number
  baseline: EvolverBaseline
  repetitionScope: RepetitionScope
  repetitionPenalty: number
  minRewardActivity: number
}

/** Evaluations of algorithms decided in the window ('none' = no winner). */
export interface EvaluationFact {
  miner: string
  outcome: EvaluationOutcome
  /** How many evaluations this fact stands for (default 1), so callers can pass grouped counts. */
  count?: number
}

export interface EvolutionFact {
  miner: string
  algorithmId: number
  /** Consensus score, or null if the evolution was rejected. */
  score: number | null
  /** Who had submitted the same canonical hash before: this miner, only others, or nobody. */
  repeat: RepeatKind
  baselines: Record<EvolverBaseline, number>
}

export interface MinerWindowPoints {
  miner: string
  agreements: number
  disagreements: number
  evaluations: number
  evolutions: number
  scoredEvolutions: number
  evaluatorPoints: number
  evolverPoints: number
  penalty: number
  inConsensus: boolean
  active: boolean
  points: number
}

interface Tally {
  agreements: number
  disagreements: number
  evaluations: number
  evolutions: EvolutionFact[]
}

export function computeWindowPoints(
  evaluations: readonly EvaluationFact[],
  evolutions: readonly EvolutionFact[],
  params: PointsParams,
): MinerWindowPoints[] {
  validateParams(params)
  const tallies = new Map<string, Tally>()
  const tallyOf = (miner: string): Tally => {
    let tally = tallies.get(miner)
    if (tally === undefined) {
      tally = { agreements: 0, disagreements: 0, evaluations: 0, evolutions: [] }
      tallies.set(miner, tally)
    }
    return tally
  }

  for (const fact of evaluations) {
    const count = fact.count ?? 1
    if (!Number.isSafeInteger(count) || count < 0)
      throw new Error(`evaluation count must be a non-negative integer, got ${count}`)
    const tally = tallyOf(fact.miner)
    tally.evaluations += count
    if (fact.outcome === 'agree') tally.agreements += count
    else if (fact.outcome === 'disagree') tally.disagreements += count
  }
  const algorithmIds = new Set<number>()
  for (const fact of evolutions) {
    validateEvolution(fact)
    if (algorithmIds.has(fact.algorithmId)) {
      throw new Error(`duplicate evolution fact for algorithm ${fact.algorithmId}`)
    }
    algorithmIds.add(fact.algorithmId)
    tallyOf(fact.miner).evolutions.push(fact)
  }

  const miners = [...tallies.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return miners.map((miner) => {
    const tally = tallies.get(miner) as Tally
    const ordered = [...tally.evolutions].sort((a, b) => a.algorithmId - b.algorithmId)
    let evolverPoints = 0
    let penalised = 0
    for (const fact of ordered) {
      evolverPoints += improvement(fact, params)
      if (isPenalised(fact.repeat, params.repetitionScope)) penalised += 1
    }
    const evaluatorPoints = Math.max(0, tally.agreements - tally.disagreements) * params.evaluatorWeight
    const penalty = penalised * params.repetitionPenalty
    const inConsensus = tally.agreements >= tally.disagreements
    const active = tally.evaluations + ordered.length >= params.minRewardActivity
    // Math.max(0, -0) is +0, so a zero result is never reported as -0.
    const points = inConsensus && active ? Math.max(0, evaluatorPoints + evolverPoints - penalty) : 0
    return {
      miner,
      agreements: tally.agreements,
      disagreements: tally.disagreements,
      evaluations: tally.evaluations,
      evolutions: ordered.length,
      scoredEvolutions: ordered.filter((f) => f.score !== null).length,
      evaluatorPoints,
      evolverPoints,
      penalty,
      inConsensus,
      active,
      points,
    }
  })
}

/** Evolver points earned by one evolution, before gates and penalties. */
export function improvement(fact: EvolutionFact, params: PointsParams): number {
  if (fact.score === null || fact.repeat !== 'none') return 0
  return Math.max(0, fact.score - fact.baselines[params.baseline]) * params.evolverWeight
}

function isPenalised(repeat: RepeatKind, scope: RepetitionScope): boolean {
  switch (scope) {
    case 'miner':
      return repeat === 'own'
    case 'global':
    case 'both':
      return repeat !== 'none'
    case 'off':
      return false
  }
}

function validateParams(params: PointsParams): void {
  const nonNegative: [string, number][] = [
    ['evaluatorWeight', params.evaluatorWeight],
    ['evolverWeight', params.evolverWeight],
    ['repetitionPenalty', params.repetitionPenalty],
    ['minRewardActivity', params.minRewardActivity],
  ]
  for (const [name, value] of nonNegative) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be finite and >= 0, got ${value}`)
  }
}

function validateEvolution(fact: EvolutionFact): void {
  if (!Number.isSafeInteger(fact.algorithmId)) {
    throw new Error(`algorithm id must be an integer, got ${fact.algorithmId}`)
  }
  if (fact.score !== null && (!Number.isFinite(fact.score) || fact.score < 0 || fact.score > 1)) {
    throw new Error(`score of algorithm ${fact.algorithmId} must be in [0, 1] or null, got ${fact.score}`)
  }
  for (const [name, value] of Object.entries(fact.baselines)) {
    if (!Number.isFinite(value)) {
      throw new Error(`${name} baseline of algorithm ${fact.algorithmId} must be finite, got ${value}`)
    }
  }
}
