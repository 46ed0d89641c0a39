/**
 * Epoch payouts (SPEC §8.2): the budget, less the pool fee, split in proportion to micro-points with a
 * per-miner cap. Integer arithmetic only, so every platform and every re-computation gives the same units.
 *
 * Decisions settled here (the README repeats them):
 *
 * - fee = floor(budget × feeBps / 10000); cap = floor(budget × minerCapBps / 10000), of the budget (not of
 *   the distributable amount); minerCapBps 0 = no cap (capUnits null).
 * - Points become micro-points by round half up of the number's shortest decimal form (`toMicroPoints`).
 * - The payout list holds every miner with micro-points > 0, even one whose share rounds to 0 units, so the
 *   outcome of every earner is visible; miners with 0 points are left out. Build claim leaves from
 *   units > 0 only.
 * - No one with micro-points > 0 (no entries, or only zeros): nothing is paid and no fee is taken, so the
 *   whole budget is undistributed. Otherwise undistributed = distributable − distributed, > 0 only when
 *   every earner is capped. Either way every epoch balances: fee + distributed + undistributed = budget.
 *   This one function decides all three for the close, `epoch verify` and the epoch artifact.
 * - Duplicate hotkeys and duplicate public keys are rejected: the remainder tie-break needs distinct keys.
 */
import { U64_MAX } from './units.ts'

export interface PayoutParams {
  budgetUnits: bigint
  feeBps: number
  /** Per-miner cap as basis points of the budget (not of the distributable amount); 0 = no cap. */
  minerCapBps: number
}

export interface PointsEntry {
  hotkey: string
  publicKey: Uint8Array
  microPoints: bigint
}

export interface PayoutResult {
  budgetUnits: bigint
  feeUnits: bigint
  distributableUnits: bigint
  distributedUnits: bigint
  undistributedUnits: bigint
  capUnits: bigint | null
  /**
   * Every entry with microPoints > 0, by public key bytes ascending (the claim tree's leaf order). A miner
   * with points can still get 0 units (rounding, or a 0-unit cap); entries with 0 points are left out.
   */
  payouts: Array<{ hotkey: string; units: bigint; microPoints: bigint; capped: boolean }>
}

const BPS = 10_000n

/**
 * Round half up of points × 10^6, computed exactly from the number's shortest round-trip decimal
 * (`String(points)`, fixed by ECMAScript, so identical on every engine). The binary value would surprise:
 * 0.0000005 is stored as 4.99999…e-7, yet the number written and shown is 0.0000005, which gives 1.
 */
export function toMicroPoints(points: number): bigint {
  if (typeof points !== 'number' || !Number.isFinite(points) || points < 0) {
    throw new RangeError(`payouts: points must be a finite number ≥ 0, got ${String(points)}`)
  }
  const [mantissa = '', exponent = '0'] = String(points).split('e')
  const [whole = '', fraction = ''] = mantissa.split('.')
  const digits = BigInt(whole + fraction)
  const shift = Number(exponent) - fraction.length + 6
  if (shift >= 0) return digits * 10n ** BigInt(shift)
  const divisor = 10n ** BigInt(-shift)
  return (2n * digits + divisor) / (2n * divisor)
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

function checkBps(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 10_000) {
    throw new RangeError(`payouts: ${name} must be an integer in 0..10000, got ${String(v)}`)
  }
}

function checkInput(entries: readonly PointsEntry[], params: PayoutParams): void {
  const b = params.budgetUnits
  if (typeof b !== 'bigint' || b < 0n || b > U64_MAX) {
    throw new RangeError('payouts: budgetUnits must be a bigint in 0..2^64-1')
  }
  checkBps('feeBps', params.feeBps)
  checkBps('minerCapBps', params.minerCapBps)
  const hotkeys = new Set<string>()
  const keys = new Set<string>()
  for (const e of entries) {
    if (typeof e.hotkey !== 'string' || e.hotkey === '')
      throw new TypeError('payouts: hotkey must be a non-empty string')
    if (!(e.publicKey instanceof Uint8Array) || e.publicKey.length !== 32) {
      throw new TypeError(`payouts: ${e.hotkey}: publicKey must be 32 bytes`)
    }
    if (typeof e.microPoints !== 'bigint' || e.microPoints < 0n) {
      throw new RangeError(`payouts: ${e.hotkey}: microPoints must be a bigint ≥ 0`)
    }
    // Distinct keys keep the remainder tie-break (by public key) a total order.
    const key = e.publicKey.join(',')
    if (hotkeys.has(e.hotkey)) throw new RangeError(`payouts: duplicate hotkey ${e.hotkey}`)
    if (keys.has(key)) throw new RangeError(`payouts: duplicate public key for ${e.hotkey}`)
    hotkeys.add(e.hotkey)
    keys.add(key)
  }
}

