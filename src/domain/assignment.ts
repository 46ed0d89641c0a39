/**
 * Who an algorithm is offered to (README, "Rules of the pool"): a secret draw per algorithm and per miner
 * ranks every miner for every algorithm, and an algorithm is offered first to the miners whose rank falls
 * below a bound sized so that about `spread × sample size` of the active miners qualify. The bound doubles
 * every widening period the algorithm waits, so work never starves. Nobody can steer the draw: a miner
 * learns it is in an algorithm's committee only by being handed the algorithm. (The work service applies
 * the draw only when more miners are active than the largest sample, and scales it by trust.)
 *
 * rank(algorithm, miner) = (algorithm.draw × miner.draw) mod DRAW_MODULUS. DRAW_MODULUS is prime and the
 * draws are uniform in [1, DRAW_MODULUS - 1], so for one algorithm the ranks of the miners are independent
 * and uniform, and the product of two draws fits a signed 64-bit integer on both stores.
 */

/** The prime 2^31 - 1. */
export const DRAW_MODULUS = 2_147_483_647

export interface OfferParams {
  /** Expected eligible miners as a multiple of the sample size; 0: every miner is eligible. */
  spread: number
  /** Miners active now (at least 1 is assumed). */
  activeMiners: number
  /** Milliseconds per widening step. */
  widenMs: number
}

/**
 * The rank bounds per widening step, for a sample size of 1: step k (the algorithm has waited k whole
 * periods) admits ranks below `bounds[k] × sample size`; from `bounds.length` steps on, everyone. An empty
 * list means everyone is eligible from the start.
 */
export function offerBounds(params: OfferParams, smallestSample: number): number[] {
  if (params.spread <= 0) return []
  const bounds: number[] = []
  const base = (DRAW_MODULUS * params.spread) / Math.max(1, params.activeMiners)
  for (let k = 0; k < 64; k++) {
    const bound = Math.floor(base * 2 ** k)
    if (bound * smallestSample >= DRAW_MODULUS) break
    bounds.push(bound)
  }
  return bounds
}

/** The rank of a miner for an algorithm, as the SQL filter computes it (for tests and tools). */
export function offerRank(algorithmDraw: bigint, minerDraw: bigint): bigint {
  return (algorithmDraw * minerDraw) % BigInt(DRAW_MODULUS)
}

/** Whether the algorithm, waiting `waitedMs` for a sample of `sampleSize`, is offered to a miner of this rank. */
export function isOffered(
  rank: bigint,
  sampleSize: number,
  waitedMs: number,
  bounds: readonly number[],
  widenMs: number,
): boolean {
  const step = Math.floor(Math.max(0, waitedMs) / widenMs)
  const bound = bounds[step]
  return bound === undefined || rank < BigInt(bound) * BigInt(sampleSize)
}