/**
 * Cap rounds: the uncapped share `remaining = distributable − capped × cap` in proportion to micro-points;
 * miner i is capped when remaining × mp_i > cap × totalMp(uncapped), an exact rational comparison. Repeat
 * until a round caps no one. Then capped miners get exactly `cap`; the uncapped get floor(remaining × mp_i /
 * totalMp), and the units left over go one each to the largest remainders, ties by public key ascending.
 *
 * A top-up never lifts an uncapped miner above the cap: being uncapped means its exact share s ≤ cap. If
 * s = cap the division is exact, its remainder is 0, and the leftover count (the sum of fractional parts,
 * each < 1) is smaller than the number of non-zero remainders, so it gets no top-up; if s < cap then
 * floor(s) ≤ cap − 1. Each capping round leaves remaining > 0, so capped miners never overdraw.
 */
export function computePayouts(entries: readonly PointsEntry[], params: PayoutParams): PayoutResult {
  checkInput(entries, params)
  const budgetUnits = params.budgetUnits
  const capUnits = params.minerCapBps === 0 ? null : (budgetUnits * BigInt(params.minerCapBps)) / BPS
  const earners = entries.filter((e) => e.microPoints > 0n)
  // Without points there is nothing to take a fee from: the whole budget stays undistributed.
  const feeUnits = earners.length === 0 ? 0n : (budgetUnits * BigInt(params.feeBps)) / BPS
  const distributableUnits = budgetUnits - feeUnits
  // Within a round the capping test is monotone in mp, so each round caps a prefix of this order.
  const byPoints = earners
    .slice()
    .sort((a, b) => (a.microPoints < b.microPoints ? 1 : a.microPoints > b.microPoints ? -1 : 0))
  let uncappedMp = earners.reduce((sum, e) => sum + e.microPoints, 0n)
  let cappedCount = 0
  if (capUnits !== null) {
    for (;;) {
      const remaining = distributableUnits - BigInt(cappedCount) * capUnits
      let next = cappedCount
      while (next < byPoints.length && remaining * byPoints[next]!.microPoints > capUnits * uncappedMp) next++
      if (next === cappedCount) break
      for (let k = cappedCount; k < next; k++) uncappedMp -= byPoints[k]!.microPoints
      cappedCount = next
    }
  }

  // Without a cap no one is capped, so 0 stands in for it below.
  const cap = capUnits ?? 0n
  const units = new Map<PointsEntry, bigint>()
  const capped = new Set(byPoints.slice(0, cappedCount))
  for (const e of capped) units.set(e, cap)
  const remaining = distributableUnits - BigInt(cappedCount) * cap
  const uncapped = byPoints.slice(cappedCount)
  let distributedUnits = BigInt(cappedCount) * cap
  if (uncapped.length > 0) {
    const shares = uncapped.map((e) => {
      const exact = remaining * e.microPoints
      return { e, floor: exact / uncappedMp, rest: exact % uncappedMp }
    })
    let leftover = remaining
    for (const s of shares) leftover -= s.floor
    shares.sort((x, y) => (x.rest < y.rest ? 1 : x.rest > y.rest ? -1 : compareBytes(x.e.publicKey, y.e.publicKey)))
    // leftover < shares.length (a sum of fractions each < 1), so Number() is exact.
    const topUps = Number(leftover)
    shares.forEach((s, rank) => {
      units.set(s.e, s.floor + (rank < topUps ? 1n : 0n))
    })
    distributedUnits += remaining
  }

  const payouts = earners
    .slice()
    .sort((a, b) => compareBytes(a.publicKey, b.publicKey))
    .map((e) => ({ hotkey: e.hotkey, units: units.get(e)!, microPoints: e.microPoints, capped: capped.has(e) }))

  return {
    budgetUnits,
    feeUnits,
    distributableUnits,
    distributedUnits,
    undistributedUnits: distributableUnits - distributedUnits,
    capUnits,
    payouts,
  }
}
